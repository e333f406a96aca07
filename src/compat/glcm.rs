//! PyRadiomics `glcm` class: 13 volumetric directions at distance 1, one
//! symmetric matrix per direction (pairs counted in both orders), grey levels
//! absent from the ROI removed, features computed per direction and averaged
//! (`nanmean`; directions without any pair are dropped).
//!
//! i, j are the grey levels themselves (bin numbers, not ranks); `N_g` is the
//! highest level present. p = P / ΣP, p_x = p_y (symmetry), μ_x = μ_y,
//! p_{x+y}(k) for k = i + j, p_{x−y}(k) for k = |i − j|; eps = 2.2e-16.

use super::linalg::symmetric_eigenvalue;
use super::pyradiomics::Crop;
use super::{entropy_term, nanmean, EPS};
use crate::features::padded::{Level, PaddedLevels};

/// Feature names, alphabetical (PyRadiomics order).
const NAMES: [&str; 24] = [
    "Autocorrelation",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "Id",
    "Idm",
    "Idmn",
    "Idn",
    "Imc1",
    "Imc2",
    "InverseVariance",
    "JointAverage",
    "JointEnergy",
    "JointEntropy",
    "MCC",
    "MaximumProbability",
    "SumAverage",
    "SumEntropy",
    "SumSquares",
];

/// Symmetric co-occurrence counts of the 13 directions over the present
/// levels (n × n each, by index in `index`), built in one pass over the ROI.
///
/// Each voxel adds its pair with the next voxel along every direction once
/// (no branch per pair, half the increments) into a matrix M whose row and
/// column 0 gather voxels outside the ROI; M is then symmetrised,
/// P(i, j) = M(i, j) + M(j, i), which counts every pair in both orders as
/// PyRadiomics does. Counts are u32: the crop holds fewer than 2³² voxels.
fn matrices<L: Level>(
    padded: &PaddedLevels<L>,
    spans: &[(usize, usize)],
    index: &[usize],
    n: usize,
) -> Vec<Vec<u64>> {
    // Row length of M, counts, and the row / column of each present level.
    let present = || {
        (0..index.len())
            .filter(|&l| index[l] != usize::MAX)
            .collect()
    };
    let (w, m, pos): (usize, Vec<u32>, Vec<usize>) = match index.len() {
        0..=16 => (16, level_pairs::<L, 256, 272>(padded, spans, 4), present()),
        17..=32 => (
            32,
            level_pairs::<L, 1024, 1040>(padded, spans, 5),
            present(),
        ),
        33..=64 => (
            64,
            level_pairs::<L, 4096, 4112>(padded, spans, 6),
            present(),
        ),
        _ => (n + 1, index_pairs(padded, index, n), (1..=n).collect()),
    };
    m.chunks_exact(w * w)
        .map(|md| {
            let mut sym = vec![0u64; n * n];
            for (i, &a) in pos.iter().enumerate() {
                for (j, &b) in pos.iter().enumerate() {
                    sym[i * n + j] = u64::from(md[a * w + b]) + u64::from(md[b * w + a]);
                }
            }
            sym
        })
        .collect()
}

/// Ordered pair counts M over the levels themselves, for N_g < 2^`shift`:
/// per direction a table of `CAP` = 4^`shift` cells, M(a, b) at
/// `a << shift | b`, concatenated.
///
/// The index is below `CAP` by construction, and masking it with `CAP − 1`
/// tells the compiler so: each of the 13 increments per ROI voxel is a load
/// of the neighbour, an OR and the increment, with no bounds check (the
/// loop is bound by these increments). The tables are `SIZE` = `CAP` + 16
/// cells apart while counting: at a multiple of 4 KiB apart, the increments
/// of equal cells of different directions would falsely wait on each other
/// (4K aliasing of loads with earlier stores).
fn level_pairs<L: Level, const CAP: usize, const SIZE: usize>(
    padded: &PaddedLevels<L>,
    spans: &[(usize, usize)],
    shift: u32,
) -> Vec<u32> {
    debug_assert!(CAP == 1 << (2 * shift) && SIZE == CAP + 16);
    let forward = padded.forward();
    let data = &padded.data;
    let mut m: Box<[[u32; SIZE]; 13]> = vec![[0u32; SIZE]; 13]
        .into_boxed_slice()
        .try_into()
        .expect("13 directions");
    // Only the span of each row holding its ROI voxels.
    for (start, &(first, end)) in padded.rows().zip(spans) {
        let (start, width) = (start + first, end - first);
        let row = &data[start..start + width];
        let next: [&[L]; 13] =
            std::array::from_fn(|k| &data[start + forward[k] as usize..][..width]);
        for (x, &a) in row.iter().enumerate() {
            if a == L::default() {
                continue;
            }
            let a = (a.into() as usize) << shift;
            for (md, next) in m.iter_mut().zip(&next) {
                let b: u32 = next[x].into();
                md[(a | b as usize) & (CAP - 1)] += 1;
            }
        }
    }
    m.iter().flat_map(|md| &md[..CAP]).copied().collect()
}

/// Ordered pair counts M over the present levels' indices plus one (0 for
/// outside the ROI), (n + 1)² per direction: for many grey levels, where
/// (N_g + 1)² cells per direction would be too many.
fn index_pairs<L: Level>(padded: &PaddedLevels<L>, index: &[usize], n: usize) -> Vec<u32> {
    let forward = padded.forward();
    let w = n + 1;
    let pos: Vec<u32> = (0..index.len())
        .map(|l| if l == 0 { 0 } else { index[l].wrapping_add(1) } as u32)
        .collect();
    let mut m = vec![0u32; forward.len() * w * w];
    padded.for_each_voxel(|v, a| {
        let row = pos[a.into() as usize] as usize * w;
        for (md, &off) in m.chunks_exact_mut(w * w).zip(&forward) {
            let b: u32 = padded.at(v, off).into();
            md[row + pos[b as usize] as usize] += 1;
        }
    });
    m
}

/// Index of MCC in [`NAMES`].
const MCC: usize = 19;

/// The 24 features of one normalised matrix `p` (n × n over `levels`), MCC
/// left as NaN, with the matrix whose eigenvalues give MCC ([`mcc_matrix`]).
fn features(p: &[f64], levels: &[f64], n_g: f64) -> ([f64; 24], Option<(Vec<f64>, usize)>) {
    let n = levels.len();
    let ng = n_g as usize;
    let px: Vec<f64> = (0..n).map(|i| (0..n).map(|j| p[i * n + j]).sum()).collect();
    let py: Vec<f64> = (0..n).map(|j| (0..n).map(|i| p[i * n + j]).sum()).collect();
    let ux: f64 = (0..n).map(|i| levels[i] * px[i]).sum();
    let uy: f64 = (0..n).map(|j| levels[j] * py[j]).sum();
    let mut sum_k = vec![0.0; 2 * ng + 1];
    let mut diff_k = vec![0.0; ng.max(1)];
    let (mut auto, mut cp, mut cs, mut ct, mut contrast) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sigx2, mut sigy2, mut corm) = (0.0, 0.0, 0.0);
    let (mut hxy, mut hxy1, mut hxy2, mut energy, mut maxp) = (0.0, 0.0, 0.0, 0.0, 0.0f64);
    for i in 0..n {
        let li = levels[i];
        for j in 0..n {
            let lj = levels[j];
            let v = p[i * n + j];
            hxy2 += entropy_term(px[i] * py[j]);
            if v == 0.0 {
                continue;
            }
            sum_k[(li + lj) as usize] += v;
            diff_k[(li - lj).abs() as usize] += v;
            auto += v * li * lj;
            let s = li + lj - ux - uy;
            ct += v * s * s;
            cs += v * s * s * s;
            cp += v * s * s * s * s;
            contrast += v * (li - lj) * (li - lj);
            sigx2 += v * (li - ux) * (li - ux);
            sigy2 += v * (lj - uy) * (lj - uy);
            corm += v * (li - ux) * (lj - uy);
            hxy += entropy_term(v);
            hxy1 -= v * (px[i] * py[j] + EPS).log2();
            energy += v * v;
            maxp = maxp.max(v);
        }
    }
    let sxy = sigx2.sqrt() * sigy2.sqrt();
    let corr = if sxy == 0.0 { 1.0 } else { corm / (sxy + EPS) };
    let diff_avg: f64 = diff_k.iter().enumerate().map(|(k, v)| k as f64 * v).sum();
    let diff_var: f64 = diff_k
        .iter()
        .enumerate()
        .map(|(k, v)| (k as f64 - diff_avg).powi(2) * v)
        .sum();
    let diff_ent: f64 = diff_k.iter().map(|&v| entropy_term(v)).sum();
    let id: f64 = diff_k
        .iter()
        .enumerate()
        .map(|(k, v)| v / (1.0 + k as f64))
        .sum();
    let idm: f64 = diff_k
        .iter()
        .enumerate()
        .map(|(k, v)| v / (1.0 + (k * k) as f64))
        .sum();
    let idmn: f64 = diff_k
        .iter()
        .enumerate()
        .map(|(k, v)| v / (1.0 + (k * k) as f64 / (n_g * n_g)))
        .sum();
    let idn: f64 = diff_k
        .iter()
        .enumerate()
        .map(|(k, v)| v / (1.0 + k as f64 / n_g))
        .sum();
    let inv_var: f64 = diff_k
        .iter()
        .enumerate()
        .skip(1)
        .map(|(k, v)| v / (k * k) as f64)
        .sum();
    let sum_avg: f64 = sum_k.iter().enumerate().map(|(k, v)| k as f64 * v).sum();
    let sum_ent: f64 = sum_k.iter().map(|&v| entropy_term(v)).sum();
    let hx: f64 = px.iter().map(|&v| entropy_term(v)).sum();
    let hy: f64 = py.iter().map(|&v| entropy_term(v)).sum();
    let div = hx.max(hy);
    let imc1 = if div != 0.0 { (hxy - hxy1) / div } else { 0.0 };
    // sqrt of a negative argument is NaN in numpy too (then skipped by nanmean).
    let imc2 = if hxy2 == hxy {
        0.0
    } else {
        (1.0 - (-2.0 * (hxy2 - hxy)).exp()).sqrt()
    };
    let sum_squares: f64 = sigx2;
    let values = [
        auto,
        cp,
        cs,
        ct,
        contrast,
        corr,
        diff_avg,
        diff_ent,
        diff_var,
        id,
        idm,
        idmn,
        idn,
        imc1,
        imc2,
        inv_var,
        ux,
        energy,
        hxy,
        f64::NAN, // MCC
        maxp,
        sum_avg,
        sum_ent,
        sum_squares,
    ];
    (values, mcc_matrix(p, &px, &py, n))
}

/// Maximal correlation coefficient: the square root of the second largest
/// eigenvalue of Q(i, j) = Σ_k p(i, k) p(j, k) / (p_x(i) p_y(k)).
///
/// PyRadiomics adds eps to the denominator and uses a general (complex)
/// eigen-solver. Q = D_x⁻¹ P D_y⁻¹ Pᵀ is similar to the symmetric positive
/// semi-definite S = D_x^{-1/2} P D_y⁻¹ Pᵀ D_x^{-1/2}, so its eigenvalues are
/// real and non-negative; they are computed from S (rows with p_x(i) = 0
/// contribute zero eigenvalues). The eps shifts them by ~1e-16 relative.
///
/// Returns S with its size m (the rows with p_x(i) > 0), or `None` for
/// n < 2 (MCC = 1). Terms with a zero factor are skipped: they add +0 to a
/// non-negative sum, which changes nothing, so only the non-zero columns of
/// row i are visited (GLCMs are banded around the diagonal).
fn mcc_matrix(p: &[f64], px: &[f64], py: &[f64], n: usize) -> Option<(Vec<f64>, usize)> {
    if n < 2 {
        return None;
    }
    let rows: Vec<usize> = (0..n).filter(|&i| px[i] > 0.0).collect();
    let m = rows.len();
    // Non-zero columns of every row (their p_y(k) ≥ p(i, k) > 0).
    let nonzero: Vec<Vec<usize>> = rows
        .iter()
        .map(|&i| (0..n).filter(|&k| p[i * n + k] != 0.0).collect())
        .collect();
    let mut s = vec![0.0; m * m];
    for (a, &i) in rows.iter().enumerate() {
        for (b, &j) in rows.iter().enumerate().skip(a) {
            let mut acc = 0.0;
            for &k in &nonzero[a] {
                let pj = p[j * n + k];
                if pj != 0.0 {
                    acc += p[i * n + k] * pj / py[k];
                }
            }
            let v = acc / (px[i].sqrt() * px[j].sqrt());
            s[a * m + b] = v;
            s[b * m + a] = v;
        }
    }
    Some((s, m))
}

/// MCC from [`mcc_matrix`]'s S (m × m; the other n − m eigenvalues of Q
/// are 0): the square root of the second largest of all n, that is of S's
/// second largest when it is positive, else 0.
fn mcc(mut s: Vec<f64>, m: usize) -> f64 {
    if m < 2 {
        return 0.0;
    }
    symmetric_eigenvalue(&mut s, m, m - 2).max(0.0).sqrt()
}

/// All GLCM features (`original_glcm_*` without the prefix).
pub(crate) fn compute<L: Level>(crop: &Crop, padded: &PaddedLevels<L>) -> Vec<(&'static str, f64)> {
    let index = crop.level_index();
    let levels: Vec<f64> = crop.grey_levels.iter().map(|&l| l as f64).collect();
    let n = levels.len();
    let n_g = crop.n_g() as f64;
    let mut per_dir: Vec<[f64; 24]> = Vec::new();
    for m in matrices(padded, &crop.row_spans, &index, n) {
        let m: Vec<f64> = m.into_iter().map(|c| c as f64).collect();
        let total: f64 = m.iter().sum();
        if total == 0.0 {
            continue;
        }
        let p: Vec<f64> = m.iter().map(|c| c / total).collect();
        let (mut values, s) = features(&p, &levels, n_g);
        values[MCC] = match s {
            None => 1.0,
            Some((s, size)) => mcc(s, size),
        };
        per_dir.push(values);
    }
    NAMES
        .iter()
        .enumerate()
        .map(|(f, &name)| {
            (
                name,
                nanmean(&per_dir.iter().map(|d| d[f]).collect::<Vec<_>>()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table layout (up to 16, 32, 64 levels and the index tables
    /// beyond) against a direct count of the pairs in both orders.
    #[test]
    fn matrices_match_a_direct_count() {
        let dims = [11, 9, 7];
        let n_vox = dims[0] * dims[1] * dims[2];
        for top in [3u32, 15, 16, 31, 40, 64, 90] {
            let levels: Vec<u32> = (0..n_vox as u64)
                .map(|i| {
                    let h = (i.wrapping_mul(2_654_435_761) >> 5) as u32;
                    // Some voxels outside the ROI, some levels absent.
                    if i % 7 == 3 {
                        0
                    } else {
                        (h % top + 1) & !2
                    }
                })
                .collect();
            let padded = PaddedLevels::<u16>::new(&levels, dims, [true; 3]);
            let top = padded.data.iter().copied().max().unwrap_or(0) as usize;
            let mut index = vec![usize::MAX; top + 1];
            let mut n = 0;
            for (l, idx) in index.iter_mut().enumerate().skip(1) {
                if padded.data.contains(&(l as u16)) {
                    *idx = n;
                    n += 1;
                }
            }
            let got = matrices(&padded, &Crop::spans_of(&padded), &index, n);
            for (k, &off) in padded.forward().iter().enumerate() {
                let mut want = vec![0u64; n * n];
                padded.for_each_voxel(|v, a| {
                    let b = padded.at(v, off);
                    if b > 0 {
                        let (i, j) = (index[a as usize], index[b as usize]);
                        want[i * n + j] += 1;
                        want[j * n + i] += 1;
                    }
                });
                assert_eq!(got[k], want, "top {top}, direction {k}");
            }
        }
    }
}
