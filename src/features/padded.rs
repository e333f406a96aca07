//! Grey levels copied into a grid with a one-voxel border of zeros, so that
//! neighbour and run walks need no bounds checks: level 0 (outside the
//! intensity mask) already stops every walk, and the border is level 0.
//!
//! The grid is generic over the level type: the IBSI families keep `u32`; the
//! PyRadiomics compatibility mode stores `u8` or `u16` (its levels never
//! exceed [`crate::preprocess::discretise::MAX_GREY_LEVELS`]), which halves or quarters the
//! memory its neighbourhood passes stream through.

/// An unsigned integer type holding grey levels (0 = outside the ROI).
pub(crate) trait Level:
    Copy + Eq + Ord + Default + Into<u32> + Send + Sync + 'static
{
    /// `l` converted; callers pick a type wide enough for their highest level.
    fn from_u32(l: u32) -> Self;
}

macro_rules! level {
    ($($t:ty),*) => {$(
        impl Level for $t {
            #[inline]
            fn from_u32(l: u32) -> Self {
                debug_assert!(<$t>::try_from(l).is_ok(), "level {l} overflows");
                l as $t
            }
        }
    )*};
}
level!(u8, u16, u32);

/// Grey levels (0 outside the ROI) of an x-fastest block, padded by one voxel
/// of zeros on both sides of every axis in `pad`.
pub(crate) struct PaddedLevels<L = u32> {
    /// Padded grid, x-fastest.
    pub data: Vec<L>,
    /// Padded size.
    pub dims: [usize; 3],
    /// Border width (0 or 1) per axis.
    border: [usize; 3],
}

impl<L: Level> PaddedLevels<L> {
    /// An all-zero grid for a block of size `dims`, padded along the axes
    /// where `pad` is set; fill it with [`Self::row_mut`].
    pub fn zeros(dims: [usize; 3], pad: [bool; 3]) -> Self {
        let border = pad.map(usize::from);
        let pdims: [usize; 3] = std::array::from_fn(|a| dims[a] + 2 * border[a]);
        PaddedLevels {
            data: vec![L::default(); pdims[0] * pdims[1] * pdims[2]],
            dims: pdims,
            border,
        }
    }

    /// Copy `levels` (size `dims`), padding the axes where `pad` is set.
    pub fn new(levels: &[u32], dims: [usize; 3], pad: [bool; 3]) -> Self {
        let mut p = Self::zeros(dims, pad);
        let [nx, ny, nz] = dims;
        for z in 0..nz {
            for y in 0..ny {
                let src = &levels[nx * (y + ny * z)..nx * (y + ny * z + 1)];
                for (d, &s) in p.row_mut(y, z).iter_mut().zip(src) {
                    *d = L::from_u32(s);
                }
            }
        }
        p
    }

    /// The block voxels of row `(y, z)` (block coordinates), border excluded.
    #[inline]
    pub fn row_mut(&mut self, y: usize, z: usize) -> &mut [L] {
        let o = self.index(0, y, z);
        let n = self.dims[0] - 2 * self.border[0];
        &mut self.data[o..o + n]
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
    pub fn for_each_voxel(&self, mut f: impl FnMut(usize, L)) {
        let [px, py, pz] = self.dims;
        let [bx, by, bz] = self.border;
        let zero = L::default();
        for z in bz..pz - bz {
            for y in by..py - by {
                let row = px * (y + py * z);
                for i in row + bx..row + px - bx {
                    let l = self.data[i];
                    if l != zero {
                        f(i, l);
                    }
                }
            }
        }
    }

    /// Padded index of the first block voxel of every block row, in storage
    /// order; each row holds `dims[0] - 2 · border` block voxels. On a grid
    /// padded along every axis, the row shifted by any neighbour offset
    /// (`start + off`, same length) lies inside the grid: neighbourhood
    /// passes can work on whole rows.
    pub fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        let [_, py, pz] = self.dims;
        let [_, by, bz] = self.border;
        (bz..pz - bz).flat_map(move |z| (by..py - by).map(move |y| self.index(0, y - by, z - bz)))
    }

    /// The level `off` away from voxel `i` (inside the grid for a neighbour
    /// of a block voxel along a padded axis).
    #[inline]
    pub fn at(&self, i: usize, off: isize) -> L {
        self.data[i.wrapping_add_signed(off)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn border_is_zero_and_interior_is_copied() {
        let levels: Vec<u32> = (1..=12).collect();
        let p = PaddedLevels::<u32>::new(&levels, [3, 2, 2], [true, true, false]);
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
        let q = PaddedLevels::<u8>::new(&levels, [3, 2, 2], [true; 3]);
        assert_eq!(q.data[q.index(2, 1, 1)], 12);
        assert_eq!(q.data.iter().map(|&l| l as u32).sum::<u32>(), 78);
    }
}
