//! The crop's grey levels with a one-voxel border of zeros, so that every
//! neighbour of an ROI voxel is a fixed index offset away: the texture
//! classes walk it without bounds checks or coordinate arithmetic.

use super::pyradiomics::Crop;
use crate::features::DIRECTIONS_3D;

pub(crate) struct PaddedLevels {
    /// Levels (0 = outside the ROI or the crop), x fastest. `u16` (levels
    /// are capped at [`crate::pipeline::MAX_GREY_LEVELS`]) keeps the block
    /// small enough for the caches along the strided directions.
    pub data: Vec<u16>,
    /// Padded size (x, y, z).
    pub dims: [usize; 3],
}

impl PaddedLevels {
    pub fn new(crop: &Crop) -> PaddedLevels {
        let [nx, ny, nz] = crop.dims;
        let dims = [nx + 2, ny + 2, nz + 2];
        let mut data = vec![0u16; dims[0] * dims[1] * dims[2]];
        for z in 0..nz {
            for y in 0..ny {
                let src = nx * (y + ny * z);
                let dst = 1 + dims[0] * ((y + 1) + dims[1] * (z + 1));
                for (d, &l) in data[dst..dst + nx]
                    .iter_mut()
                    .zip(&crop.levels[src..src + nx])
                {
                    *d = l as u16;
                }
            }
        }
        PaddedLevels { data, dims }
    }

    /// Index offset of a step along `dir` (x, y, z).
    pub fn offset(&self, dir: [i32; 3]) -> isize {
        let [px, py, _] = self.dims;
        dir[0] as isize + px as isize * (dir[1] as isize + py as isize * dir[2] as isize)
    }

    /// Offsets of the 13 directions of [`DIRECTIONS_3D`], in that order.
    pub fn forward(&self) -> [isize; 13] {
        DIRECTIONS_3D.map(|d| self.offset(d))
    }

    /// Offsets of all 26 neighbours.
    pub fn neighbours(&self) -> [isize; 26] {
        let f = self.forward();
        std::array::from_fn(|k| if k < 13 { f[k] } else { -f[k - 13] })
    }

    /// Calls `f(index, level)` for every ROI voxel, in storage (z, y, x) order.
    #[inline]
    pub fn for_each_voxel(&self, mut f: impl FnMut(usize, u32)) {
        let [px, py, pz] = self.dims;
        for z in 1..pz - 1 {
            for y in 1..py - 1 {
                let row = px * (y + py * z);
                for i in row + 1..row + px - 1 {
                    let l = self.data[i];
                    if l > 0 {
                        f(i, u32::from(l));
                    }
                }
            }
        }
    }

    /// The level `off` away from `i` (the border guarantees it exists for
    /// neighbours of interior voxels).
    #[inline]
    pub fn at(&self, i: usize, off: isize) -> u32 {
        u32::from(self.data[i.wrapping_add_signed(off)])
    }
}
