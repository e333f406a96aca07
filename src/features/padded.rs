//! Grey levels copied into a grid with a one-voxel border of zeros, so that
//! neighbour and run walks need no bounds checks: level 0 (outside the
//! intensity mask) already stops every walk, and the border is level 0.

/// Grey levels (0 outside the ROI) of an x-fastest block, padded by one voxel
/// of zeros on both sides of every axis in `pad`.
pub(crate) struct PaddedLevels {
    /// Padded grid, x-fastest.
    pub data: Vec<u32>,
    /// Padded size.
    pub dims: [usize; 3],
    /// Border width (0 or 1) per axis.
    border: [usize; 3],
}

impl PaddedLevels {
    /// Copy `levels` (size `dims`), padding the axes where `pad` is set.
    pub fn new(levels: &[u32], dims: [usize; 3], pad: [bool; 3]) -> Self {
        let border = pad.map(usize::from);
        let pdims: [usize; 3] = std::array::from_fn(|a| dims[a] + 2 * border[a]);
        let mut data = vec![0u32; pdims[0] * pdims[1] * pdims[2]];
        let [nx, ny, nz] = dims;
        for z in 0..nz {
            for y in 0..ny {
                let src = &levels[nx * (y + ny * z)..nx * (y + ny * z + 1)];
                let o = border[0] + pdims[0] * ((y + border[1]) + pdims[1] * (z + border[2]));
                data[o..o + nx].copy_from_slice(src);
            }
        }
        PaddedLevels {
            data,
            dims: pdims,
            border,
        }
    }

    /// Padded index of block voxel `(x, y, z)`.
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        let [bx, by, bz] = self.border;
        (x + bx) + self.dims[0] * ((y + by) + self.dims[1] * (z + bz))
    }

    /// Linear step of offset `d` in the padded grid.
    #[inline]
    pub fn step(&self, d: [isize; 3]) -> isize {
        d[0] + self.dims[0] as isize * (d[1] + self.dims[1] as isize * d[2])
    }

    /// Steps of the 13 directions of [`super::DIRECTIONS_3D`], in that order
    /// (all positive: each points to a voxel later in storage order).
    pub fn forward(&self) -> [isize; 13] {
        super::DIRECTIONS_3D.map(|d| self.step(d.map(|c| c as isize)))
    }

    /// Steps to all 26 neighbours (the forward ones, then their opposites).
    pub fn neighbours(&self) -> [isize; 26] {
        let f = self.forward();
        std::array::from_fn(|k| if k < 13 { f[k] } else { -f[k - 13] })
    }

    /// Calls `f(index, level)` for every voxel of level > 0, in storage order.
    #[inline]
    pub fn for_each_voxel(&self, mut f: impl FnMut(usize, u32)) {
        let [px, py, pz] = self.dims;
        let [bx, by, bz] = self.border;
        for z in bz..pz - bz {
            for y in by..py - by {
                let row = px * (y + py * z);
                for i in row + bx..row + px - bx {
                    let l = self.data[i];
                    if l > 0 {
                        f(i, l);
                    }
                }
            }
        }
    }

    /// The level `off` away from voxel `i` (inside the grid for a neighbour
    /// of a block voxel along a padded axis).
    #[inline]
    pub fn at(&self, i: usize, off: isize) -> u32 {
        self.data[i.wrapping_add_signed(off)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn border_is_zero_and_interior_is_copied() {
        let levels: Vec<u32> = (1..=12).collect();
        let p = PaddedLevels::new(&levels, [3, 2, 2], [true, true, false]);
        assert_eq!(p.dims, [5, 4, 2]);
        assert_eq!(p.data.iter().filter(|&&l| l > 0).count(), 12);
        for z in 0..2 {
            for y in 0..2 {
                for x in 0..3 {
                    assert_eq!(p.data[p.index(x, y, z)], levels[x + 3 * (y + 2 * z)]);
                }
            }
        }
        assert_eq!(p.data[p.index(0, 0, 0) - 1], 0);
        assert_eq!(p.step([1, -1, 1]), 1 - 5 + 20);
    }
}
