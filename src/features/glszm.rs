//! Grey level size zone matrix (GLSZM) features, IBSI family *9SAK*.
//!
//! A zone is a group of connected voxels of the intensity mask sharing one
//! discretised grey level (8-connectivity in 2D, 26-connectivity in 3D).
//! Element `s_ij` of the matrix counts the zones with grey level `i` and size
//! `j` voxels; `N_s` is the number of zones and `N_v` the number of voxels.
//!
//! Aggregation (tag suffix): `2D` averages the features of the per-slice
//! matrices over the slices that hold ROI voxels (*8QNN*), `2_5D` merges the
//! per-slice matrices by summing counts and `N_v` (*62GR*), `3D` uses one
//! volumetric matrix (*KOBO*).
//!
//! This module also holds the machinery shared with [`super::gldzm`] and
//! [`super::ngldm`]: the sparse `CountMatrix` with its run-length-like
//! features, the zone labelling (`for_each_zone`), the slice views
//! (`Block`) and the 2D / 2.5D / 3D aggregation (`aggregate`).
//!
//! Degenerate ROIs: one zone or one grey level gives the plain formula values
//! (variances and entropy 0, non-uniformities 1); an empty matrix (no voxel in
//! the intensity mask) gives `NaN` for every feature.

use super::padded::PaddedLevels;
use super::{Dimensionality, Features, TextureSettings};
use crate::roi::DiscreteRoi;
use rayon::prelude::*;

/// GLSZM feature names in output order, with their IBSI identifiers:
/// sze 5QRC, lze 48P8, lgze XMSY, hgze 5GN9, szlge 5RAI, szhge HW1V,
/// lzlge YH51, lzhge J17V, glnu JNSA, glnu_norm Y1RO, zsnu 4JP3,
/// zsnu_norm VB3A, z_perc P30P, gl_var BYLV, zs_var 3NSA, zs_entr GU8N.
pub const NAMES: [&str; 16] = [
    "sze",
    "lze",
    "lgze",
    "hgze",
    "szlge",
    "szhge",
    "lzlge",
    "lzhge",
    "glnu",
    "glnu_norm",
    "zsnu",
    "zsnu_norm",
    "z_perc",
    "gl_var",
    "zs_var",
    "zs_entr",
];

/// All GLSZM features for the requested dimensionalities, tagged
/// `szm_<name>_<2D|2_5D|3D>`.
pub fn compute(roi: &DiscreteRoi, settings: &TextureSettings) -> Features {
    aggregate(
        roi,
        settings,
        "szm",
        &NAMES,
        |block| size_zone_matrix(&block),
        |parts| CountMatrix::merge(parts.iter()),
        |m| m.is_empty(),
        |m| m.run_features()[..16].to_vec(),
    )
}

/// The GLSZM of one block: one `(grey level, zone size)` pair per zone.
fn size_zone_matrix(block: &Block) -> CountMatrix {
    let mut pairs = Vec::new();
    let mut n_voxels = 0u64;
    for_each_zone(block, |level, voxels| {
        pairs.push((level, voxels.len() as u32));
        n_voxels += voxels.len() as u64;
    });
    CountMatrix::from_pairs(pairs, n_voxels)
}

// ---------------------------------------------------------------------------
// Shared machinery (GLSZM, GLDZM, NGLDM)
// ---------------------------------------------------------------------------

/// A view of consecutive whole slices of the crop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    /// Grey levels (0 outside the intensity mask), x-fastest.
    pub levels: &'a [u32],
    /// Morphological mask on the same voxels.
    pub morph: &'a [bool],
    /// Block size (x, y, z).
    pub dims: [usize; 3],
    /// True for a single slice of the 2D / 2.5D approaches: neighbourhoods and
    /// distances stay in-plane.
    pub planar: bool,
}

impl<'a> Block<'a> {
    /// The whole crop as one volumetric block (3D approach).
    pub fn volume(roi: &'a DiscreteRoi) -> Self {
        Block {
            levels: &roi.levels,
            morph: &roi.morph,
            dims: roi.dims,
            planar: false,
        }
    }

    /// Axial slices of the crop that hold at least one intensity-mask voxel.
    pub fn slices(roi: &'a DiscreteRoi) -> Vec<Block<'a>> {
        let plane = roi.dims[0] * roi.dims[1];
        (0..roi.dims[2])
            .map(|z| Block {
                levels: &roi.levels[z * plane..(z + 1) * plane],
                morph: &roi.morph[z * plane..(z + 1) * plane],
                dims: [roi.dims[0], roi.dims[1], 1],
                planar: true,
            })
            .filter(|b| b.levels.iter().any(|&l| l > 0))
            .collect()
    }

    /// Neighbour offsets `(dx, dy, dz)` within Chebyshev distance `delta`,
    /// excluding the centre; in-plane only for planar blocks.
    fn offsets(&self, delta: usize) -> Vec<[isize; 3]> {
        let d = delta as isize;
        let dz = if self.planar || self.dims[2] == 1 {
            0
        } else {
            d
        };
        let mut out = Vec::new();
        for z in -dz..=dz {
            for y in -d..=d {
                for x in -d..=d {
                    if (x, y, z) != (0, 0, 0) {
                        out.push([x, y, z]);
                    }
                }
            }
        }
        out
    }
}

/// The neighbours of a block's voxels within Chebyshev distance δ (centre
/// excluded; in-plane for planar blocks). Voxels whose whole neighbourhood
/// lies inside the block take a fast path over precomputed linear offsets;
/// only voxels near the block faces pay for bounds checks.
pub(crate) struct Neighbourhood {
    offsets: Vec<[isize; 3]>,
    linear: Vec<isize>,
    /// Reach along x, y, z (z is 0 for planar blocks).
    reach: [usize; 3],
    dims: [usize; 3],
}

impl Neighbourhood {
    pub fn new(block: &Block, delta: usize) -> Self {
        let offsets = block.offsets(delta);
        let [nx, ny, _] = block.dims;
        let linear = offsets
            .iter()
            .map(|o| o[0] + nx as isize * (o[1] + ny as isize * o[2]))
            .collect();
        let rz = offsets
            .iter()
            .map(|o| o[2].unsigned_abs())
            .max()
            .unwrap_or(0);
        Neighbourhood {
            offsets,
            linear,
            reach: [delta, delta, rz],
            dims: block.dims,
        }
    }

    /// Number of neighbour positions (e.g. 26 in 3D, 8 in 2D for δ = 1).
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Call `f` with the linear index of every neighbour of voxel
    /// `(x, y, z)` that lies inside the block.
    #[inline]
    pub fn for_each(&self, x: usize, y: usize, z: usize, mut f: impl FnMut(usize)) {
        let [nx, ny, nz] = self.dims;
        let [rx, ry, rz] = self.reach;
        let v = x + nx * (y + ny * z);
        if x >= rx && x + rx < nx && y >= ry && y + ry < ny && z >= rz && z + rz < nz {
            for &l in &self.linear {
                f(v.wrapping_add_signed(l));
            }
        } else {
            for &o in &self.offsets {
                let inside = offset_index(self.dims, x, y, z, o);
                if let Some(n) = inside {
                    f(n);
                }
            }
        }
    }
}

/// Linear index of voxel `(x, y, z) + o` in a grid of size `dims`, or `None`
/// outside it.
#[inline]
fn offset_index(dims: [usize; 3], x: usize, y: usize, z: usize, o: [isize; 3]) -> Option<usize> {
    let a = x.checked_add_signed(o[0]).filter(|&c| c < dims[0])?;
    let b = y.checked_add_signed(o[1]).filter(|&c| c < dims[1])?;
    let c = z.checked_add_signed(o[2]).filter(|&c| c < dims[2])?;
    Some(a + dims[0] * (b + dims[1] * c))
}

/// Label the zones of `block` (connected voxels of one grey level, linkage at
/// Chebyshev distance 1: 26-connectivity, or 8-connectivity in a planar block)
/// and call `on_zone(level, voxels)` once per zone with the zone's linear
/// voxel indices. One breadth-first fill per zone over reused buffers; no
/// per-voxel allocation. The fill runs on a zero-bordered copy of the levels
/// where visited voxels are set to 0, so neighbours need no bounds checks and
/// no separate visited mask.
pub(crate) fn for_each_zone(block: &Block, mut on_zone: impl FnMut(u32, &[u32])) {
    let [nx, ny, nz] = block.dims;
    let offsets = block.offsets(1);
    let in_plane = offsets.iter().all(|o| o[2] == 0);
    let mut padded = PaddedLevels::new(block.levels, block.dims, [true, true, !in_plane]);
    // (step in the padded grid, step in the block) per neighbour.
    let steps: Vec<(isize, isize)> = offsets
        .iter()
        .map(|o| {
            (
                padded.step(*o),
                o[0] + nx as isize * (o[1] + ny as isize * o[2]),
            )
        })
        .collect();
    let mut queue: Vec<usize> = Vec::new();
    let mut zone: Vec<u32> = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            let row = padded.index(0, y, z);
            let block_row = nx * (y + ny * z);
            for x in 0..nx {
                let start = row + x;
                let level = padded.data[start];
                if level == 0 {
                    continue;
                }
                let data = &mut padded.data;
                data[start] = 0;
                queue.clear();
                zone.clear();
                queue.push(start);
                zone.push((block_row + x) as u32);
                let mut head = 0;
                while head < queue.len() {
                    let (v, vb) = (queue[head], zone[head] as isize);
                    head += 1;
                    for &(dp, db) in &steps {
                        let n = v.wrapping_add_signed(dp);
                        if data[n] == level {
                            data[n] = 0;
                            queue.push(n);
                            zone.push((vb + db) as u32);
                        }
                    }
                }
                on_zone(level, &zone);
            }
        }
    }
}

/// A sparse count matrix `M` with rows `i` (grey level, 1-based) and columns
/// `j` (zone size, zone distance or dependence count, 1-based), together with
/// the number of voxels `N_v` it was built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CountMatrix {
    /// Non-zero cells `((i, j), m_ij)`, sorted by `(i, j)`.
    cells: Vec<((u32, u32), u64)>,
    /// `N_v`.
    n_voxels: u64,
}

impl CountMatrix {
    /// Count the `(i, j)` pairs (one per zone or neighbourhood).
    pub fn from_pairs(mut pairs: Vec<(u32, u32)>, n_voxels: u64) -> Self {
        pairs.sort_unstable();
        let mut cells: Vec<((u32, u32), u64)> = Vec::new();
        for p in pairs {
            match cells.last_mut() {
                Some((q, c)) if *q == p => *c += 1,
                _ => cells.push((p, 1)),
            }
        }
        CountMatrix { cells, n_voxels }
    }

    /// From a dense row-major grid `counts[i * n_cols + j]` (zero cells are
    /// dropped).
    pub fn from_dense(counts: &[u64], n_cols: usize, n_voxels: u64) -> Self {
        let cells = counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(k, &c)| (((k / n_cols) as u32, (k % n_cols) as u32), c))
            .collect();
        CountMatrix { cells, n_voxels }
    }

    /// Merge matrices (2.5D): counts and `N_v` are summed.
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a CountMatrix>) -> Self {
        let mut all: Vec<((u32, u32), u64)> = Vec::new();
        let mut n_voxels = 0;
        for p in parts {
            all.extend_from_slice(&p.cells);
            n_voxels += p.n_voxels;
        }
        all.sort_unstable_by_key(|&(k, _)| k);
        let mut cells: Vec<((u32, u32), u64)> = Vec::with_capacity(all.len());
        for (k, c) in all {
            match cells.last_mut() {
                Some((q, n)) if *q == k => *n += c,
                _ => cells.push((k, c)),
            }
        }
        CountMatrix { cells, n_voxels }
    }

    /// True when the matrix holds no count (`N_s = 0`).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The 17 run-length-like features shared by GLSZM, GLDZM and NGLDM, in
    /// the order of [`RunFeatures::values`]. All `NaN` for an empty matrix.
    pub fn run_features(&self) -> [f64; 17] {
        match RunFeatures::new(self) {
            Some(f) => f.values(),
            None => [f64::NAN; 17],
        }
    }
}

/// Marginals of a non-empty [`CountMatrix`], from which the features follow.
///
/// Notation: `m_ij` matrix element, `N_s = Σ m_ij`, `m_i. = Σ_j m_ij`,
/// `m_.j = Σ_i m_ij`, `p_ij = m_ij / N_s`, `N_v` voxel count.
struct RunFeatures<'a> {
    m: &'a CountMatrix,
    n_s: f64,
    /// `(i, m_i.)` for the rows present.
    rows: Vec<(f64, f64)>,
    /// `(j, m_.j)` for the columns present.
    cols: Vec<(f64, f64)>,
}

impl<'a> RunFeatures<'a> {
    fn new(m: &'a CountMatrix) -> Option<Self> {
        if m.cells.is_empty() {
            return None;
        }
        let mut rows: Vec<(f64, f64)> = Vec::new();
        let mut col_map: std::collections::BTreeMap<u32, u64> = Default::default();
        let mut n_s = 0u64;
        for &((i, j), c) in &m.cells {
            n_s += c;
            match rows.last_mut() {
                Some((r, s)) if *r == i as f64 => *s += c as f64,
                _ => rows.push((i as f64, c as f64)),
            }
            *col_map.entry(j).or_default() += c;
        }
        let cols = col_map
            .into_iter()
            .map(|(j, c)| (j as f64, c as f64))
            .collect();
        Some(RunFeatures {
            m,
            n_s: n_s as f64,
            rows,
            cols,
        })
    }

    /// `[small-j emphasis, large-j emphasis, low-grey emphasis, high-grey
    /// emphasis, small-j low-grey, small-j high-grey, large-j low-grey,
    /// large-j high-grey, grey non-uniformity, its normalised form,
    /// j non-uniformity, its normalised form, percentage, grey variance,
    /// j variance, j entropy, energy]`.
    fn values(&self) -> [f64; 17] {
        [
            self.col_moment(|j| 1.0 / (j * j)),
            self.col_moment(|j| j * j),
            self.row_moment(|i| 1.0 / (i * i)),
            self.row_moment(|i| i * i),
            self.cell_moment(|i, j| 1.0 / (i * i * j * j)),
            self.cell_moment(|i, j| i * i / (j * j)),
            self.cell_moment(|i, j| j * j / (i * i)),
            self.cell_moment(|i, j| i * i * j * j),
            self.non_uniformity(&self.rows),
            self.non_uniformity(&self.rows) / self.n_s,
            self.non_uniformity(&self.cols),
            self.non_uniformity(&self.cols) / self.n_s,
            self.percentage(),
            self.variance(&self.rows),
            self.variance(&self.cols),
            self.entropy(),
            self.energy(),
        ]
    }

    /// Emphasis over columns: `Σ_j w(j) m_.j / N_s` (e.g. small zone
    /// emphasis with `w = 1/j²`, large zone emphasis with `w = j²`).
    fn col_moment(&self, w: impl Fn(f64) -> f64) -> f64 {
        self.cols.iter().map(|&(j, c)| w(j) * c).sum::<f64>() / self.n_s
    }

    /// Emphasis over rows: `Σ_i w(i) m_i. / N_s` (low / high grey level emphasis).
    fn row_moment(&self, w: impl Fn(f64) -> f64) -> f64 {
        self.rows.iter().map(|&(i, c)| w(i) * c).sum::<f64>() / self.n_s
    }

    /// Joint emphasis: `Σ_ij w(i, j) m_ij / N_s`.
    fn cell_moment(&self, w: impl Fn(f64, f64) -> f64) -> f64 {
        self.m
            .cells
            .iter()
            .map(|&((i, j), c)| w(i as f64, j as f64) * c as f64)
            .sum::<f64>()
            / self.n_s
    }

    /// Non-uniformity of a marginal: `Σ_k m_k² / N_s` (divide once more by
    /// `N_s` for the normalised form).
    fn non_uniformity(&self, marginal: &[(f64, f64)]) -> f64 {
        marginal.iter().map(|&(_, c)| c * c).sum::<f64>() / self.n_s
    }

    /// Percentage: `N_s / N_v`.
    fn percentage(&self) -> f64 {
        self.n_s / self.m.n_voxels as f64
    }

    /// Variance of a marginal index: `Σ_k (k − μ)² p_k` with `μ = Σ_k k p_k`,
    /// which equals `Σ_ij (i − μ)² p_ij` for the row index (and likewise for j).
    fn variance(&self, marginal: &[(f64, f64)]) -> f64 {
        let mu = marginal.iter().map(|&(k, c)| k * c).sum::<f64>() / self.n_s;
        marginal
            .iter()
            .map(|&(k, c)| (k - mu) * (k - mu) * c)
            .sum::<f64>()
            / self.n_s
    }

    /// Entropy: `−Σ_ij p_ij log2 p_ij`.
    fn entropy(&self) -> f64 {
        -self
            .m
            .cells
            .iter()
            .map(|&(_, c)| {
                let p = c as f64 / self.n_s;
                p * p.log2()
            })
            .sum::<f64>()
    }

    /// Energy: `Σ_ij p_ij²` (NGLDM only).
    fn energy(&self) -> f64 {
        self.m
            .cells
            .iter()
            .map(|&(_, c)| {
                let p = c as f64 / self.n_s;
                p * p
            })
            .sum()
    }
}

/// Compute one texture family for every dimensionality in `settings`.
///
/// `build` makes the matrix of one block (a slice or the whole volume),
/// `merge` sums slice matrices (2.5D), `empty` tells matrices without any
/// count apart (such slices are left out of the 2D average), and `features`
/// evaluates a matrix in the order of `names`. Tags are
/// `<prefix>_<name>_<2D|2_5D|3D>`. Per-slice matrices are built once, in
/// parallel, and shared by 2D and 2.5D.
#[allow(clippy::too_many_arguments)]
pub(crate) fn aggregate<M: Send + Sync>(
    roi: &DiscreteRoi,
    settings: &TextureSettings,
    prefix: &str,
    names: &[&str],
    build: impl Fn(Block) -> M + Sync + Send,
    merge: impl Fn(&[M]) -> M,
    empty: impl Fn(&M) -> bool + Sync + Send,
    features: impl Fn(&M) -> Vec<f64> + Sync + Send,
) -> Features {
    let planar_needed = settings
        .dimensionalities
        .iter()
        .any(|d| matches!(d, Dimensionality::D2 | Dimensionality::D2_5));
    let slice_matrices: Vec<M> = if planar_needed {
        Block::slices(roi).into_par_iter().map(&build).collect()
    } else {
        Vec::new()
    };
    let mut out = Features::new();
    for &dim in &settings.dimensionalities {
        let values = match dim {
            Dimensionality::D2 => {
                let per_slice: Vec<Vec<f64>> = slice_matrices
                    .par_iter()
                    .filter(|m| !empty(m))
                    .map(&features)
                    .collect();
                average(&per_slice, names.len())
            }
            Dimensionality::D2_5 => features(&merge(&slice_matrices)),
            Dimensionality::D3 => features(&build(Block::volume(roi))),
        };
        debug_assert_eq!(values.len(), names.len());
        for (name, v) in names.iter().zip(values) {
            out.push((format!("{prefix}_{name}_{}", dim.tag()), v));
        }
    }
    out
}

/// Feature-wise mean over slices; `NaN` when there is no slice.
fn average(per_slice: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| {
            if per_slice.is_empty() {
                f64::NAN
            } else {
                per_slice.iter().map(|v| v[k]).sum::<f64>() / per_slice.len() as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::test_support::{all_dims, get, roi};

    #[test]
    fn zones_link_diagonally_in_plane_and_across_slices_in_3d() {
        // Slice 0: level 1 at (0,0) and (1,1) (diagonal), level 2 at (1,0), (0,1).
        // Slice 1: level 1 at (0,0) only.
        let r = roi([2, 2, 2], vec![1, 2, 2, 1, 1, 0, 0, 0]);
        let f = compute(&r, &all_dims());
        // 2D slice 0: zones {1:2 voxels}, {2:2 voxels}; slice 1: {1:1 voxel}.
        // 2.5D: N_s = 3, N_v = 5.
        assert!((get(&f, "szm_z_perc_2_5D") - 3.0 / 5.0).abs() < 1e-12);
        // 3D: level-1 voxels all linked (size 3), level 2 (size 2).
        assert!((get(&f, "szm_lze_3D") - (9.0 + 4.0) / 2.0).abs() < 1e-12);
        // 2D: mean of slice 0 (sze = 1/4) and slice 1 (sze = 1).
        assert!((get(&f, "szm_sze_2D") - (0.25 + 1.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn single_zone_and_single_voxel_are_finite() {
        for r in [roi([3, 3, 1], vec![4; 9]), roi([1, 1, 1], vec![2])] {
            let f = compute(&r, &all_dims());
            assert_eq!(f.len(), 48);
            for (tag, v) in &f {
                assert!(v.is_finite(), "{tag} = {v}");
            }
            assert_eq!(get(&f, "szm_glnu_norm_3D"), 1.0);
            assert_eq!(get(&f, "szm_gl_var_3D"), 0.0);
            assert_eq!(get(&f, "szm_zs_entr_3D"), 0.0);
        }
    }

    #[test]
    fn empty_roi_gives_nan() {
        let f = compute(&roi([2, 2, 1], vec![0; 4]), &all_dims());
        assert_eq!(f.len(), 48);
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }

    #[test]
    fn merge_sums_counts_and_voxels() {
        let a = CountMatrix::from_pairs(vec![(1, 2), (1, 2), (3, 1)], 5);
        let b = CountMatrix::from_pairs(vec![(1, 2), (2, 4)], 6);
        let m = CountMatrix::merge([&a, &b]);
        assert_eq!(m.cells, vec![((1, 2), 3), ((2, 4), 1), ((3, 1), 1)]);
        assert_eq!(m.n_voxels, 11);
        let d = CountMatrix::from_dense(&[0, 0, 0, 0, 0, 2, 1, 0, 0], 3, 3);
        assert_eq!(d.cells, vec![((1, 2), 2), ((2, 0), 1)]);
    }
}
