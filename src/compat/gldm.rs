//! PyRadiomics `gldm` class (IBSI NGLDM, `ngl_*`): for every ROI voxel of
//! level i, j is 1 plus the number of ROI neighbours (26-neighbourhood,
//! distance 1) whose level differs by at most α (`gldm_a`, default 0).
//! N_z is the number of ROI voxels. The IBSI neighbourhood iterator of
//! [`crate::features::glszm`] is reused.

use super::glszm::ZoneStats;
use super::pyradiomics::Crop;
use crate::features::glszm::{Block, Neighbourhood};
use std::collections::BTreeMap;

/// All 14 default GLDM features, alphabetical (`original_gldm_*`).
pub(crate) fn compute(crop: &Crop, alpha: u32) -> Vec<(&'static str, f64)> {
    let block = Block {
        levels: &crop.levels,
        morph: &crop.mask,
        dims: crop.dims,
        planar: false,
    };
    let hood = Neighbourhood::new(&block, 1);
    let [nx, ny, nz] = crop.dims;
    let mut cells: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let l = crop.levels[x + nx * (y + ny * z)];
                if l == 0 {
                    continue;
                }
                let mut dep = 1u32;
                hood.for_each(x, y, z, |n| {
                    let m = crop.levels[n];
                    if m > 0 && m.abs_diff(l) <= alpha {
                        dep += 1;
                    }
                });
                *cells.entry((l, dep)).or_default() += 1.0;
            }
        }
    }
    let s = ZoneStats::new(cells);
    let nz = s.n_z;
    vec![
        ("DependenceEntropy", s.entropy()),
        ("DependenceNonUniformity", s.size_non_uniformity()),
        (
            "DependenceNonUniformityNormalized",
            s.size_non_uniformity() / nz,
        ),
        ("DependenceVariance", s.size_variance()),
        ("GrayLevelNonUniformity", s.level_non_uniformity()),
        ("GrayLevelVariance", s.level_variance()),
        ("HighGrayLevelEmphasis", s.level_moment(|i| i * i)),
        ("LargeDependenceEmphasis", s.size_moment(|j| j * j)),
        (
            "LargeDependenceHighGrayLevelEmphasis",
            s.cell_moment(|i, j| i * i * j * j),
        ),
        (
            "LargeDependenceLowGrayLevelEmphasis",
            s.cell_moment(|i, j| j * j / (i * i)),
        ),
        ("LowGrayLevelEmphasis", s.level_moment(|i| 1.0 / (i * i))),
        ("SmallDependenceEmphasis", s.size_moment(|j| 1.0 / (j * j))),
        (
            "SmallDependenceHighGrayLevelEmphasis",
            s.cell_moment(|i, j| i * i / (j * j)),
        ),
        (
            "SmallDependenceLowGrayLevelEmphasis",
            s.cell_moment(|i, j| 1.0 / (i * i * j * j)),
        ),
    ]
}
