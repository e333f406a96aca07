//! PyRadiomics `glrlm` class: one run-length matrix per direction (13
//! volumetric directions), features per direction averaged with `nanmean`.
//!
//! A run is a maximal sequence of equal grey levels along a line; voxels
//! outside the ROI end runs. A direction in which no line holds more than one
//! ROI voxel is dropped (PyRadiomics treats the ROI as flat along it), as are
//! directions without runs. With P(i, j) the number of runs of level i and
//! length j, N_r = ΣP runs, N_p = Σ j P(i, j) voxels, p_g(i) = Σ_j P(i, j),
//! p_r(j) = Σ_i P(i, j); i are the grey levels themselves.

use super::pyradiomics::Crop;
use super::{entropy_term, nanmean};
use crate::features::padded::{Level, PaddedLevels};
use crate::features::DIRECTIONS_3D;

/// Run counts P(i, j) in a dense matrix: row = grey level, column = run length.
struct RunMatrix {
    lengths: usize,
    counts: Vec<u32>,
}

impl RunMatrix {
    fn new(levels: usize, lengths: usize) -> RunMatrix {
        RunMatrix {
            lengths,
            counts: vec![0; levels * lengths],
        }
    }

    #[inline]
    fn add(&mut self, level: u32, len: u32) {
        self.counts[level as usize * self.lengths + len as usize] += 1;
    }

    /// Non-zero entries as ((level, length), count), level-major ascending.
    fn entries(&self) -> impl Iterator<Item = ((u32, u32), u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(k, &c)| (((k / self.lengths) as u32, (k % self.lengths) as u32), c))
    }

    /// Whether some run is longer than one voxel.
    fn has_long_runs(&self) -> bool {
        self.counts
            .chunks_exact(self.lengths)
            .any(|row| row.iter().skip(2).any(|&c| c > 0))
    }
}

const NAMES: [&str; 16] = [
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "GrayLevelVariance",
    "HighGrayLevelRunEmphasis",
    "LongRunEmphasis",
    "LongRunHighGrayLevelEmphasis",
    "LongRunLowGrayLevelEmphasis",
    "LowGrayLevelRunEmphasis",
    "RunEntropy",
    "RunLengthNonUniformity",
    "RunLengthNonUniformityNormalized",
    "RunPercentage",
    "RunVariance",
    "ShortRunEmphasis",
    "ShortRunHighGrayLevelEmphasis",
    "ShortRunLowGrayLevelEmphasis",
];

/// Runs along `dir` as counts keyed by (level, length); `None` when no line
/// holds two ROI voxels.
fn runs<L: Level>(crop: &Crop, padded: &PaddedLevels<L>, dir: [i32; 3]) -> Option<RunMatrix> {
    let [nx, ny, nz] = crop.dims;
    let inside = |x: i64, y: i64, z: i64| {
        x >= 0 && y >= 0 && z >= 0 && x < nx as i64 && y < ny as i64 && z < nz as i64
    };
    let (dx, dy, dz) = (dir[0] as i64, dir[1] as i64, dir[2] as i64);
    let longest = nx.max(ny).max(nz);
    let mut counts = RunMatrix::new(crop.n_g() as usize + 1, longest + 1);
    let mut multi = false;
    for z in 0..nz as i64 {
        for y in 0..ny as i64 {
            for x in 0..nx as i64 {
                // Start a line only where the previous voxel is off the grid.
                if inside(x - dx, y - dy, z - dz) {
                    continue;
                }
                let (mut cx, mut cy, mut cz) = (x, y, z);
                let (mut level, mut len, mut elements) = (0u32, 0u32, 0u32);
                while inside(cx, cy, cz) {
                    let l: u32 =
                        padded.data[padded.index(cx as usize, cy as usize, cz as usize)].into();
                    if l > 0 {
                        elements += 1;
                    }
                    if l == level && l > 0 {
                        len += 1;
                    } else {
                        if level > 0 {
                            counts.add(level, len);
                        }
                        level = l;
                        len = u32::from(l > 0);
                    }
                    cx += dx;
                    cy += dy;
                    cz += dz;
                }
                if level > 0 {
                    counts.add(level, len);
                }
                multi |= elements > 1;
            }
        }
    }
    multi.then_some(counts)
}

fn features(counts: &RunMatrix) -> [f64; 16] {
    let nr: f64 = counts.entries().map(|(_, c)| c as f64).sum();
    // Marginals p_g(i), p_r(j); only their non-zero entries enter the sums,
    // in ascending order.
    let mut pg = vec![0.0f64; counts.counts.len() / counts.lengths];
    let mut pr = vec![0.0f64; counts.lengths];
    let (mut lglre, mut hglre, mut srlgle, mut srhgle, mut lrlgle, mut lrhgle, mut re) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for ((i, j), c) in counts.entries() {
        let (jf, c) = (j as f64, c as f64);
        pg[i as usize] += c;
        pr[j as usize] += c;
        let i = i as f64;
        let (i2, j2) = (i * i, jf * jf);
        lglre += c / i2;
        hglre += c * i2;
        srlgle += c / (i2 * j2);
        srhgle += c * i2 / j2;
        lrlgle += c * j2 / i2;
        lrhgle += c * j2 * i2;
        re += entropy_term(c / nr);
    }
    let present = |m: &[f64]| -> Vec<(f64, f64)> {
        m.iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(|(k, &c)| (k as f64, c))
            .collect()
    };
    let (pg, pr) = (present(&pg), present(&pr));
    let sre: f64 = pr.iter().map(|&(j, c)| c / j.powi(2)).sum();
    let lre: f64 = pr.iter().map(|&(j, c)| c * j.powi(2)).sum();
    let np: f64 = pr.iter().map(|&(j, c)| c * j).sum();
    let gln: f64 = pg.iter().map(|&(_, c)| c * c).sum();
    let rln: f64 = pr.iter().map(|&(_, c)| c * c).sum();
    let ui: f64 = pg.iter().map(|&(i, c)| c / nr * i).sum();
    let glv: f64 = pg.iter().map(|&(i, c)| c / nr * (i - ui).powi(2)).sum();
    let uj: f64 = pr.iter().map(|&(j, c)| c / nr * j).sum();
    let rv: f64 = pr.iter().map(|&(j, c)| c / nr * (j - uj).powi(2)).sum();
    [
        gln / nr,
        gln / (nr * nr),
        glv,
        hglre / nr,
        lre / nr,
        lrhgle / nr,
        lrlgle / nr,
        lglre / nr,
        re,
        rln / nr,
        rln / (nr * nr),
        nr / np,
        rv,
        sre / nr,
        srhgle / nr,
        srlgle / nr,
    ]
}

/// Run matrices of all 13 directions in one raster pass over the rows of the
/// padded levels.
///
/// Every direction's offset is positive, so the predecessor of a voxel along
/// it was visited before: the length of the run so far is that of the
/// predecessor plus one when the levels agree, else 1. Per direction, the
/// lengths of a row follow from those of the predecessor row (one row
/// earlier at most, or one plane and one row for directions leaving the
/// plane), kept in a ring of rows: contiguous slices, so the step is
/// vectorised; only the x direction is a scan along the row.
///
/// A run of length m has one voxel at each length-so-far 1..=m, so the
/// number of voxels of level i at length-so-far j counts the runs of level
/// i and length ≥ j: P(i, j) is that count minus the one at j + 1. Every
/// voxel thus adds 1 to one cell per direction, with no test for run ends.
/// A direction whose runs are all of length one is decided by the line scan
/// of [`runs`] (is it flat?).
fn all_runs<L: Level>(crop: &Crop, padded: &PaddedLevels<L>) -> Vec<Option<RunMatrix>> {
    let [nx, ny, nz] = crop.dims;
    let (levels, lengths) = (crop.n_g() as usize + 1, nx.max(ny).max(nz) + 1);
    // Counts at (level << shift | length so far): lengths below 2^shift.
    let shift = usize::BITS - (lengths - 1).leading_zeros();
    let reached: Vec<u32> = match levels << shift {
        0..=4096 => reached::<L, 4096, 4112>(crop, padded, shift),
        4097..=16384 => reached::<L, 16384, 16400>(crop, padded, shift),
        16385..=65536 => reached::<L, 65536, 65552>(crop, padded, shift),
        // Very many levels and long lines: the line scans.
        _ => {
            return DIRECTIONS_3D
                .iter()
                .map(|&d| runs(crop, padded, d))
                .collect()
        }
    };
    reached
        .chunks_exact(1 << shift)
        .collect::<Vec<_>>()
        .chunks_exact(levels)
        .zip(DIRECTIONS_3D)
        .map(|(rows, dir)| {
            // P(i, j) = reached(i, j) − reached(i, j + 1).
            // (No run has length 0: column 0 stays empty.)
            let mut counts = Vec::with_capacity(levels * lengths);
            for row in rows {
                let row = &row[..lengths];
                counts.push(0);
                counts.extend(row[1..].windows(2).map(|w| w[0] - w[1]));
                counts.push(row[lengths - 1]);
            }
            let m = RunMatrix { lengths, counts };
            if m.has_long_runs() {
                Some(m)
            } else {
                runs(crop, padded, dir)
            }
        })
        .collect()
}

/// The counts of [`all_runs`]: per direction, the voxels per level and
/// length so far, at `level << shift | length` of a table of `CAP` cells
/// (`levels << shift` ≤ `CAP`; level-major rows of 2^`shift` lengths), the
/// tables concatenated in direction order, each `levels << shift` long.
///
/// Masking the index with `CAP − 1` tells the compiler it is in bounds, so
/// the 13 increments per ROI voxel, which bound the loop, carry no bounds
/// check. The tables are `SIZE` = `CAP` + 16 cells apart while counting: at
/// multiples of 4 KiB, the increments of equal cells of different
/// directions would wait on each other (4K aliasing).
fn reached<L: Level, const CAP: usize, const SIZE: usize>(
    crop: &Crop,
    padded: &PaddedLevels<L>,
    shift: u32,
) -> Vec<u32> {
    debug_assert!(SIZE == CAP + 16 && (crop.n_g() as usize + 1) << shift <= CAP);
    let forward = padded.forward();
    let [px, py, _] = padded.dims;
    // Rows back to the predecessor row, per direction: dy + py · dz.
    let lag: [usize; 13] = DIRECTIONS_3D.map(|d| (d[1] + py as i32 * d[2]) as usize);
    let ring_rows = py + 2;
    // Run lengths along direction k of the last rows at ring[k · stride..],
    // row r in slot r % ring_rows, indexed by padded x. Border voxels are
    // level 0: their lengths are never continued. Lengths are below
    // 2^shift ≤ 2^16.
    let stride = ring_rows * px;
    let mut ring = vec![0u16; 13 * stride];
    let mut tables: Box<[[u32; SIZE]; 13]> = vec![[0u32; SIZE]; 13]
        .into_boxed_slice()
        .try_into()
        .expect("13 directions");
    let data = &padded.data;
    // Only the span of each row holding its ROI voxels: the lengths of the
    // others are never continued (a run continues from an ROI voxel) nor
    // counted, so they may stay stale.
    for (row_start, &(first, end)) in padded.rows().zip(crop.row_spans.iter()) {
        if first == end {
            continue;
        }
        let (start, nx) = (row_start + first, end - first);
        let row = &data[start..start + nx];
        // Padded row number; block x = 0 is padded column 1; the span
        // starts `first` further.
        let r = row_start / px;
        let here = (r % ring_rows) * px + first;
        for k in 0..13 {
            let lens = &mut ring[k * stride..(k + 1) * stride];
            if lag[k] == 0 {
                // Along x: the predecessor is the previous voxel of the
                // row; the length is counted from the last run start s.
                // (The voxel before the span is outside the ROI.)
                let out = &mut lens[here + 1..here + 1 + nx];
                let mut s = 0u16;
                let pairs = row.iter().zip(&data[start - 1..]);
                for (x, (o, (&l, &p))) in out.iter_mut().zip(pairs).enumerate() {
                    let x = x as u16;
                    if l != p || l == L::default() {
                        s = x;
                    }
                    *o = x - s + 1;
                }
                continue;
            }
            let back = ((r - lag[k]) % ring_rows) * px + first;
            let dx = DIRECTIONS_3D[k][0] as isize;
            // Predecessor levels and lengths, aligned with the row.
            let prev = &data[start.wrapping_add_signed(-forward[k])..][..nx];
            let (before, after) = lens.split_at_mut(here.max(back));
            let (out, prev_len) = if here > back {
                (&mut after[1..1 + nx], &before[back..back + nx + 2])
            } else {
                (&mut before[here + 1..here + 1 + nx], &after[..nx + 2])
            };
            let prev_len = &prev_len[(1 - dx) as usize..][..nx];
            for (((o, &l), &p), &pl) in out.iter_mut().zip(row).zip(prev).zip(prev_len) {
                *o = if l == p && l != L::default() {
                    pl + 1
                } else {
                    1
                };
            }
        }
        // This row's lengths of every direction; each ROI voxel counts its
        // 13 in turn (different tables: no increment waits on the last).
        let lens: [&[u16]; 13] = std::array::from_fn(|k| &ring[k * stride + here + 1..][..nx]);
        for (x, &l) in row.iter().enumerate() {
            if l == L::default() {
                continue;
            }
            let base = (l.into() as usize) << shift;
            for (t, lens) in tables.iter_mut().zip(&lens) {
                t[(base | lens[x] as usize) & (CAP - 1)] += 1;
            }
        }
    }
    let used = (crop.n_g() as usize + 1) << shift;
    tables.iter().flat_map(|t| &t[..used]).copied().collect()
}

/// All GLRLM features (`original_glrlm_*` without the prefix).
pub(crate) fn compute<L: Level>(crop: &Crop, padded: &PaddedLevels<L>) -> Vec<(&'static str, f64)> {
    let per_dir: Vec<[f64; 16]> = all_runs(crop, padded)
        .into_iter()
        .flatten()
        .filter(|c| c.entries().next().is_some())
        .map(|c| features(&c))
        .collect();
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

    /// The raster counts (every table size and the line-scan fallback)
    /// against the line scans, direction by direction.
    #[test]
    fn raster_counts_match_the_line_scans() {
        for (dims, top) in [
            ([13, 9, 6], 5u32),
            ([40, 7, 5], 100),
            ([9, 70, 4], 200),
            ([5, 6, 130], 600),
        ] {
            let n = dims[0] * dims[1] * dims[2];
            let levels: Vec<u32> = (0..n as u64)
                .map(|i| {
                    let h = (i.wrapping_mul(2_654_435_761) >> 9) as u32;
                    // Outside voxels, and long runs along x.
                    match i % 13 {
                        0 => 0,
                        1..=6 => top,
                        _ => h % top + 1,
                    }
                })
                .collect();
            let padded = PaddedLevels::<u16>::new(&levels, dims, [true; 3]);
            let crop = Crop {
                dims,
                spacing: [1.0; 3],
                shape_mask: Vec::new().into(),
                roi_values: Vec::new(),
                value_range: (0.0, 0.0),
                level_counts: Vec::new(),
                grey_levels: (1..=top).collect(),
                row_spans: Crop::spans_of(&padded),
            };
            let fast = all_runs(&crop, &padded);
            for (k, dir) in DIRECTIONS_3D.into_iter().enumerate() {
                let slow = runs(&crop, &padded, dir);
                let counts =
                    |m: &Option<RunMatrix>| m.as_ref().map(|m| m.entries().collect::<Vec<_>>());
                assert_eq!(counts(&fast[k]), counts(&slow), "{dims:?}, direction {k}");
            }
        }
    }
}
