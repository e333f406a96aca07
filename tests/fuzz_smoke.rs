//! Fuzz smoke without the instrumented build (runs in CI with `cargo test`).
//!
//! For each target of fuzz/ (the bodies in fuzz/src/lib.rs, included here),
//! replay the committed seeds (fuzz/seeds/<target>/) and every crash
//! reproducer found so far (fuzz/regressions/<target>/), then run a
//! deterministic mutation loop: a fixed-seed PRNG applies byte flips,
//! inserts, deletes, splices between seeds, length-field-sized integers
//! (0xFFFFFFFF, 0x7FFFFFF0, ...) and DICOM length-field rewrites. Any panic of
//! a reader fails the test; the offending input is saved under
//! target/fuzz-smoke/<target>-<input> (an abort, which cannot be caught,
//! leaves it in target/fuzz-smoke/<target>-last-input).
//!
//! `FUZZ_SMOKE_ITERS` overrides the number of mutations per target (default:
//! a few seconds per target in the debug profile on an idle machine);
//! `FUZZ_SMOKE_MAX_SECS` (default 90) caps the mutation loop of one target
//! on a loaded machine — the input sequence stays the same, it only stops
//! early, which the test output says.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// SplitMix64: tiny, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Integers that hit length checks: undefined length, near-4 GiB, sign bits.
const INTERESTING_U32: [u32; 10] = [
    0xFFFF_FFFF,
    0xFFFF_FFF0,
    0xFFFF_FFFE,
    0x7FFF_FFFF,
    0x7FFF_FFF0,
    0x8000_0000,
    0x0001_0000,
    0,
    1,
    3,
];
const INTERESTING_U16: [u16; 6] = [0xFFFF, 0xFFFE, 0x8000, 0x7FFF, 0, 1];
/// Tokens for the text formats (YAML, CSV, NRRD headers).
const TOKENS: [&[u8]; 18] = [
    b",",
    b"\n",
    b"\r\n",
    b"\"",
    b";",
    b"\\",
    b"NA",
    b"NaN",
    b"inf",
    b"-1",
    b"1e309",
    b"0",
    b": ",
    b"- ",
    b"{}",
    b"[",
    b"\xFF\xFE",
    harness::SPLIT,
];

/// Positions of length fields in DICOM-like bytes: after an item tag
/// (FFFE,E000/E00D/E0DD) or after a 32-bit-length explicit VR.
fn length_fields(b: &[u8], from: usize) -> Option<usize> {
    let long_vrs: [&[u8; 2]; 8] = [b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"OF", b"OD"];
    (from..b.len().saturating_sub(8))
        .find(|&p| {
            let item = b[p] == 0xFE && b[p + 1] == 0xFF && b[p + 3] == 0xE0;
            let long_vr =
                long_vrs.iter().any(|v| b[p..p + 2] == v[..]) && b[p + 2..p + 4] == [0, 0];
            item || long_vr
        })
        .map(|p| p + 4)
}

/// One mutated input derived from `corpus` (1–4 stacked mutations).
fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut b = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let n = b.len();
        let pos = if n == 0 { 0 } else { rng.below(n) };
        match rng.below(10) {
            0 if n > 0 => b[pos] ^= 1 << rng.below(8),
            1 if n > 0 => b[pos] = [0, 0xFF, 0x7F, 0x80, rng.next() as u8][rng.below(5)],
            2 => {
                let k = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
                b.splice(pos..pos, bytes);
            }
            3 if n > 0 => {
                let k = (1 + rng.below(16)).min(n - pos);
                b.drain(pos..pos + k);
            }
            4 => {
                // Splice a chunk of another input in (insert or overwrite).
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let s = rng.below(other.len());
                    let k = (1 + rng.below(64)).min(other.len() - s);
                    let chunk = other[s..s + k].to_vec();
                    if rng.below(2) == 0 || n == 0 {
                        b.splice(pos..pos, chunk);
                    } else {
                        let end = (pos + k).min(n);
                        b.splice(pos..end, chunk);
                    }
                }
            }
            5 if n >= 4 => {
                let v = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                let p = rng.below(n - 3);
                let bytes = if rng.below(4) == 0 {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                b[p..p + 4].copy_from_slice(&bytes);
            }
            6 if n >= 2 => {
                let v = INTERESTING_U16[rng.below(INTERESTING_U16.len())];
                let p = rng.below(n - 1);
                b[p..p + 2].copy_from_slice(&v.to_le_bytes());
            }
            7 => {
                // A DICOM length field (item or long-VR element) rewritten.
                if let Some(p) = length_fields(&b, pos).or_else(|| length_fields(&b, 0)) {
                    if p + 4 <= b.len() {
                        let v = if rng.below(2) == 0 {
                            INTERESTING_U32[rng.below(INTERESTING_U32.len())]
                        } else {
                            let old = u32::from_le_bytes(b[p..p + 4].try_into().unwrap());
                            old.wrapping_add(rng.below(64) as u32).wrapping_sub(32)
                        };
                        b[p..p + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            8 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(pos..pos, t.iter().copied());
            }
            _ if n > 1 => {
                // Duplicate a chunk (repetition, e.g. many items or rows).
                let k = (1 + rng.below(32)).min(n - pos);
                let chunk = b[pos..pos + k].to_vec();
                for _ in 0..1 + rng.below(4) {
                    b.splice(pos..pos, chunk.iter().copied());
                }
            }
            _ => b.push(rng.next() as u8),
        }
    }
    b.truncate(1 << 16); // libFuzzer's -max_len in fuzz/run.sh
    b
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.')
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Run `f` on `input`; on a panic, save the input and return a description.
fn guarded(target: &str, label: &str, f: fn(&[u8]), input: &[u8]) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| f(input))) {
        Ok(()) => Ok(()),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-smoke");
            let _ = std::fs::create_dir_all(&dir);
            let saved = dir.join(format!("{target}-{label}"));
            let _ = std::fs::write(&saved, input);
            Err(format!(
                "fuzz target {target} panicked on {label} ({} bytes, saved to {}): {msg}",
                input.len(),
                saved.display()
            ))
        }
    }
}

/// Replay seeds and regressions of `target`, then `iters` mutations.
/// Returns the number of inputs run.
fn smoke(target: &str, f: fn(&[u8]), iters: usize, seed: u64) -> Result<usize, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let seeds = files_in(&root.join("seeds").join(target));
    let regressions = files_in(&root.join("regressions").join(target));
    let mut corpus = Vec::new();
    for p in seeds.iter().chain(&regressions) {
        let bytes = std::fs::read(p).unwrap();
        let label = p.file_name().unwrap().to_string_lossy().to_string();
        guarded(target, &label, f, &bytes)?;
        corpus.push(bytes);
    }
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut rng = Rng(seed);
    // An abort (e.g. a non-unwinding panic) ends the process: the input is
    // then left in this file.
    let last = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/fuzz-smoke")
        .join(format!("{target}-last-input"));
    let _ = std::fs::create_dir_all(last.parent().unwrap());
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(
        std::env::var("FUZZ_SMOKE_MAX_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(90),
    );
    for i in 0..iters {
        if started.elapsed() > budget {
            // A loaded machine: the sequence is fixed, only its length shrinks.
            eprintln!("fuzz smoke {target}: time budget reached after {i} mutations");
            return Ok(seeds.len() + regressions.len() + i);
        }
        let input = mutate(&mut rng, &corpus);
        let _ = std::fs::write(&last, &input);
        guarded(target, &format!("mutation-{i}"), f, &input)?;
    }
    Ok(seeds.len() + regressions.len() + iters)
}

fn iterations(default: usize) -> usize {
    std::env::var("FUZZ_SMOKE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn run_target(target: &str, f: fn(&[u8]), default_iters: usize) {
    // Quiet: readers' panics are reported through the result, with the input.
    let t = std::time::Instant::now();
    let result = smoke(target, f, iterations(default_iters), 0xC7AD_F022);
    harness::cleanup(target);
    match result {
        Ok(n) => eprintln!("fuzz smoke {target}: {n} inputs in {:?}", t.elapsed()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn smoke_nifti() {
    run_target("nifti", harness::nifti, 30000);
}

#[test]
fn smoke_nrrd() {
    run_target("nrrd", harness::nrrd, 20000);
}

#[test]
fn smoke_dicom_series() {
    run_target("dicom_series", harness::dicom_series, 8000);
}

#[test]
fn smoke_rtstruct() {
    run_target("rtstruct", harness::rtstruct, 20000);
}

#[test]
fn smoke_seg() {
    run_target("seg", harness::seg, 10000);
}

#[test]
fn smoke_params() {
    run_target("params", harness::params, 10000);
}

#[test]
fn smoke_csv() {
    run_target("csv", harness::csv, 8000);
}

/// Every target of the harness has a smoke test and a seed folder.
#[test]
fn every_target_is_covered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for t in harness::TARGETS {
        assert!(!files_in(&root.join(t)).is_empty(), "no seeds for {t}");
        assert!(
            std::fs::read_to_string(file!())
                .unwrap()
                .contains(&format!("fn smoke_{t}()")),
            "no smoke test for {t}"
        );
    }
    assert!(!harness::run("no-such-target", b""));
}

/// The loop can fail: a reader that panics on some mutated inputs is caught,
/// and the input is reported.
#[test]
fn smoke_detects_a_panicking_reader() {
    fn fragile(data: &[u8]) {
        // Panics on a length of 0x7FFFFFF0, which no seed holds and the
        // length-field mutations write.
        assert!(
            !data.windows(4).any(|w| w == 0x7FFF_FFF0u32.to_le_bytes()),
            "fragile reader met 0x7FFFFFF0"
        );
    }
    let e = smoke("rtstruct", fragile, 5000, 1).unwrap_err();
    assert!(e.contains("fragile reader met 0x7FFFFFF0"), "{e}");
    assert!(e.contains("panicked on mutation-"), "{e}");
    assert!(e.contains("saved to"), "{e}");
}
