//! PyRadiomics `gldm` class (IBSI NGLDM, `ngl_*`): for every ROI voxel of
//! level i, j is 1 plus the number of ROI neighbours (26-neighbourhood,
//! distance 1) whose level differs by at most α (`gldm_a`, default 0).
//! N_z is the number of ROI voxels.

use super::glszm::ZoneStats;
use super::pyradiomics::Crop;
use crate::features::padded::{Level, PaddedLevels};
use std::collections::BTreeMap;

/// All 14 default GLDM features, alphabetical (`original_gldm_*`).
pub(crate) fn compute<L: Level>(
    crop: &Crop,
    padded: &PaddedLevels<L>,
    alpha: u32,
) -> Vec<(&'static str, f64)> {
    let hood = padded.neighbours();
    // Dense counts: row = level, column = dependence (1..=27), in two
    // copies for the even and odd voxels of a row: neighbours often share
    // both, and an increment of the cell just incremented would wait for
    // it. Row 0 takes the voxels outside the ROI (then dropped), so that
    // whole rows are counted unbranched.
    let mut counts = vec![[[0u32; 32]; 2]; crop.n_g() as usize + 1];
    let data = &padded.data;
    let width = crop.dims[0];
    // Dependence of every voxel of a row, one neighbour offset at a time
    // (the inner loops run over contiguous rows: vectorised).
    let mut dep = vec![0u8; width];
    // Only the span of each row holding its ROI voxels.
    for (start, &(first, end)) in padded.rows().zip(crop.row_spans.iter()) {
        let (start, len) = (start + first, end - first);
        let row = &data[start..start + len];
        let dep = &mut dep[..len];
        dep.fill(1);
        for &off in &hood {
            let nb = &data[start.wrapping_add_signed(off)..][..len];
            if alpha == 0 {
                // Equal levels; a voxel outside the ROI is never counted.
                for ((d, &l), &m) in dep.iter_mut().zip(row).zip(nb) {
                    *d += u8::from(m == l);
                }
            } else {
                for ((d, &l), &m) in dep.iter_mut().zip(row).zip(nb) {
                    let (l, m): (u32, u32) = (l.into(), m.into());
                    *d += u8::from(m > 0 && m.abs_diff(l) <= alpha);
                }
            }
        }
        for (x, (&l, &d)) in row.iter().zip(&*dep).enumerate() {
            counts[l.into() as usize][x & 1][d as usize & 31] += 1;
        }
    }
    let cells: BTreeMap<(u32, u32), f64> = counts
        .iter()
        .enumerate()
        .skip(1)
        .flat_map(|(l, [even, odd])| {
            let cells = even.iter().zip(odd).enumerate();
            cells
                .filter(|(_, (&e, &o))| e + o > 0)
                .map(move |(d, (&e, &o))| ((l as u32, d as u32), f64::from(e + o)))
        })
        .collect();
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
