//! Shared helpers for integration tests: locating the shared test data and
//! comparing against the IBSI reference values.
#![allow(dead_code)]

pub mod fixtures;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The shared test-data folder: `$CTRAD_TESTDATA`, else `../shared/testdata`
/// beside the project root. Returns `None` (after a loud message) when it is
/// missing outside CI; panics when it is missing under CI.
pub fn shared_testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("CTRAD_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"));
    if dir.join("ibsi1/reference_values.csv").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared test data not found at {} (set CTRAD_TESTDATA); required under CI",
            dir.display()
        );
    }
    eprintln!(
        "\n**********\nSKIPPING: shared test data not found at {} (set CTRAD_TESTDATA)\n**********\n",
        dir.display()
    );
    None
}

/// One row of `reference_values.csv`.
#[derive(Debug, Clone)]
pub struct Reference {
    pub tag: String,
    pub family: String,
    pub value: f64,
    pub tolerance: f64,
}

/// Reference values of `config` (rows with a value only), keyed by tag.
pub fn reference_values(testdata: &std::path::Path, config: &str) -> BTreeMap<String, Reference> {
    let path = testdata.join("ibsi1/reference_values.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (c_config, c_tag, c_family, c_value, c_tol) = (
        col("config"),
        col("tag"),
        col("family_code"),
        col("value"),
        col("tolerance"),
    );
    let mut out = BTreeMap::new();
    for line in lines {
        // Fields with commas are quoted in the spreadsheet-derived columns.
        let fields = split_csv_line(line);
        if fields[c_config] != config || fields[c_value].is_empty() {
            continue;
        }
        let value: f64 = fields[c_value].parse().expect("numeric reference value");
        let tolerance: f64 = if fields[c_tol].is_empty() {
            0.0
        } else {
            fields[c_tol].parse().expect("tolerance")
        };
        out.insert(
            fields[c_tag].clone(),
            Reference {
                tag: fields[c_tag].clone(),
                family: fields[c_family].clone(),
                value,
                tolerance,
            },
        );
    }
    out
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The IBSI spreadsheet's match rule: the difference truncated to the
/// reference's 3-significant-digit precision must not exceed the tolerance.
pub fn matches(reference: f64, tolerance: f64, value: f64) -> bool {
    if !value.is_finite() {
        return false;
    }
    let diff = reference - value;
    let digits = if reference == 0.0 {
        0
    } else {
        3 - (1 + reference.abs().log10().floor() as i32)
    };
    let scale = 10f64.powi(digits);
    // ROUNDDOWN truncates towards zero; a tiny epsilon absorbs binary noise.
    let truncated = ((diff * scale).abs() + 1e-9).floor() / scale;
    truncated <= tolerance + 1e-12
}

/// Compare `features` with the reference values of `families` in `config`.
/// Returns per-family (matched, total) counts and the list of mismatches.
pub fn compare(
    refs: &BTreeMap<String, Reference>,
    features: &BTreeMap<String, f64>,
    families: &[&str],
) -> (BTreeMap<String, (usize, usize)>, Vec<String>) {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for r in refs.values() {
        if !families.contains(&r.family.as_str()) {
            continue;
        }
        let entry = counts.entry(r.family.clone()).or_default();
        entry.1 += 1;
        match features.get(&r.tag) {
            Some(&v) if matches(r.value, r.tolerance, v) => entry.0 += 1,
            Some(&v) => failures.push(format!(
                "{}: got {v}, reference {} ± {}",
                r.tag, r.value, r.tolerance
            )),
            None => failures.push(format!("{}: missing (reference {})", r.tag, r.value)),
        }
    }
    (counts, failures)
}

#[test]
fn match_rule_follows_the_spreadsheet() {
    assert!(matches(0.698, 0.0, 0.6984));
    assert!(!matches(0.698, 0.0, 0.6991));
    assert!(matches(556.0, 4.0, 559.9));
    assert!(!matches(556.0, 4.0, 561.0));
    assert!(matches(0.0, 0.0, 0.4));
    assert!(!matches(0.0, 0.0, 1.2));
}

/// The IBSI digital phantom: image and ROI mask (both masks are the same).
pub fn digital_phantom(
    testdata: &std::path::Path,
) -> (ctrad::volume::Volume<f32>, ctrad::volume::Mask) {
    let dir = testdata.join("ibsi1/digital_phantom");
    let image = ctrad::io::read_volume(&dir.join("phantom.nii.gz")).expect("phantom");
    let mask = ctrad::io::read_volume(&dir.join("mask.nii.gz"))
        .expect("mask")
        .select(None);
    (image, mask)
}

/// Copy a folder tree (e.g. shared test data into a scratch folder), making the
/// copies writable: the shared data is read-only and tests modify their copies.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            let mut perm = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&target, perm).unwrap();
        }
    }
}

/// IBSI configuration A on the CT phantom NIfTI, prepared inline (independent
/// of the preprocessing module, so family tests do not depend on it): the image
/// rounded to integer HU, morphological mask = every non-zero mask voxel (no
/// interpolation), intensity mask = those voxels within [-500, 400] HU.
pub fn config_a_roi(testdata: &std::path::Path) -> ctrad::roi::Roi {
    let dir = testdata.join("ibsi1/ct_phantom/nifti");
    let image = ctrad::io::read_volume(&dir.join("phantom.nii.gz"))
        .unwrap()
        .map(|v: f32| v.round());
    let morph = ctrad::io::read_volume(&dir.join("mask.nii.gz"))
        .unwrap()
        .select(None);
    let intensity = ctrad::volume::Volume {
        geometry: morph.geometry.clone(),
        data: morph
            .data
            .iter()
            .zip(&image.data)
            .map(|(&m, &v)| m && (-500.0..=400.0).contains(&v))
            .collect(),
    };
    assert_eq!(
        intensity.count(),
        114_596,
        "config A re-segmented voxel count"
    );
    ctrad::roi::Roi::new(&image, &morph, &intensity).unwrap()
}

/// [`config_a_roi`] discretised with FBS 25 HU from -500:
/// level = floor((X + 500) / 25) + 1, N_g = 37 over the range [-500, 400].
pub fn config_a_discrete(testdata: &std::path::Path) -> ctrad::roi::DiscreteRoi {
    discrete_from(
        &config_a_roi(testdata),
        |v| ((v + 500.0) / 25.0).floor() as u32 + 1,
        37,
    )
}

/// The digital phantom as a discretised ROI: its intensities 1..6 are its grey levels.
pub fn digital_phantom_discrete(testdata: &std::path::Path) -> ctrad::roi::DiscreteRoi {
    let (image, mask) = digital_phantom(testdata);
    let roi = ctrad::roi::Roi::new(&image, &mask, &mask).unwrap();
    discrete_from(&roi, |v| v.round() as u32, 6)
}

fn discrete_from(
    roi: &ctrad::roi::Roi,
    level: impl Fn(f64) -> u32,
    n_levels: u32,
) -> ctrad::roi::DiscreteRoi {
    ctrad::roi::DiscreteRoi {
        dims: roi.dims,
        spacing: roi.spacing,
        levels: roi
            .values
            .iter()
            .zip(&roi.intensity)
            .map(|(&v, &m)| if m { level(v) } else { 0 })
            .collect(),
        morph: roi.morph.clone(),
        n_levels,
    }
}

/// Every `.dcm` file under `dir` (recursive), appended to `out`.
pub fn dicom_files_under(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            dicom_files_under(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("dcm")) {
            out.push(p);
        }
    }
}

/// Panic when `html` (read from `what`) names an external resource: an
/// `http:`, `https:`, `ftp:` or protocol-relative (`//host`) reference,
/// a CSS `url(` or `@import`.
pub fn assert_no_external_url(html: &str, what: &std::path::Path) {
    for bad in [
        "http:",
        "https:",
        "ftp:",
        "src=\"//",
        "href=\"//",
        "url(",
        "@import",
    ] {
        assert!(
            !html.contains(bad),
            "{} names an external resource ({bad})",
            what.display()
        );
    }
}
