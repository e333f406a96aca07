//! Laws kernels (IBSI 2, section 2.3).
//!
//! A Laws filter is the separable product of 1D kernels, one per axis, named
//! in axis order x, y (, z): `E5L5S5` is `E5(x) ⊗ L5(y) ⊗ S5(z)` (3D) and
//! `L5S5` is `L5(x) ⊗ S5(y)` in each axial slice (2D). The 1D kernels, each
//! divided by its L2 norm so that `Σ k² = 1`:
//!
//! | name | coefficients | | name | coefficients |
//! |---|---|---|---|---|
//! | L3 | `(1, 2, 1)/√6` | | L5 | `(1, 4, 6, 4, 1)/√70` |
//! | E3 | `(−1, 0, 1)/√2` | | E5 | `(−1, −2, 0, 2, 1)/√10` |
//! | S3 | `(−1, 2, −1)/√6` | | S5 | `(−1, 0, 2, 0, −1)/√6` |
//! | | | | W5 | `(−1, 2, 0, −2, 1)/√10` |
//! | | | | R5 | `(1, −4, 6, −4, 1)/√70` |
//!
//! The response is the convolution `r(x) = Σ_t k(t) · f(x − t)` (t from −2 to
//! 2 for 5 taps), so an impulse gives the kernel itself: reference map 3.a.1
//! holds `+2/√10 · 6/√70 · 2/√6 · 255 = 94.43` one voxel towards +x of the
//! impulse.
//!
//! With `rotationInvariant: true` the kernel is applied in the 24 proper
//! right-angle rotations of the cube (4 rotations in the axial plane for 2D;
//! no reflections) and the responses are pooled voxel by voxel (`pooling`).
//! Rotations that give the same kernel are applied once; a rotation that only
//! reverses an antisymmetric kernel gives the negated response, which is
//! pooled without filtering again.
//!
//! With `energyDistance: δ` the (pooled) response is then turned into a
//! texture-energy map: the mean of `|r|` over the `(2δ+1)^d` neighbourhood,
//! `E(x) = (2δ+1)^{−d} Σ_{‖j‖∞ ≤ δ} |r(x + j)|`, with the same boundary
//! condition.
//!
//! Keys:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `kernel` | 1D kernel names in axis order: three for 3D, two for 2D (`E5L5S5`, `L5S5`) | required |
//! | `rotationInvariant` | pool over the right-angle rotations | `false` |
//! | `pooling` | `max`, `average` or `min`; required when rotation invariant | — |
//! | `energyDistance` | δ in voxels: compute the energy map | none (plain response) |
//!
//! ```yaml
//! filters:
//!   - {type: laws, kernel: L5E5E5, rotationInvariant: true, pooling: max, energyDistance: 7}
//! ```

use super::boundary::check_kernel_fits;
use super::log::slabs::{
    abs_box_mean_in_place, filter_slab, for_each_slab, Scratch, Separable, PLANES_PER_SLAB,
};
use super::log::{pool_identity, pool_into};
use super::rotation::{rotations, Rotation};
use super::{with_data, Common, FilterDims, Keys, Pooling};
use crate::error::{Error, Result};
use crate::volume::Volume;

/// The 1D Laws kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel1D {
    L3,
    E3,
    S3,
    L5,
    E5,
    S5,
    W5,
    R5,
}

impl Kernel1D {
    fn parse(s: &str) -> Option<Kernel1D> {
        use Kernel1D::*;
        Some(match s.to_ascii_uppercase().as_str() {
            "L3" => L3,
            "E3" => E3,
            "S3" => S3,
            "L5" => L5,
            "E5" => E5,
            "S5" => S5,
            "W5" => W5,
            "R5" => R5,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        use Kernel1D::*;
        match self {
            L3 => "L3",
            E3 => "E3",
            S3 => "S3",
            L5 => "L5",
            E5 => "E5",
            S5 => "S5",
            W5 => "W5",
            R5 => "R5",
        }
    }

    /// The coefficients, divided by their L2 norm.
    pub fn taps(self) -> Vec<f64> {
        use Kernel1D::*;
        let raw: &[f64] = match self {
            L3 => &[1.0, 2.0, 1.0],
            E3 => &[-1.0, 0.0, 1.0],
            S3 => &[-1.0, 2.0, -1.0],
            L5 => &[1.0, 4.0, 6.0, 4.0, 1.0],
            E5 => &[-1.0, -2.0, 0.0, 2.0, 1.0],
            S5 => &[-1.0, 0.0, 2.0, 0.0, -1.0],
            W5 => &[-1.0, 2.0, 0.0, -2.0, 1.0],
            R5 => &[1.0, -4.0, 6.0, -4.0, 1.0],
        };
        let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
        raw.iter().map(|v| v / norm).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// One 1D kernel per filtered axis, x first.
    pub kernels: Vec<Kernel1D>,
    pub rotation_invariant: bool,
    /// Pooling of the rotated responses (used when rotation invariant).
    pub pooling: Pooling,
    /// Energy-map half width δ in voxels.
    pub energy_distance: Option<usize>,
}

/// Kernels that give the same response up to sign, applied once.
struct Group {
    kernel: Separable,
    /// How many of the pooled rotations give `+r`, and how many `−r`.
    plus: usize,
    minus: usize,
}

impl Config {
    pub fn parse(keys: &mut Keys, common: &Common) -> Result<Config> {
        // The number of kernels must match the filter's dimensionality.
        let three_d = common.dims == FilterDims::D3;
        let spec = keys
            .str("kernel")?
            .ok_or_else(|| keys.err("kernel", "is missing (e.g. E5L5S5 for 3D, L5S5 for 2D)"))?;
        let bad = |why: &str| keys.err("kernel", &format!("'{spec}' {why}"));
        let chars: Vec<char> = spec.chars().collect();
        if chars.is_empty() || !chars.len().is_multiple_of(2) {
            return Err(bad(
                "must be 1D kernel names run together (L3 E3 S3 L5 E5 S5 W5 R5), e.g. E5L5S5",
            ));
        }
        let mut kernels = Vec::new();
        for pair in chars.chunks(2) {
            let name: String = pair.iter().collect();
            kernels.push(Kernel1D::parse(&name).ok_or_else(|| {
                bad(&format!(
                    "has an unknown 1D kernel '{name}' (L3 E3 S3 L5 E5 S5 W5 R5)"
                ))
            })?);
        }
        let want = if three_d { 3 } else { 2 };
        if kernels.len() != want {
            return Err(bad(&format!(
                "names {} 1D kernels; a {} filter needs {want}",
                kernels.len(),
                if three_d { "3D" } else { "2D" }
            )));
        }
        let rotation_invariant = keys.bool("rotationInvariant")?.unwrap_or(false);
        let pooling = match keys.str("pooling")? {
            None if rotation_invariant => {
                return Err(keys.err(
                    "pooling",
                    "is missing (max, average or min: how the rotated responses combine)",
                ))
            }
            None => Pooling::Max,
            Some(_) if !rotation_invariant => {
                return Err(keys.err("pooling", "only applies with 'rotationInvariant: true'"))
            }
            Some(p) => Pooling::parse(&p).ok_or_else(|| {
                keys.err(
                    "pooling",
                    &format!("unknown pooling '{p}' (max, average or min)"),
                )
            })?,
        };
        let energy_distance = keys.usize("energyDistance")?;
        Ok(Config {
            kernels,
            rotation_invariant,
            pooling,
            energy_distance,
        })
    }

    pub fn name(&self) -> String {
        let mut name = String::from("laws_");
        for k in &self.kernels {
            name += k.name();
        }
        if self.rotation_invariant {
            name += &format!("_{}", self.pooling.name());
        }
        if let Some(d) = self.energy_distance {
            name += &format!("_e{d}");
        }
        name
    }

    pub fn margin(&self, c: &Common, _spacing: [f64; 3]) -> Option<[usize; 3]> {
        let groups = self.groups(c.dims).ok()?;
        let mut m = [0; 3];
        for g in &groups {
            let r = g.kernel.radius();
            for a in 0..3 {
                m[a] = m[a].max(r[a]);
            }
        }
        let e = self.energy_distance.unwrap_or(0);
        for &a in c.dims.axes() {
            m[a] += e;
        }
        Some(m)
    }

    /// The kernels to apply: the rotations (or just the kernel itself), with
    /// duplicates merged and sign-reversed ones folded together.
    fn groups(&self, dims: FilterDims) -> Result<Vec<Group>> {
        let d = dims.axes().len();
        if self.kernels.len() != d {
            return Err(Error::Invalid(format!(
                "Laws filter: kernel {} names {} 1D kernels but the filter is {d}D",
                self.name(),
                self.kernels.len()
            )));
        }
        let mut taps: [Vec<f64>; 3] = [vec![1.0], vec![1.0], vec![1.0]];
        let mut centre = [0; 3];
        for (a, k) in self.kernels.iter().enumerate() {
            taps[a] = k.taps();
            centre[a] = taps[a].len() / 2;
        }
        let rots = if self.rotation_invariant {
            rotations(dims)
        } else {
            vec![Rotation::IDENTITY]
        };
        // Distinct rotated kernels (a rotation group's orbit: averaging over
        // the distinct ones equals averaging over all rotations).
        let mut distinct: Vec<Separable> = Vec::new();
        for r in rots {
            let (t, c) = r.separable([&taps[0], &taps[1], &taps[2]], centre);
            let k = Separable { taps: t, centre: c };
            if !distinct.contains(&k) {
                distinct.push(k);
            }
        }
        let mut groups: Vec<Group> = Vec::new();
        for mut k in distinct {
            // Canonical sign: an antisymmetric, centred 1D kernel whose first
            // nonzero tap is negative is negated (the response changes sign).
            let mut negative = false;
            for a in 0..3 {
                let t = &mut k.taps[a];
                let centred = 2 * k.centre[a] + 1 == t.len();
                let antisymmetric = t.iter().zip(t.iter().rev()).all(|(x, y)| *x == -*y);
                let leads_negative = t.iter().find(|v| **v != 0.0).is_some_and(|v| *v < 0.0);
                if centred && antisymmetric && leads_negative {
                    t.iter_mut().for_each(|v| *v = -*v);
                    negative = !negative;
                }
            }
            match groups.iter_mut().find(|g| g.kernel == k) {
                Some(g) if negative => g.minus += 1,
                Some(g) => g.plus += 1,
                None => groups.push(Group {
                    kernel: k,
                    plus: usize::from(!negative),
                    minus: usize::from(negative),
                }),
            }
        }
        Ok(groups)
    }

    pub fn apply(&self, c: &Common, image: &Volume<f32>) -> Result<Volume<f32>> {
        let dims = image.geometry.dims;
        let groups = self.groups(c.dims)?;
        let radius = groups
            .iter()
            .flat_map(|g| g.kernel.radius())
            .max()
            .unwrap_or(0);
        check_kernel_fits("Laws filter", radius, dims, c.dims.axes())?;
        let pooling = self.pooling;
        let count: usize = groups.iter().map(|g| g.plus + g.minus).sum();
        let mut out = vec![0.0f32; image.data.len()];
        for_each_slab(&mut out, dims, PLANES_PER_SLAB, |z0, chunk| {
            let n = chunk.len();
            let mut scratch = Scratch::default();
            let mut r = vec![0.0f64; n];
            let mut acc = vec![pool_identity(pooling); n];
            for g in &groups {
                filter_slab(
                    &image.data,
                    dims,
                    z0,
                    &g.kernel,
                    c.boundary,
                    &mut r,
                    &mut scratch,
                );
                match (pooling, g.plus > 0, g.minus > 0) {
                    (Pooling::Average, _, _) => {
                        let w = g.plus as f64 - g.minus as f64;
                        acc.iter_mut().zip(&r).for_each(|(a, &v)| *a += w * v);
                    }
                    (_, true, false) => pool_into(pooling, &mut acc, &r),
                    (_, false, true) => {
                        r.iter_mut().for_each(|v| *v = -*v);
                        pool_into(pooling, &mut acc, &r);
                    }
                    // Both r and −r: max pools |r|, min pools −|r|.
                    (_, _, _) => {
                        let s = if pooling == Pooling::Max { 1.0 } else { -1.0 };
                        r.iter_mut().for_each(|v| *v = s * v.abs());
                        pool_into(pooling, &mut acc, &r);
                    }
                }
            }
            let k = match pooling {
                Pooling::Average => 1.0 / count as f64,
                _ => 1.0,
            };
            chunk
                .iter_mut()
                .zip(&acc)
                .for_each(|(o, &a)| *o = (a * k) as f32);
        });
        if let Some(delta) = self.energy_distance {
            abs_box_mean_in_place(&mut out, dims, c.dims.axes(), delta, c.boundary);
        }
        Ok(with_data(image, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::Boundary;
    use crate::volume::Geometry;

    fn cfg(kernel: &str, ri: bool, pooling: Pooling, e: Option<usize>) -> Config {
        Config {
            kernels: (0..kernel.len() / 2)
                .map(|i| Kernel1D::parse(&kernel[2 * i..2 * i + 2]).unwrap())
                .collect(),
            rotation_invariant: ri,
            pooling,
            energy_distance: e,
        }
    }

    fn pseudo_random(g: Geometry) -> Volume<f32> {
        let mut s = 987654321u64;
        let n = g.len();
        let data = (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % 1000) as f32 / 10.0
            })
            .collect();
        Volume::from_vec(g, data).unwrap()
    }

    #[test]
    fn kernels_have_unit_norm() {
        for k in ["L3", "E3", "S3", "L5", "E5", "S5", "W5", "R5"] {
            let t = Kernel1D::parse(k).unwrap().taps();
            let n: f64 = t.iter().map(|v| v * v).sum();
            assert!((n - 1.0).abs() < 1e-12, "{k}");
        }
    }

    #[test]
    fn l5_of_a_constant() {
        let g = Geometry::new([9, 8, 7], [1.0, 1.0, 2.0], [0.0; 3]);
        let img = Volume::filled(g, 2.0f32);
        let l5: f64 = 16.0 / 70f64.sqrt();
        for b in [Boundary::Nearest, Boundary::Periodic, Boundary::Mirror] {
            let c = Common {
                boundary: b,
                dims: FilterDims::D3,
            };
            let out = cfg("L5L5L5", false, Pooling::Max, None)
                .apply(&c, &img)
                .unwrap();
            let want = 2.0 * l5.powi(3);
            assert!(out.data.iter().all(|&v| (v as f64 - want).abs() < 1e-4));
            // Any kernel with an edge, spot or ripple part gives zero.
            let out = cfg("L5E5L5", true, Pooling::Max, Some(2))
                .apply(&c, &img)
                .unwrap();
            assert!(out.data.iter().all(|&v| v.abs() < 1e-4));
            let c2 = Common {
                boundary: b,
                dims: FilterDims::D2,
            };
            let out = cfg("L5L5", false, Pooling::Max, None)
                .apply(&c2, &img)
                .unwrap();
            assert!(out
                .data
                .iter()
                .all(|&v| (v as f64 - 2.0 * l5 * l5).abs() < 1e-4));
        }
    }

    /// Rotating the input by 90° about z rotates a rotation-invariant response.
    #[test]
    fn rotation_pooling_is_invariant_to_a_quarter_turn() {
        let n = 9;
        let g = Geometry::new([n, n, 6], [1.0; 3], [0.0; 3]);
        let img = pseudo_random(g.clone());
        // (x, y) -> (n−1−y, x)
        let mut rot = Volume::filled(g, 0.0f32);
        for z in 0..6 {
            for y in 0..n {
                for x in 0..n {
                    rot.set(n - 1 - y, x, z, img.get(x, y, z));
                }
            }
        }
        for (kernel, dims) in [
            ("E5L5S5", FilterDims::D3),
            ("L5S5", FilterDims::D2),
            ("E3W5", FilterDims::D2),
        ] {
            for pooling in [Pooling::Max, Pooling::Average, Pooling::Min] {
                for b in [Boundary::Zero, Boundary::Mirror] {
                    let c = Common { boundary: b, dims };
                    let f = cfg(kernel, true, pooling, Some(1));
                    let a = f.apply(&c, &img).unwrap();
                    let r = f.apply(&c, &rot).unwrap();
                    for z in 0..6 {
                        for y in 0..n {
                            for x in 0..n {
                                let (u, v) = (a.get(x, y, z), r.get(n - 1 - y, x, z));
                                assert!(
                                    (u - v).abs() < 1e-3,
                                    "{kernel} {pooling:?} {b:?}: {u} vs {v}"
                                );
                            }
                        }
                    }
                    // Without rotation invariance the response does change.
                    let f = cfg(kernel, false, pooling, None);
                    let a = f.apply(&c, &img).unwrap();
                    let r = f.apply(&c, &rot).unwrap();
                    assert!((0..n).any(|x| (a.get(x, 4, 3) - r.get(n - 1 - 4, x, 3)).abs() > 1e-2));
                }
            }
        }
    }

    #[test]
    fn impulse_gives_the_kernel() {
        let g = Geometry::new([11, 11, 11], [2.0; 3], [0.0; 3]);
        let mut img = Volume::filled(g, 0.0f32);
        img.set(5, 5, 5, 255.0);
        let c = Common {
            boundary: Boundary::Zero,
            dims: FilterDims::D3,
        };
        let out = cfg("E5L5S5", false, Pooling::Max, None)
            .apply(&c, &img)
            .unwrap();
        // IBSI 3.a.1: E5 along x, convolution (the kernel is not flipped back).
        let want = 255.0 * 2.0 / 10f64.sqrt() * 6.0 / 70f64.sqrt() * 2.0 / 6f64.sqrt();
        assert!((out.get(6, 5, 5) as f64 - want).abs() < 1e-3);
        assert!((out.get(4, 5, 5) as f64 + want).abs() < 1e-3);
    }

    #[test]
    fn groups_fold_signs_and_duplicates() {
        let f = cfg("E5L5S5", true, Pooling::Max, None);
        let g = f.groups(FilterDims::D3).unwrap();
        // 12 distinct rotated kernels (E5 reversed or not, on any axis, L5 and S5
        // on either of the others), each reached by two rotations.
        assert_eq!(g.iter().map(|g| g.plus + g.minus).sum::<usize>(), 12);
        assert_eq!(g.len(), 6);
        let f = cfg("L5S5", true, Pooling::Max, None);
        let g = f.groups(FilterDims::D2).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(
            f.margin(
                &Common {
                    boundary: Boundary::Mirror,
                    dims: FilterDims::D2
                },
                [1.0; 3]
            ),
            Some([2, 2, 0])
        );
        let f = cfg("E3W5R5", true, Pooling::Max, Some(7));
        assert_eq!(
            f.margin(
                &Common {
                    boundary: Boundary::Mirror,
                    dims: FilterDims::D3
                },
                [1.0; 3]
            ),
            Some([9, 9, 9])
        );
    }

    #[test]
    fn bad_keys_are_named() {
        let p = std::path::Path::new("p.yaml");
        for (yaml, key) in [
            ("- {type: laws}", "kernel"),
            ("- {type: laws, kernel: E5L5Q5}", "Q5"),
            ("- {type: laws, kernel: E5L5}", "kernel"),
            ("- {type: laws, kernel: E5L5S5, dims: 2D}", "kernel"),
            ("- {type: laws, kernel: E5L5S}", "kernel"),
            (
                "- {type: laws, kernel: E5L5S5, rotationInvariant: true}",
                "pooling",
            ),
            ("- {type: laws, kernel: E5L5S5, pooling: max}", "pooling"),
            (
                "- {type: laws, kernel: E5L5S5, rotationInvariant: yes please, pooling: max}",
                "rotationInvariant",
            ),
            (
                "- {type: laws, kernel: E5L5S5, energyDistance: -2}",
                "energyDistance",
            ),
        ] {
            let v: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
            let e = crate::filters::parse_filters(&v, p)
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{yaml}: {e}");
        }
        let v: serde_norway::Value = serde_norway::from_str(
            "- {type: laws, kernel: l5e5e5, rotationInvariant: true, pooling: max, energyDistance: 7}",
        )
        .unwrap();
        let f = crate::filters::parse_filters(&v, p).unwrap();
        assert_eq!(f[0].name, "laws_L5E5E5_max_e7_3D_mirror");
    }
}
