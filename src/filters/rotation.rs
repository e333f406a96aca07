//! Right-angle rotations of separable kernels, for pseudo-rotation invariance.
//!
//! A rotation by multiples of 90° maps the grid axes onto each other, possibly
//! reversing them: axis `a` of the rotated kernel is axis `perm[a]` of the
//! original, read backwards when `flip[a]`. 3D has the 24 proper rotations of
//! the cube; 2D the 4 rotations in the axial plane.

use super::FilterDims;

/// One right-angle rotation as a signed axis permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub perm: [usize; 3],
    pub flip: [bool; 3],
}

impl Rotation {
    /// The identity.
    pub const IDENTITY: Rotation = Rotation {
        perm: [0, 1, 2],
        flip: [false, false, false],
    };

    /// The 1D kernels of a separable kernel `k[0] ⊗ k[1] ⊗ k[2]` after this
    /// rotation, with the centre index of each (`centre[a]` of the original
    /// axis, mirrored when reversed).
    pub fn separable(&self, k: [&[f64]; 3], centre: [usize; 3]) -> ([Vec<f64>; 3], [usize; 3]) {
        let mut out: [Vec<f64>; 3] = Default::default();
        let mut c = [0; 3];
        for a in 0..3 {
            let src = self.perm[a];
            let mut v = k[src].to_vec();
            c[a] = centre[src];
            if self.flip[a] {
                v.reverse();
                c[a] = v.len() - 1 - centre[src];
            }
            out[a] = v;
        }
        (out, c)
    }
}

/// Every proper right-angle rotation: 24 in 3D, 4 in 2D (z fixed).
pub fn rotations(dims: FilterDims) -> Vec<Rotation> {
    let perms: &[[usize; 3]] = match dims {
        FilterDims::D3 => &[
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ],
        FilterDims::D2 => &[[0, 1, 2], [1, 0, 2]],
    };
    let mut out = Vec::new();
    for &perm in perms {
        let parity = {
            let mut inv = 0;
            for i in 0..3 {
                for j in i + 1..3 {
                    if perm[i] > perm[j] {
                        inv += 1;
                    }
                }
            }
            inv % 2
        };
        for signs in 0..8u8 {
            let flip = [signs & 1 != 0, signs & 2 != 0, signs & 4 != 0];
            if dims == FilterDims::D2 && flip[2] {
                continue;
            }
            let negatives = flip.iter().filter(|&&f| f).count() % 2;
            if (parity + negatives) % 2 == 0 {
                out.push(Rotation { perm, flip });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_identity_first() {
        let r3 = rotations(FilterDims::D3);
        assert_eq!(r3.len(), 24);
        assert_eq!(r3[0], Rotation::IDENTITY);
        assert_eq!(rotations(FilterDims::D2).len(), 4);
    }

    #[test]
    fn reversing_moves_the_centre() {
        let r = Rotation {
            perm: [1, 0, 2],
            flip: [true, false, false],
        };
        let (k, c) = r.separable([&[1.0, 2.0], &[3.0, 4.0, 5.0], &[6.0]], [0, 1, 0]);
        assert_eq!(k[0], vec![5.0, 4.0, 3.0]);
        assert_eq!(c[0], 1);
        assert_eq!(k[1], vec![1.0, 2.0]);
    }
}
