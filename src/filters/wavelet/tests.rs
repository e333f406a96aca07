use super::*;
use crate::filters::boundary::convolve_axis;
use crate::filters::parse_filters;
use crate::volume::Geometry;
use std::f64::consts::{FRAC_1_SQRT_2, SQRT_2};
use std::path::Path;

fn common(boundary: Boundary, dims: FilterDims) -> Common {
    Common { boundary, dims }
}

fn config(wavelet: &str, subband: &str, level: usize, rot: bool) -> Config {
    let yaml = format!(
        "- {{type: wavelet, wavelet: {wavelet}, subband: {subband}, level: {level}, rotationInvariant: {rot}, dims: {}}}",
        if subband.len() == 2 { "2D" } else { "3D" }
    );
    let v: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    match parse_filters(&v, Path::new("p.yaml"))
        .unwrap()
        .remove(0)
        .kind
    {
        crate::filters::FilterKind::Wavelet(c) => c,
        _ => unreachable!(),
    }
}

fn parse_err(yaml: &str) -> String {
    let v: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
    parse_filters(&v, Path::new("p.yaml"))
        .unwrap_err()
        .to_string()
}

/// A deterministic pseudo-random volume.
fn noise(dims: [usize; 3]) -> Volume<f32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let g = Geometry::new(dims, [1.0; 3], [0.0; 3]);
    let n = g.len();
    let data = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1000) as f32 / 100.0 - 5.0
        })
        .collect();
    Volume { geometry: g, data }
}

#[test]
fn every_table_is_an_orthonormal_scaling_filter() {
    for name in coefficients::names() {
        let (lo, hi) = decomposition_filters(&name).unwrap();
        let l = lo.len();
        assert_eq!(l % 2, 0, "{name}");
        // sym tables are published with about 12 significant digits.
        let tol = if name.starts_with("sym") {
            1e-10
        } else {
            1e-13
        };
        let sum: f64 = lo.iter().sum();
        assert!((sum - SQRT_2).abs() < tol, "{name}: Σ g_L = {sum}");
        let sum_hi: f64 = hi.iter().sum();
        assert!(sum_hi.abs() < tol, "{name}: Σ g_H = {sum_hi}");
        // Orthonormal to its even shifts, and orthogonal to the high-pass.
        for m in 0..l / 2 {
            let dot =
                |a: &[f64], b: &[f64]| -> f64 { (0..l - 2 * m).map(|k| a[k] * b[k + 2 * m]).sum() };
            let expect = if m == 0 { 1.0 } else { 0.0 };
            assert!((dot(&lo, &lo) - expect).abs() < tol, "{name}: lo shift {m}");
            assert!((dot(&hi, &hi) - expect).abs() < tol, "{name}: hi shift {m}");
            assert!(dot(&lo, &hi).abs() < tol, "{name}: lo·hi shift {m}");
            assert!(dot(&hi, &lo).abs() < tol, "{name}: hi·lo shift {m}");
        }
    }
    // PyWavelets' db2 dec_lo / dec_hi, as it prints them.
    let (lo, hi) = decomposition_filters("db2").unwrap();
    let want_lo = [
        -0.12940952255126037,
        0.2241438680420134,
        0.8365163037378079,
        0.48296291314453416,
    ];
    let want_hi = [
        -0.48296291314453416,
        0.8365163037378079,
        -0.2241438680420134,
        -0.12940952255126037,
    ];
    assert_eq!(lo, want_lo);
    assert_eq!(hi, want_hi);
    assert_eq!(
        decomposition_filters("haar").unwrap(),
        (
            vec![FRAC_1_SQRT_2, FRAC_1_SQRT_2],
            vec![-FRAC_1_SQRT_2, FRAC_1_SQRT_2]
        )
    );
}

/// Level 1 of the undecimated transform is perfectly reconstructed by the
/// reversed (synthesis) filters: `f = ½ (g̃_L ∗ g_L ∗ f + g̃_H ∗ g_H ∗ f)`.
#[test]
fn undecimated_level_one_reconstructs_perfectly() {
    let f = noise([37, 1, 1]);
    let dims = f.geometry.dims;
    for name in coefficients::names() {
        let (lo, hi) = decomposition_filters(&name).unwrap();
        let l = lo.len();
        let c = l / 2;
        let mut rec = vec![0.0f64; f.data.len()];
        for g in [&lo, &hi] {
            let mut d = f.data.clone();
            let mut rev = g.clone();
            rev.reverse();
            let steps = [
                Step {
                    kernel: g.clone(),
                    centre: c,
                    dilation: 1,
                },
                Step {
                    kernel: rev,
                    centre: l - 1 - c,
                    dilation: 1,
                },
            ];
            filter_axis(&mut d, dims, 0, &steps, Boundary::Periodic);
            rec.iter_mut()
                .zip(&d)
                .for_each(|(r, &v)| *r += 0.5 * v as f64);
        }
        for (r, &v) in rec.iter().zip(&f.data) {
            assert!((r - v as f64).abs() < 1e-4, "{name}: {r} vs {v}");
        }
    }
}

/// Haar high-pass along x of a step edge: `(f(i) − f(i + 1)) / √2`, times √2
/// for each low-pass along a constant direction.
#[test]
fn haar_on_a_step_edge() {
    let g = Geometry::new([12, 5, 4], [2.0; 3], [0.0; 3]);
    let mut img = Volume::filled(g, 0.0f32);
    for z in 0..4 {
        for y in 0..5 {
            for x in 6..12 {
                img.data[x + 12 * (y + 5 * z)] = 3.0;
            }
        }
    }
    let c = common(Boundary::Nearest, FilterDims::D3);
    let out = config("haar", "HLL", 1, false).apply(&c, &img).unwrap();
    for z in 0..4 {
        for y in 0..5 {
            for x in 0..12 {
                let v = out.data[x + 12 * (y + 5 * z)];
                let want = if x == 5 {
                    -3.0 * FRAC_1_SQRT_2 * 2.0
                } else {
                    0.0
                };
                assert!((v as f64 - want).abs() < 1e-5, "({x},{y},{z}) {v}");
            }
        }
    }
    // The low-pass along x keeps a constant times √2 per axis: 2√2 · 3 away from the edge.
    let out = config("haar", "LLL", 1, false).apply(&c, &img).unwrap();
    assert!((out.data[9 + 12 * (2 + 5 * 2)] as f64 - 3.0 * 2.0 * SQRT_2).abs() < 1e-5);
    // Level 2: the level-1 low-pass along every axis, A(i) = 2·(f(i) + f(i+1))/√2
    // (× √2 from each of y and z), then the high-pass dilated by 2 along x,
    // (A(i) − A(i+2))/√2, and × 2 from the dilated low-passes along y and z.
    let out = config("haar", "HLL", 2, false).apply(&c, &img).unwrap();
    let f = |j: usize| if j.min(11) >= 6 { 3.0 } else { 0.0 };
    let a = |i: usize| 2.0 * FRAC_1_SQRT_2 * (f(i) + f(i + 1));
    for x in 0..12 {
        let v = out.data[x + 12 * (2 + 5 * 2)] as f64;
        let want = (a(x) - a(x + 2)) * FRAC_1_SQRT_2 * 2.0;
        assert!((v - want).abs() < 1e-4, "x={x}: {v} vs {want}");
        let seen = (3..=5).contains(&x);
        assert_eq!(want != 0.0, seen, "x={x}: {want}");
    }
}

/// The in-place cascade equals the shared `convolve_axis` applied step by step,
/// for every axis and boundary, with dilation.
#[test]
fn cascade_matches_convolve_axis() {
    let img = noise([9, 7, 11]);
    let dims = img.geometry.dims;
    let (lo, hi) = decomposition_filters("db3").unwrap();
    let mut rev = hi.clone();
    rev.reverse();
    let steps = vec![
        Step {
            kernel: lo.clone(),
            centre: 3,
            dilation: 1,
        },
        Step {
            kernel: rev.clone(),
            centre: 2,
            dilation: 2,
        },
    ];
    for b in [
        Boundary::Zero,
        Boundary::Nearest,
        Boundary::Periodic,
        Boundary::Mirror,
    ] {
        for axis in 0..3 {
            let mut want = img.data.clone();
            for s in &steps {
                want = convolve_axis(&want, dims, axis, &s.kernel, s.centre, s.dilation, b);
            }
            let mut got = img.data.clone();
            filter_axis(&mut got, dims, axis, &steps, b);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{b:?} axis {axis}: {g} vs {w}");
            }
        }
    }
}

/// Averaged over the right-angle rotations, the response of a rotated image
/// is the rotated response (periodic boundary on a cube).
#[test]
fn rotation_invariant_response_commutes_with_rotations() {
    let n = 10;
    let img = noise([n, n, n]);
    let idx = |x: usize, y: usize, z: usize| x + n * (y + n * z);
    // Rotate by 90° about z: (x, y) → (n−1−y, x).
    let rot = |v: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0f32; v.len()];
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    out[idx(n - 1 - y, x, z)] = v[idx(x, y, z)];
                }
            }
        }
        out
    };
    let c = common(Boundary::Periodic, FilterDims::D3);
    for (w, sb, level) in [("db2", "LHL", 1), ("haar", "HHH", 2), ("coif1", "LLH", 2)] {
        let f = config(w, sb, level, true);
        let r1 = rot(&f.apply(&c, &img).unwrap().data);
        let r2 = f.apply(&c, &with_data(&img, rot(&img.data))).unwrap().data;
        for (a, b) in r1.iter().zip(&r2) {
            assert!((a - b).abs() < 1e-4, "{w} {sb} l{level}: {a} vs {b}");
        }
        // Without pooling the response is not invariant (the test can fail).
        let f = config(w, sb, level, false);
        let r1 = rot(&f.apply(&c, &img).unwrap().data);
        let r2 = f.apply(&c, &with_data(&img, rot(&img.data))).unwrap().data;
        assert!(r1.iter().zip(&r2).any(|(a, b)| (a - b).abs() > 1e-2));
    }
    // 2D: four in-plane rotations.
    let c = common(Boundary::Periodic, FilterDims::D2);
    let f = config("db3", "HL", 1, true);
    let r1 = rot(&f.apply(&c, &img).unwrap().data);
    let r2 = f.apply(&c, &with_data(&img, rot(&img.data))).unwrap().data;
    for (a, b) in r1.iter().zip(&r2) {
        assert!((a - b).abs() < 1e-4, "2D: {a} vs {b}");
    }
}

/// Filtering a crop that extends `margin` voxels past a region gives the same
/// values inside the region.
#[test]
fn margin_bounds_the_support() {
    let img = noise([40, 36, 34]);
    for (w, sb, level, dims) in [
        ("db3", "HHH", 2, FilterDims::D3),
        ("sym4", "LH", 2, FilterDims::D2),
        ("haar", "LHL", 3, FilterDims::D3),
    ] {
        let c = common(Boundary::Mirror, dims);
        let f = config(w, sb, level, true);
        let full = f.apply(&c, &img).unwrap();
        let m = f.margin(&c, [1.0; 3]).unwrap();
        let m = if dims == FilterDims::D2 {
            [m[0], m[1], 0]
        } else {
            m
        };
        // Region [lo, hi) per axis, crop [lo − m, hi + m).
        let lo = [m[0] + 1, m[1] + 1, m[2] + 1];
        let hi = [40 - m[0] - 1, 36 - m[1] - 1, 34 - m[2] - 1];
        assert!((0..3).all(|a| lo[a] < hi[a]), "{w}: image too small");
        let cd = [
            hi[0] - lo[0] + 2 * m[0],
            hi[1] - lo[1] + 2 * m[1],
            hi[2] - lo[2] + 2 * m[2],
        ];
        let mut crop = Vec::with_capacity(cd[0] * cd[1] * cd[2]);
        for z in 0..cd[2] {
            for y in 0..cd[1] {
                for x in 0..cd[0] {
                    let (gx, gy, gz) = (x + lo[0] - m[0], y + lo[1] - m[1], z + lo[2] - m[2]);
                    crop.push(img.data[gx + 40 * (gy + 36 * gz)]);
                }
            }
        }
        let g = Geometry::new(cd, [1.0; 3], [0.0; 3]);
        let out = f
            .apply(
                &c,
                &Volume {
                    geometry: g,
                    data: crop,
                },
            )
            .unwrap();
        for z in lo[2]..hi[2] {
            for y in lo[1]..hi[1] {
                for x in lo[0]..hi[0] {
                    let a = full.data[x + 40 * (y + 36 * z)];
                    let (cx, cy, cz) = (x + m[0] - lo[0], y + m[1] - lo[1], z + m[2] - lo[2]);
                    let b = out.data[cx + cd[0] * (cy + cd[1] * cz)];
                    assert!((a - b).abs() < 1e-4, "{w} {sb}: ({x},{y},{z}) {a} vs {b}");
                }
            }
        }
    }
    // The margin is tight: haar level 2 reaches 1 + 2 = 3 voxels.
    let f = config("haar", "HHH", 2, false);
    let c = common(Boundary::Zero, FilterDims::D3);
    assert_eq!(f.margin(&c, [1.0; 3]), Some([3; 3]));
    let mut imp = Volume::filled(Geometry::new([9, 9, 9], [1.0; 3], [0.0; 3]), 0.0f32);
    imp.data[4 + 9 * (4 + 9 * 4)] = 1.0;
    let out = f.apply(&c, &imp).unwrap();
    let reach = (0..9)
        .filter(|&x| (0..81).any(|yz| out.data[x + 9 * yz] != 0.0))
        .map(|x| (x as isize - 4).unsigned_abs())
        .max();
    assert_eq!(reach, Some(3));
}

#[test]
fn names_and_defaults() {
    assert_eq!(
        config("db3", "LLH", 1, true).name(),
        "wavelet_db3_LLH_l1_avg"
    );
    assert_eq!(config("Haar", "hh", 2, false).name(), "wavelet_haar_HH_l2");
    let v: serde_norway::Value = serde_norway::from_str(
        "- {type: wavelet, wavelet: coif1, subband: HHL, rotationInvariant: true, pooling: max}",
    )
    .unwrap();
    let f = parse_filters(&v, Path::new("p.yaml")).unwrap();
    assert_eq!(f[0].name, "wavelet_coif1_HHL_l1_max_3D_mirror");
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("- {type: wavelet, wavelet: db99, subband: LLH}", "wavelet"),
        ("- {type: wavelet, subband: LLH}", "wavelet"),
        ("- {type: wavelet, wavelet: db3, subband: LXH}", "subband"),
        ("- {type: wavelet, wavelet: db3, subband: LH}", "subband"),
        ("- {type: wavelet, wavelet: db3, subband: LLH, dims: 2D}", "subband"),
        ("- {type: wavelet, wavelet: db3}", "subband"),
        ("- {type: wavelet, wavelet: db3, subband: LLH, level: 0}", "level"),
        ("- {type: wavelet, wavelet: db3, subband: LLH, level: -1}", "level"),
        ("- {type: wavelet, wavelet: db3, subband: LLH, level: 40}", "level"),
        (
            "- {type: wavelet, wavelet: db3, subband: LLH, rotationInvariant: yes please}",
            "rotationInvariant",
        ),
        ("- {type: wavelet, wavelet: db3, subband: LLH, pooling: max}", "pooling"),
        (
            "- {type: wavelet, wavelet: db3, subband: LLH, rotationInvariant: true, pooling: median}",
            "pooling",
        ),
        ("- {type: wavelet, wavelet: db3, subband: LLH, levels: 2}", "levels"),
    ];
    for (yaml, key) in cases {
        let e = parse_err(yaml);
        assert!(e.contains(&format!("'{key}'")), "{yaml}: {e}");
    }
}

#[test]
fn a_subband_for_other_dims_is_an_error_not_a_panic() {
    let f = config("db2", "LH", 1, false);
    let img = noise([6, 6, 6]);
    assert!(f
        .apply(&common(Boundary::Mirror, FilterDims::D3), &img)
        .is_err());
}

/// Peak resident memory of this process in KiB (Linux), if known.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The memory budget: one rotation-invariant filter on a 512×512×300 volume
/// stays below 1 GiB peak (input included). Run alone:
/// `cargo test --lib filters::wavelet::tests::large_volume -- --ignored --nocapture`.
#[test]
#[ignore = "large: 300 MiB input, about 20 s"]
fn large_volume_within_one_gib() {
    let img = noise([512, 512, 300]);
    for (sb, level) in [("LLH", 1), ("HHH", 2)] {
        let f = config("db3", sb, level, true);
        let t = std::time::Instant::now();
        let out = f
            .apply(&common(Boundary::Mirror, FilterDims::D3), &img)
            .unwrap();
        let peak = peak_rss_kib();
        println!(
            "db3 {sb} level {level}, 24 rotations: {:.1} s, peak RSS {:?} MiB",
            t.elapsed().as_secs_f64(),
            peak.map(|k| k / 1024)
        );
        assert_eq!(out.data.len(), img.data.len());
        if let Some(k) = peak {
            assert!(k < 1024 * 1024, "peak {k} KiB");
        }
    }
}

/// The grouped, slice-wise average equals pooling the response of every one
/// of the 24 (3D) or 4 (2D) rotations, duplicates included.
#[test]
fn grouped_average_equals_pooling_every_rotation() {
    let img = noise([11, 10, 9]);
    for (w, sb, level, dims) in [
        ("db3", "LLH", 2, FilterDims::D3),
        ("coif1", "HHL", 1, FilterDims::D3),
        ("haar", "HHH", 2, FilterDims::D3),
        ("db2", "LH", 2, FilterDims::D2),
    ] {
        let c = common(Boundary::Mirror, dims);
        let f = config(w, sb, level, true);
        let got = f.apply(&c, &img).unwrap().data;
        let mut pool = Pool::new(Pooling::Average);
        for r in rotations(dims) {
            let p = f.plan(&r, dims);
            let mut d = img.data.clone();
            for &axis in dims.axes() {
                filter_axis(&mut d, img.geometry.dims, axis, &p.axes[axis], c.boundary);
            }
            pool.add(d);
        }
        let want = pool.finish();
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4, "{w} {sb} l{level}: {a} vs {b}");
        }
    }
}
