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
fn matrices<L: Level>(padded: &PaddedLevels<L>, index: &[usize], n: usize) -> Vec<Vec<u64>> {
    // Matrix size, counts, and the row / column of each present level.
    let (w, m, pos): (usize, Vec<u32>, Vec<usize>) = if index.len() * index.len() <= 1 << 16 {
        let present = (0..index.len()).filter(|&l| index[l] != usize::MAX);
        (
            index.len(),
            level_pairs(padded, index.len()),
            present.collect(),
        )
    } else {
        (n + 1, index_pairs(padded, index, n), (1..=n).collect())
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

/// Ordered pair counts M over the levels themselves, (N_g + 1)² per
/// direction, for N_g + 1 ≤ 256: every row of the grid gets the pair code
/// `a · (N_g + 1) + b` of each voxel with its neighbour in every direction
/// (contiguous rows: vectorised, u16 codes), then the ROI voxels count
/// their 13 codes.
fn level_pairs<L: Level>(padded: &PaddedLevels<L>, w: usize) -> Vec<u32> {
    let forward = padded.forward();
    let width = padded.dims[0] - 2;
    let data = &padded.data;
    let mut m = vec![0u32; forward.len() * w * w];
    let mut codes = vec![0u16; forward.len() * width];
    for start in padded.rows() {
        let row = &data[start..start + width];
        for (out, &off) in codes.chunks_exact_mut(width).zip(&forward) {
            let next = &data[start + off as usize..][..width];
            for ((c, &a), &b) in out.iter_mut().zip(row).zip(next) {
                let (a, b): (u32, u32) = (a.into(), b.into());
                *c = (a * w as u32 + b) as u16;
            }
        }
        for (x, &a) in row.iter().enumerate() {
            if a == L::default() {
                continue;
            }
            for (md, codes) in m.chunks_exact_mut(w * w).zip(codes.chunks_exact(width)) {
                md[codes[x] as usize] += 1;
            }
        }
    }
    m
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
    for m in matrices(padded, &index, n) {
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
