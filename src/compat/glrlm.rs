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
    let forward = padded.forward();
    let [nx, ny, nz] = crop.dims;
    let (levels, lengths) = (crop.n_g() as usize + 1, nx.max(ny).max(nz) + 1);
    if lengths > u16::MAX as usize {
        // Run lengths would overflow the u16 rows.
        return DIRECTIONS_3D
            .iter()
            .map(|&d| runs(crop, padded, d))
            .collect();
    }
    let [px, py, _] = padded.dims;
    // Rows back to the predecessor row, per direction: dy + py · dz.
    let lag: [usize; 13] = DIRECTIONS_3D.map(|d| (d[1] + py as i32 * d[2]) as usize);
    let ring_rows = py + 2;
    // Run lengths along direction k of the last rows at ring[k · stride..],
    // row r in slot r % ring_rows, indexed by padded x. Border voxels are
    // level 0: their lengths are never continued.
    let stride = ring_rows * px;
    let mut ring = vec![0u16; 13 * stride];
    // reached[k]: voxels per (level, length so far), level-major.
    let cells = levels * lengths;
    let mut reached = vec![0u32; forward.len() * cells];
    let data = &padded.data;
    for start in padded.rows() {
        let row = &data[start..start + nx];
        // Padded row number; block x = 0 is padded column 1.
        let r = start / px;
        for k in 0..13 {
            let lens = &mut ring[k * stride..(k + 1) * stride];
            let here = (r % ring_rows) * px;
            if lag[k] == 0 {
                // Along x: the predecessor is the previous voxel of the row.
                let out = &mut lens[here..here + px];
                let mut run = 0u16;
                for (o, (&l, &p)) in out[1..].iter_mut().zip(row.iter().zip(&data[start - 1..])) {
                    run = if l == p && l != L::default() {
                        run + 1
                    } else {
                        1
                    };
                    *o = run;
                }
                continue;
            }
            let back = ((r - lag[k]) % ring_rows) * px;
            let dx = DIRECTIONS_3D[k][0] as isize;
            // Predecessor levels and lengths, aligned with the row.
            let prev = &data[start.wrapping_add_signed(-forward[k])..][..nx];
            let (before, after) = lens.split_at_mut(here.max(back));
            let (out, prev_len) = if here > back {
                (&mut after[1..1 + nx], &before[back..back + px])
            } else {
                (&mut before[here + 1..here + 1 + nx], &after[..px])
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
        // 13 in turn (different matrices: no increment waits on the last).
        let here: [usize; 13] = std::array::from_fn(|k| k * stride + (r % ring_rows) * px + 1);
        for (x, &l) in row.iter().enumerate() {
            if l == L::default() {
                continue;
            }
            let base = l.into() as usize * lengths;
            for (k, &h) in here.iter().enumerate() {
                reached[k * cells + base + ring[h + x] as usize] += 1;
            }
        }
    }
    reached
        .chunks_exact(cells)
        .zip(DIRECTIONS_3D)
        .map(|(c, dir)| {
            // P(i, j) = reached(i, j) − reached(i, j + 1).
            let mut counts = c.to_vec();
            for row in counts.chunks_exact_mut(lengths) {
                for j in 1..lengths - 1 {
                    row[j] -= row[j + 1];
                }
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
