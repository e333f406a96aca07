//! PyRadiomics `glszm` class: one size-zone matrix over the volume, zones
//! linked by 26-connectivity. With P(i, j) the number of zones of
//! level i and size j, N_z = ΣP zones, N_p = Σ j P(i, j) voxels.

use super::entropy_term;
use crate::features::padded::{Level, PaddedLevels};
use crate::features::DIRECTIONS_3D;
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

/// Bit k of `ADJACENT[j]` is set when the earlier neighbours `-d_j` and
/// `-d_k` (with `d` the [`DIRECTIONS_3D`] offsets) touch each other
/// (26-connectivity).
const ADJACENT: [u16; 13] = {
    let mut adj = [0u16; 13];
    let mut j = 0;
    while j < 13 {
        let mut k = 0;
        while k < 13 {
            let (a, b) = (DIRECTIONS_3D[j], DIRECTIONS_3D[k]);
            let touch =
                (a[0] - b[0]).abs() <= 1 && (a[1] - b[1]).abs() <= 1 && (a[2] - b[2]).abs() <= 1;
            if j != k && touch {
                adj[j] |= 1 << k;
            }
            k += 1;
        }
        j += 1;
    }
    adj
};

/// For every set of earlier neighbours sharing a voxel's level (bit k for
/// `-d_k`), one neighbour per group of them that touch each other, directly
/// or through others in the set. Two such neighbours that touch were already
/// joined when the later of them was visited, so a voxel only needs to join
/// one neighbour per group.
const REPRESENTATIVES: [u16; 1 << 13] = {
    let mut reps = [0u16; 1 << 13];
    let mut set = 0;
    while set < 1 << 13 {
        let mut rest = set as u16;
        while rest != 0 {
            let first = rest & rest.wrapping_neg();
            reps[set] |= first;
            // Grow the group of `first` within the set.
            let mut group = first;
            loop {
                let mut grown = group;
                let mut k = 0;
                while k < 13 {
                    if group & (1 << k) != 0 {
                        grown |= ADJACENT[k] & set as u16;
                    }
                    k += 1;
                }
                if grown == group {
                    break;
                }
                group = grown;
            }
            rest &= !group;
        }
        set += 1;
    }
    reps
};

/// Zone counts per (level, size), ascending. Zones are the 26-connected
/// components of equal level, found in one raster pass with union–find over
/// provisional labels: a voxel takes the label of its already-visited
/// neighbours of the same level (the negated [`PaddedLevels::forward`]
/// offsets; one per group of touching ones, see [`REPRESENTATIVES`]),
/// joining their zones if they differ, or starts a new label. Labels of the
/// last plane live in a ring buffer; zone sizes are kept at the roots.
fn zones<L: Level>(padded: &PaddedLevels<L>) -> Vec<((u32, u32), u64)> {
    let back = padded.forward().map(|o| -o);
    let window = padded
        .forward()
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .unsigned_abs()
        + 1;
    let mask = window.next_power_of_two() - 1;
    let mut ring: Vec<u32> = vec![0; mask + 1];
    // Per provisional label: parent, voxel count (valid at roots), level.
    let mut parent: Vec<u32> = Vec::new();
    let mut size: Vec<u32> = Vec::new();
    let mut level_of: Vec<L> = Vec::new();
    fn find(parent: &mut [u32], mut v: u32) -> u32 {
        while parent[v as usize] != v {
            let up = parent[parent[v as usize] as usize];
            parent[v as usize] = up; // path halving
            v = up;
        }
        v
    }
    let data = &padded.data;
    let width = padded.dims[0] - 2;
    // Per voxel of a row, bit k set when the earlier neighbour -d_k has the
    // voxel's level: one offset at a time over contiguous rows (vectorised).
    // (Bits 0..8 and 8..13 in two byte arrays: byte lanes, twice as many
    // per vector, and the bit is a mask rather than a shift.)
    let (mut same_lo, mut same_hi) = (vec![0u8; width], vec![0u8; width]);
    for start in padded.rows() {
        let row = &data[start..start + width];
        same_lo.fill(0);
        same_hi.fill(0);
        for (k, &off) in back.iter().enumerate() {
            let earlier = &data[start.wrapping_add_signed(off)..][..width];
            let (same, bit) = if k < 8 {
                (&mut same_lo, 1u8 << k)
            } else {
                (&mut same_hi, 1u8 << (k - 8))
            };
            for ((s, &l), &e) in same.iter_mut().zip(row).zip(earlier) {
                *s |= if l == e { bit } else { 0 };
            }
        }
        let same = same_lo.iter().zip(&same_hi);
        for (x, (&level, (&lo, &hi))) in row.iter().zip(same).enumerate() {
            if level == L::default() {
                continue;
            }
            let same = u16::from(lo) | u16::from(hi) << 8;
            let v = start + x;
            let mut reps = REPRESENTATIVES[same as usize];
            let root = if reps == 0 {
                let label = parent.len() as u32;
                parent.push(label);
                size.push(0);
                level_of.push(level);
                label
            } else {
                let k = reps.trailing_zeros() as usize;
                let mut root = find(&mut parent, ring[v.wrapping_add_signed(back[k]) & mask]);
                reps &= reps - 1;
                while reps != 0 {
                    let k = reps.trailing_zeros() as usize;
                    reps &= reps - 1;
                    let other = find(&mut parent, ring[v.wrapping_add_signed(back[k]) & mask]);
                    if other != root {
                        // The smaller label becomes the root.
                        let (lo, hi) = (root.min(other), root.max(other));
                        parent[hi as usize] = lo;
                        size[lo as usize] += size[hi as usize];
                        root = lo;
                    }
                }
                root
            };
            size[root as usize] += 1;
            ring[v & mask] = root;
        }
    }
    // (level, size) of every zone, counted: small sizes in a dense table,
    // the rare large ones sorted.
    const SMALL: usize = 64;
    let levels = level_of
        .iter()
        .map(|&l| l.into() as usize + 1)
        .max()
        .unwrap_or(0);
    let mut dense = vec![0u64; levels * SMALL];
    let mut large: Vec<(u32, u32)> = Vec::new();
    for (label, &p) in parent.iter().enumerate() {
        if p == label as u32 {
            let (l, n) = (level_of[label].into(), size[label]);
            if (n as usize) < SMALL {
                dense[l as usize * SMALL + n as usize] += 1;
            } else {
                large.push((l, n));
            }
        }
    }
    large.sort_unstable();
    let mut large = large.into_iter().peekable();
    let mut out: Vec<((u32, u32), u64)> = Vec::new();
    for (l, row) in dense.chunks_exact(SMALL).enumerate() {
        let l = l as u32;
        for (n, &c) in row.iter().enumerate().filter(|(_, &c)| c > 0) {
            out.push(((l, n as u32), c));
        }
        while let Some(z) = large.next_if(|&(zl, _)| zl == l) {
            match out.last_mut() {
                Some((k, c)) if *k == z => *c += 1,
                _ => out.push((z, 1)),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::glszm::{for_each_zone, Block};

    #[test]
    fn zones_match_a_flood_fill() {
        let dims = [9, 7, 6];
        let n = dims[0] * dims[1] * dims[2];
        // Pseudo-random levels 0..=3 (0 outside the ROI), with some smooth
        // regions so that zones grow large and merge late.
        let levels: Vec<u32> = (0..n)
            .map(|i| {
                let h = (i as u64 * 2_654_435_761) >> 7;
                if i % 11 < 4 {
                    2
                } else {
                    (h % 4) as u32
                }
            })
            .collect();
        let morph: Vec<bool> = levels.iter().map(|&l| l > 0).collect();
        let block = Block {
            levels: &levels,
            morph: &morph,
            dims,
            planar: false,
        };
        let mut expected: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for_each_zone(&block, |level, voxels| {
            *expected.entry((level, voxels.len() as u32)).or_default() += 1;
        });
        let padded = PaddedLevels::<u8>::new(&levels, dims, [true; 3]);
        let got: Vec<((u32, u32), u64)> = zones(&padded);
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn representatives_pick_one_neighbour_per_touching_group() {
        // -d_0 = (-1, 0, 0) and -d_1 = (-1, -1, 0) touch; -d_0 and
        // -d_3 = (1, -1, 0) do not.
        assert_eq!(REPRESENTATIVES[0b11], 0b1);
        assert_eq!(REPRESENTATIVES[0b1001], 0b1001);
        // All thirteen: one group.
        assert_eq!(REPRESENTATIVES[(1 << 13) - 1].count_ones(), 1);
    }
}
