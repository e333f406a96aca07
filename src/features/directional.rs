//! Aggregation of directional texture matrices (GLCM, GLRLM) over slices and
//! directions (IBSI "Aggregating features").
//!
//! | tag suffix  | matrices                               | features                       | IBSI |
//! |-------------|----------------------------------------|--------------------------------|------|
//! | `2D_avg`    | one per slice and in-plane direction   | averaged over slices and dirs  | BTW3 |
//! | `2D_comb`   | per slice, merged over the 4 directions| averaged over slices           | SUJT |
//! | `2_5D_avg`  | per direction, merged over slices      | averaged over directions       | JJUI |
//! | `2_5D_comb` | all slices and directions merged       | one value                      | ZW7Z |
//! | `3D_avg`    | one per 3D direction (13)              | averaged over directions       | ITBB |
//! | `3D_comb`   | all 13 directions merged               | one value                      | IAZD |
//!
//! A matrix without entries (e.g. a slice with no ROI voxel, or an in-plane
//! direction along which no two ROI voxels neighbour) has no features: like
//! MIRP (the IBSI reference implementation) it is left out of the average,
//! feature by feature (a NaN never enters a mean). When every matrix is empty
//! the feature is NaN.

use super::{Dimensionality, Features, TextureSettings, DIRECTIONS_3D, N_DIRECTIONS_2D};
use rayon::prelude::*;

/// A texture matrix that can be merged with another of its kind.
pub(crate) trait DirectionalMatrix: Send + Sync + Sized {
    /// Add the counts (and voxel totals) of `other` to `self`.
    fn merge(&mut self, other: &Self);
    /// The family's feature values, or `None` for a matrix without entries.
    fn features(&self) -> Option<Vec<f64>>;
}

/// Builds the matrices of one family for one ROI.
pub(crate) trait MatrixBuilder: Sync {
    type Matrix: DirectionalMatrix;
    /// Number of slices (z extent of the crop).
    fn n_slices(&self) -> usize;
    /// A matrix without entries (identity of [`DirectionalMatrix::merge`]).
    fn empty(&self) -> Self::Matrix;
    /// The matrix of slice `z` along in-plane direction `dir` (dz = 0).
    fn slice(&self, z: usize, dir: [i32; 3]) -> Self::Matrix;
    /// The volumetric matrix along 3D direction `dir`.
    fn volume(&self, dir: [i32; 3]) -> Self::Matrix;
}

/// Feature-wise mean that skips NaN (empty matrices contribute nothing).
struct Mean {
    sum: Vec<f64>,
    count: Vec<u32>,
}

impl Mean {
    fn new(n: usize) -> Self {
        Mean {
            sum: vec![0.0; n],
            count: vec![0; n],
        }
    }

    fn add(&mut self, values: &[f64]) {
        for ((s, c), &v) in self.sum.iter_mut().zip(&mut self.count).zip(values) {
            if !v.is_nan() {
                *s += v;
                *c += 1;
            }
        }
    }

    fn finish(&self) -> Vec<f64> {
        self.sum
            .iter()
            .zip(&self.count)
            .map(|(&s, &c)| if c == 0 { f64::NAN } else { s / c as f64 })
            .collect()
    }
}

/// Per-slice results of the 2D pass.
struct SliceResult {
    z: usize,
    /// Features of each in-plane direction's matrix (`None` when empty).
    by_direction: Vec<Option<Vec<f64>>>,
    /// Features of the slice's direction-merged matrix.
    merged: Option<Vec<f64>>,
}

/// Results of the slice-wise pass shared by 2D and 2.5D.
struct SlicePass<M> {
    slices: Vec<SliceResult>,
    /// Per in-plane direction, the matrices merged over all slices.
    by_direction: Vec<M>,
}

fn slice_pass<B: MatrixBuilder>(builder: &B, want_slice_features: bool) -> SlicePass<B::Matrix> {
    let dirs = &DIRECTIONS_3D[..N_DIRECTIONS_2D];
    let empty_dirs = || dirs.iter().map(|_| builder.empty()).collect::<Vec<_>>();
    let mut pass = (0..builder.n_slices())
        .into_par_iter()
        .fold(
            || SlicePass {
                slices: Vec::new(),
                by_direction: empty_dirs(),
            },
            |mut acc, z| {
                let mats: Vec<B::Matrix> = dirs.iter().map(|&d| builder.slice(z, d)).collect();
                if want_slice_features {
                    let by_direction = mats.iter().map(|m| m.features()).collect();
                    let mut merged = builder.empty();
                    for m in &mats {
                        merged.merge(m);
                    }
                    acc.slices.push(SliceResult {
                        z,
                        by_direction,
                        merged: merged.features(),
                    });
                }
                for (total, m) in acc.by_direction.iter_mut().zip(&mats) {
                    total.merge(m);
                }
                acc
            },
        )
        .reduce(
            || SlicePass {
                slices: Vec::new(),
                by_direction: empty_dirs(),
            },
            |mut a, b| {
                a.slices.extend(b.slices);
                for (x, y) in a.by_direction.iter_mut().zip(&b.by_direction) {
                    x.merge(y);
                }
                a
            },
        );
    // Sum in slice order so results do not depend on thread scheduling.
    pass.slices.sort_by_key(|s| s.z);
    pass
}

/// Average of the features of `matrices` (empty ones skipped) and the
/// features of their merge.
fn avg_and_comb<B: MatrixBuilder>(
    builder: &B,
    matrices: &[B::Matrix],
    n_features: usize,
) -> (Vec<f64>, Vec<f64>) {
    let feats: Vec<Option<Vec<f64>>> = matrices.par_iter().map(|m| m.features()).collect();
    let mut mean = Mean::new(n_features);
    for f in feats.iter().flatten() {
        mean.add(f);
    }
    let mut merged = builder.empty();
    for m in matrices {
        merged.merge(m);
    }
    let comb = merged
        .features()
        .unwrap_or_else(|| vec![f64::NAN; n_features]);
    (mean.finish(), comb)
}

/// Compute `names` (feature tags without aggregation suffix) for every
/// requested dimensionality, `_avg` then `_comb`.
pub(crate) fn compute<B: MatrixBuilder>(
    builder: &B,
    settings: &TextureSettings,
    names: &[&str],
) -> Features {
    let n = names.len();
    let want = |d| settings.dimensionalities.contains(&d);
    let slices = (want(Dimensionality::D2) || want(Dimensionality::D2_5))
        .then(|| slice_pass(builder, want(Dimensionality::D2)));

    let mut out = Features::with_capacity(2 * n * settings.dimensionalities.len());
    let mut emit = |dim: Dimensionality, avg: &[f64], comb: &[f64]| {
        for (name, v) in names.iter().zip(avg) {
            out.push((format!("{name}_{}_avg", dim.tag()), *v));
        }
        for (name, v) in names.iter().zip(comb) {
            out.push((format!("{name}_{}_comb", dim.tag()), *v));
        }
    };

    for &dim in &settings.dimensionalities {
        match dim {
            Dimensionality::D2 => {
                let pass = slices.as_ref().expect("slice pass computed for 2D");
                let mut avg = Mean::new(n);
                let mut comb = Mean::new(n);
                for s in &pass.slices {
                    for f in s.by_direction.iter().flatten() {
                        avg.add(f);
                    }
                    if let Some(f) = &s.merged {
                        comb.add(f);
                    }
                }
                emit(dim, &avg.finish(), &comb.finish());
            }
            Dimensionality::D2_5 => {
                let pass = slices.as_ref().expect("slice pass computed for 2.5D");
                let (avg, comb) = avg_and_comb(builder, &pass.by_direction, n);
                emit(dim, &avg, &comb);
            }
            Dimensionality::D3 => {
                let mats: Vec<B::Matrix> = DIRECTIONS_3D
                    .par_iter()
                    .map(|&d| builder.volume(d))
                    .collect();
                let (avg, comb) = avg_and_comb(builder, &mats, n);
                emit(dim, &avg, &comb);
            }
        }
    }
    out
}

/// Index ranges `lo..hi` per axis of the voxels whose neighbour at `offset`
/// lies inside a grid of `dims`; `None` when there is none.
pub(crate) fn pair_ranges(dims: [usize; 3], offset: [isize; 3]) -> Option<[(usize, usize); 3]> {
    let mut r = [(0, 0); 3];
    for a in 0..3 {
        let n = dims[a] as isize;
        let o = offset[a];
        if o.abs() >= n {
            return None;
        }
        r[a] = if o >= 0 {
            (0, (n - o) as usize)
        } else {
            ((-o) as usize, n as usize)
        };
    }
    Some(r)
}
