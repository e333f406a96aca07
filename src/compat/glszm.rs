//! PyRadiomics `glszm` class: one size-zone matrix over the volume, zones
//! linked by 26-connectivity. With P(i, j) the number of zones of
//! level i and size j, N_z = ΣP zones, N_p = Σ j P(i, j) voxels.

use super::entropy_term;
use crate::features::padded::{Level, PaddedLevels};
use std::collections::BTreeMap;

/// Counts per (level, size) → the 16 features (shared with [`super::gldm`],
/// whose matrix has the same form with dependence counts for sizes).
pub(crate) struct ZoneStats {
    pub n_z: f64,
    pub n_p: f64,
    pub pg: BTreeMap<u32, f64>,
    pub ps: BTreeMap<u32, f64>,
    pub cells: BTreeMap<(u32, u32), f64>,
}

impl ZoneStats {
    pub fn new(cells: BTreeMap<(u32, u32), f64>) -> Self {
        let mut pg = BTreeMap::new();
        let mut ps = BTreeMap::new();
        for (&(i, j), &c) in &cells {
            *pg.entry(i).or_default() += c;
            *ps.entry(j).or_default() += c;
        }
        let n_z: f64 = cells.values().sum();
        let n_p: f64 = ps.iter().map(|(&j, &c)| j as f64 * c).sum();
        // PyRadiomics replaces a zero N_z / N_p by 1.
        ZoneStats {
            n_z: if n_z == 0.0 { 1.0 } else { n_z },
            n_p: if n_p == 0.0 { 1.0 } else { n_p },
            pg,
            ps,
            cells,
        }
    }

    /// Σ_j p_s(j) w(j) / N_z
    pub fn size_moment(&self, w: impl Fn(f64) -> f64) -> f64 {
        self.ps.iter().map(|(&j, &c)| c * w(j as f64)).sum::<f64>() / self.n_z
    }

    /// Σ_i p_g(i) w(i) / N_z
    pub fn level_moment(&self, w: impl Fn(f64) -> f64) -> f64 {
        self.pg.iter().map(|(&i, &c)| c * w(i as f64)).sum::<f64>() / self.n_z
    }

    /// Σ_ij P(i, j) w(i, j) / N_z
    pub fn cell_moment(&self, w: impl Fn(f64, f64) -> f64) -> f64 {
        self.cells
            .iter()
            .map(|(&(i, j), &c)| c * w(i as f64, j as f64))
            .sum::<f64>()
            / self.n_z
    }

    pub fn level_variance(&self) -> f64 {
        let u = self.level_moment(|i| i);
        self.level_moment(|i| (i - u) * (i - u))
    }

    pub fn size_variance(&self) -> f64 {
        let u = self.size_moment(|j| j);
        self.size_moment(|j| (j - u) * (j - u))
    }

    pub fn entropy(&self) -> f64 {
        self.cells
            .values()
            .map(|&c| entropy_term(c / self.n_z))
            .sum()
    }

    pub fn level_non_uniformity(&self) -> f64 {
        self.pg.values().map(|c| c * c).sum::<f64>() / self.n_z
    }

    pub fn size_non_uniformity(&self) -> f64 {
        self.ps.values().map(|c| c * c).sum::<f64>() / self.n_z
    }
}

/// Number of zones per (level, size). Zones are the 26-connected components
/// of equal level, found with union–find in one raster pass: each voxel is
/// joined to its 13 already-visited neighbours of the same level (the
/// negated [`PaddedLevels::forward`] offsets), then sizes are counted per root.
fn zones<L: Level>(padded: &PaddedLevels<L>) -> BTreeMap<(u32, u32), u64> {
    let back = padded.forward().map(|o| -o);
    // parent[v] for ROI voxels; u32::MAX elsewhere.
    let mut parent: Vec<u32> = vec![u32::MAX; padded.data.len()];
    fn find(parent: &mut [u32], mut v: u32) -> u32 {
        while parent[v as usize] != v {
            let up = parent[parent[v as usize] as usize];
            parent[v as usize] = up; // path halving
            v = up;
        }
        v
    }
    padded.for_each_voxel(|v, level| {
        // `root` is v's root so far: v itself until joined to a neighbour's zone.
        let mut root = v as u32;
        parent[v] = root;
        for &off in &back {
            let n = v.wrapping_add_signed(off);
            if padded.data[n] == level {
                let other = find(&mut parent, n as u32);
                if other != root {
                    // The smaller index becomes the root: deterministic.
                    let (lo, hi) = if other < root {
                        (other, root)
                    } else {
                        (root, other)
                    };
                    parent[hi as usize] = lo;
                    root = lo;
                }
            }
        }
    });
    // Zone sizes, counted at the roots.
    let mut size: Vec<u32> = vec![0; padded.data.len()];
    let mut roots: Vec<u32> = Vec::new();
    padded.for_each_voxel(|v, _| {
        let r = find(&mut parent, v as u32);
        if size[r as usize] == 0 {
            roots.push(r);
        }
        size[r as usize] += 1;
    });
    let mut out: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for r in roots {
        *out.entry((padded.data[r as usize].into(), size[r as usize]))
            .or_default() += 1;
    }
    out
}

/// All GLSZM features, alphabetical (`original_glszm_*` without the prefix).
pub(crate) fn compute<L: Level>(padded: &PaddedLevels<L>) -> Vec<(&'static str, f64)> {
    let cells: BTreeMap<(u32, u32), f64> = zones(padded)
        .into_iter()
        .map(|(k, c)| (k, c as f64))
        .collect();
    let s = ZoneStats::new(cells);
    let nz = s.n_z;
    vec![
        ("GrayLevelNonUniformity", s.level_non_uniformity()),
        (
            "GrayLevelNonUniformityNormalized",
            s.level_non_uniformity() / nz,
        ),
        ("GrayLevelVariance", s.level_variance()),
        ("HighGrayLevelZoneEmphasis", s.level_moment(|i| i * i)),
        ("LargeAreaEmphasis", s.size_moment(|j| j * j)),
        (
            "LargeAreaHighGrayLevelEmphasis",
            s.cell_moment(|i, j| i * i * j * j),
        ),
        (
            "LargeAreaLowGrayLevelEmphasis",
            s.cell_moment(|i, j| j * j / (i * i)),
        ),
        (
            "LowGrayLevelZoneEmphasis",
            s.level_moment(|i| 1.0 / (i * i)),
        ),
        ("SizeZoneNonUniformity", s.size_non_uniformity()),
        (
            "SizeZoneNonUniformityNormalized",
            s.size_non_uniformity() / nz,
        ),
        ("SmallAreaEmphasis", s.size_moment(|j| 1.0 / (j * j))),
        (
            "SmallAreaHighGrayLevelEmphasis",
            s.cell_moment(|i, j| i * i / (j * j)),
        ),
        (
            "SmallAreaLowGrayLevelEmphasis",
            s.cell_moment(|i, j| 1.0 / (i * i * j * j)),
        ),
        ("ZoneEntropy", s.entropy()),
        ("ZonePercentage", nz / s.n_p),
        ("ZoneVariance", s.size_variance()),
    ]
}
