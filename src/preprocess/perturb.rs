//! Image and mask perturbations for robustness studies without a second
//! reader (as MIRP offers them; Zwanenburg et al., Sci Rep 2019): each
//! repeat draws, from a seed, a combination of
//!
//! * **noise**: Gaussian noise added to every voxel, with the standard
//!   deviation σ̂ of the image's own noise, estimated on the axial slices of
//!   the ROI's box by Immerkær's method (1996): with the 3×3 kernel
//!   `N = [1 −2 1; −2 4 −2; 1 −2 1]`, σ̂ = √(π/2) · Σ|I ∗ N| / (6 (W−2)(H−2))
//!   summed over the interior pixels of every slice;
//! * **rotation** by an angle uniform in `[−a, a]` degrees about the axial
//!   (z) axis through the ROI's centroid, and a **translation** by a fraction
//!   of a voxel uniform in `[−t, t]` per axis: one resampling of the image
//!   (trilinear) and of the mask (trilinear, then ≥ 0.5), positions outside
//!   the box taking the nearest box voxel;
//! * **volume adaptation**: the mask grown or shrunk by a fraction uniform in
//!   `[−v, v]` of its voxel count: voxels added in order of their Euclidean
//!   distance (mm) to the mask, or removed in order of their distance to the
//!   background, ties in storage order;
//! * **contour randomisation**: the boundary moved by a smooth random
//!   displacement: the signed distance to the boundary (mm, negative inside)
//!   plus a Gaussian-smoothed white-noise field (smoothing σ 2 mm) scaled to a
//!   standard deviation of `c` voxels of the in-plane spacing, thresholded at 0.
//!
//! Everything is deterministic for a seed: the draws of repeat `r` come from
//! a generator seeded by `(seed, r)`.

use crate::error::{Error, Result};
use crate::volume::{Mask, Volume};
use std::path::Path;

/// The `perturbation:` section of a parameter file.
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbationSpec {
    /// Perturbed repeats per ROI.
    pub repeats: usize,
    pub seed: u64,
    /// Also a row of the unperturbed ROI (repeat 0).
    pub include_original: bool,
    pub noise: bool,
    /// Largest rotation (degrees) about z.
    pub rotation_deg: f64,
    /// Largest translation per axis, as a fraction of a voxel.
    pub translation: f64,
    /// Largest volume change, as a fraction of the ROI's voxels.
    pub volume: f64,
    /// Contour randomisation amplitude (voxels of the in-plane spacing; 0: off).
    pub contour: f64,
}

impl PerturbationSpec {
    /// Parse the `perturbation:` mapping; `path` names the file in errors.
    pub fn parse(v: &serde_norway::Value, path: &Path) -> Result<PerturbationSpec> {
        let err = |r: String| Error::params(path, format!("perturbation: {r}"));
        let map = v
            .as_mapping()
            .ok_or_else(|| err("must be a mapping".into()))?;
        let mut spec = PerturbationSpec {
            repeats: 0,
            seed: 0,
            include_original: true,
            noise: false,
            rotation_deg: 0.0,
            translation: 0.0,
            volume: 0.0,
            contour: 0.0,
        };
        let number = |key: &str, v: &serde_norway::Value, lo: f64, hi: f64| -> Result<f64> {
            let x = v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| err(format!("'{key}' must be a number")))?;
            if !(lo..=hi).contains(&x) {
                return Err(err(format!("'{key}' must be within [{lo}, {hi}], got {x}")));
            }
            Ok(x)
        };
        for (k, v) in map {
            let key = k.as_str().ok_or_else(|| err("keys must be text".into()))?;
            match key {
                "repeats" => {
                    spec.repeats = v
                        .as_u64()
                        .filter(|&n| (1..=1000).contains(&n))
                        .ok_or_else(|| err("'repeats' must be an integer in 1..=1000".into()))?
                        as usize
                }
                "seed" => {
                    spec.seed = v
                        .as_u64()
                        .ok_or_else(|| err("'seed' must be a non-negative integer".into()))?
                }
                "includeOriginal" => {
                    spec.include_original = v
                        .as_bool()
                        .ok_or_else(|| err("'includeOriginal' must be true or false".into()))?
                }
                "noise" => {
                    spec.noise = v
                        .as_bool()
                        .ok_or_else(|| err("'noise' must be true or false".into()))?
                }
                "rotation" => spec.rotation_deg = number(key, v, 0.0, 180.0)?,
                "translation" => spec.translation = number(key, v, 0.0, 1.0)?,
                "volume" => spec.volume = number(key, v, 0.0, 0.9)?,
                "contour" => spec.contour = number(key, v, 0.0, 5.0)?,
                other => {
                    return Err(err(format!(
                        "unknown key '{other}' (repeats, seed, includeOriginal, noise, rotation, translation, volume, contour)"
                    )))
                }
            }
        }
        if spec.repeats == 0 {
            return Err(err("'repeats' is required".into()));
        }
        let any = spec.noise
            || spec.rotation_deg > 0.0
            || spec.translation > 0.0
            || spec.volume > 0.0
            || spec.contour > 0.0;
        if !any {
            return Err(err(
                "no perturbation enabled (noise, rotation, translation, volume, contour)".into(),
            ));
        }
        Ok(spec)
    }

    /// Extra voxels per axis the box around an ROI needs for these
    /// perturbations (`roi_dims`: the ROI's bounding box size in voxels).
    pub fn margin(&self, roi_dims: [usize; 3], spacing: [f64; 3]) -> [usize; 3] {
        // A rotation moves the box's corners by up to half its diagonal.
        let half_diag = 0.5
            * ((roi_dims[0] as f64 * spacing[0]).powi(2)
                + (roi_dims[1] as f64 * spacing[1]).powi(2))
            .sqrt();
        let growth = |a: usize| {
            // Growth by v of the volume moves the boundary by about r((1+v)^(1/3) − 1).
            let r = roi_dims[a] as f64 * 0.5;
            (r * ((1.0 + self.volume).cbrt() - 1.0)).ceil() as usize + 1
        };
        let contour = (3.0 * self.contour).ceil() as usize + 1;
        std::array::from_fn(|a| {
            let rot = if a < 2 && self.rotation_deg > 0.0 {
                (half_diag / spacing[a]).ceil() as usize
            } else {
                0
            };
            rot + 1 + growth(a) + contour
        })
    }

    /// The draws of repeat `r` (1-based; 0 is the original).
    pub fn draw(&self, r: usize) -> Draw {
        let mut g = Rng::new(self.seed, r as u64);
        let mut uniform = |a: f64| {
            if a > 0.0 {
                (2.0 * g.unit() - 1.0) * a
            } else {
                0.0
            }
        };
        let rotation_deg = uniform(self.rotation_deg);
        let translation = [
            uniform(self.translation),
            uniform(self.translation),
            uniform(self.translation),
        ];
        let volume = uniform(self.volume);
        Draw {
            repeat: r,
            noise: self.noise,
            rotation_deg,
            translation,
            volume,
            contour: self.contour,
            stream: Rng::new(self.seed ^ 0x9e37_79b9_7f4a_7c15, r as u64).state,
        }
    }
}

/// One repeat's perturbation.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub repeat: usize,
    pub noise: bool,
    pub rotation_deg: f64,
    /// Fractions of a voxel per axis.
    pub translation: [f64; 3],
    /// Fraction of the ROI's voxels added (> 0) or removed (< 0).
    pub volume: f64,
    pub contour: f64,
    /// Seed of the noise fields.
    stream: u64,
}

impl Draw {
    /// A one-line description for the output table.
    pub fn describe(&self, noise_sd: Option<f64>) -> String {
        let mut parts = Vec::new();
        if let Some(sd) = noise_sd {
            parts.push(format!("noise sd {sd:.3}"));
        }
        if self.rotation_deg != 0.0 {
            parts.push(format!("rotation {:.3} deg", self.rotation_deg));
        }
        if self.translation != [0.0; 3] {
            let t = self.translation;
            parts.push(format!(
                "translation ({:.3}, {:.3}, {:.3}) voxel",
                t[0], t[1], t[2]
            ));
        }
        if self.volume != 0.0 {
            parts.push(format!("volume {:+.2} %", 100.0 * self.volume));
        }
        if self.contour > 0.0 {
            parts.push(format!("contour {:.2} voxel", self.contour));
        }
        parts.join("; ")
    }

    /// Apply this repeat to `image` and `mask` (the same box). Returns the
    /// noise standard deviation used (when noise is on).
    pub fn apply(&self, image: &mut Volume<f32>, mask: &mut Mask) -> Option<f64> {
        let mut rng = Rng { state: self.stream };
        if self.rotation_deg != 0.0 || self.translation != [0.0; 3] {
            let (img, m) = rigid(image, mask, self.rotation_deg, self.translation);
            *image = img;
            *mask = m;
        }
        if self.volume != 0.0 {
            adapt_volume(mask, self.volume);
        }
        if self.contour > 0.0 {
            randomise_contour(mask, self.contour, &mut rng);
        }
        if self.noise {
            let sd = noise_sd(image);
            for v in &mut image.data {
                *v += (sd * rng.gaussian()) as f32;
            }
            return Some(sd);
        }
        None
    }
}

/// splitmix64: small, seedable and the same on every platform.
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng {
            state: seed ^ stream.wrapping_mul(0xbf58_476d_1ce4_e5b9),
        };
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn gaussian(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Immerkær's noise standard deviation over the axial slices of `image`
/// (0 when no slice is 3×3 or larger).
pub fn noise_sd(image: &Volume<f32>) -> f64 {
    let [nx, ny, nz] = image.geometry.dims;
    if nx < 3 || ny < 3 {
        return 0.0;
    }
    let mut sum = 0.0f64;
    for z in 0..nz {
        let at = |x: usize, y: usize| image.data[image.geometry.index(x, y, z)] as f64;
        for y in 1..ny - 1 {
            for x in 1..nx - 1 {
                let v = at(x - 1, y - 1) + at(x + 1, y - 1) + at(x - 1, y + 1) + at(x + 1, y + 1)
                    - 2.0 * (at(x, y - 1) + at(x, y + 1) + at(x - 1, y) + at(x + 1, y))
                    + 4.0 * at(x, y);
                sum += v.abs();
            }
        }
    }
    let n = (6 * (nx - 2) * (ny - 2) * nz) as f64;
    (std::f64::consts::PI / 2.0).sqrt() * sum / n
}

/// Trilinear value of `data` (a grid of `dims`) at continuous index `p`,
/// clamped to the grid.
fn trilinear(data: &[f32], dims: [usize; 3], p: [f64; 3]) -> f64 {
    let mut i0 = [0usize; 3];
    let mut w = [0f64; 3];
    for a in 0..3 {
        let max = (dims[a] - 1) as f64;
        let q = p[a].clamp(0.0, max);
        let f = q.floor().min((dims[a].max(2) - 2) as f64).max(0.0);
        i0[a] = f as usize;
        w[a] = if dims[a] > 1 { q - f } else { 0.0 };
    }
    let mut acc = 0.0;
    for c in 0..8 {
        let mut idx = [0usize; 3];
        let mut weight = 1.0;
        for a in 0..3 {
            let up = (c >> a) & 1 == 1;
            idx[a] = (i0[a] + usize::from(up)).min(dims[a] - 1);
            weight *= if up { w[a] } else { 1.0 - w[a] };
        }
        if weight != 0.0 {
            acc += weight * data[idx[0] + dims[0] * (idx[1] + dims[1] * idx[2])] as f64;
        }
    }
    acc
}

/// Rotate by `deg` about z through the mask's centroid and translate by
/// `t` voxels: image and mask resampled once (the mask at ≥ 0.5).
fn rigid(image: &Volume<f32>, mask: &Mask, deg: f64, t: [f64; 3]) -> (Volume<f32>, Mask) {
    let g = &image.geometry;
    let dims = g.dims;
    let s = g.spacing;
    let (mut c, mut n) = ([0.0f64; 3], 0usize);
    for (i, &m) in mask.data.iter().enumerate() {
        if m {
            let p = g.coords(i);
            for a in 0..3 {
                c[a] += p[a] as f64 * s[a];
            }
            n += 1;
        }
    }
    let c = c.map(|v| v / n.max(1) as f64);
    let (sin, cos) = (-deg.to_radians()).sin_cos();
    let mask_f: Vec<f32> = mask.data.iter().map(|&b| f32::from(u8::from(b))).collect();
    let mut img = image.clone();
    let mut m = mask.clone();
    for i in 0..g.len() {
        let p = g.coords(i);
        let q = [p[0] as f64 * s[0] - c[0], p[1] as f64 * s[1] - c[1]];
        // The inverse map: where this voxel's value comes from.
        let src = [
            (cos * q[0] - sin * q[1] + c[0]) / s[0] - t[0],
            (sin * q[0] + cos * q[1] + c[1]) / s[1] - t[1],
            p[2] as f64 - t[2],
        ];
        img.data[i] = trilinear(&image.data, dims, src) as f32;
        m.data[i] = trilinear(&mask_f, dims, src) >= 0.5;
    }
    (img, m)
}

/// Squared Euclidean distance (mm²) of every voxel to the nearest voxel
/// where `seed` is true (separable exact transform, Felzenszwalb &
/// Huttenlocher 2012); `f64::INFINITY` when there is none.
fn squared_distance(seed: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Vec<f64> {
    let mut d: Vec<f64> = seed
        .iter()
        .map(|&b| if b { 0.0 } else { f64::INFINITY })
        .collect();
    for a in 0..3 {
        let n = dims[a];
        let stride = match a {
            0 => 1,
            1 => dims[0],
            _ => dims[0] * dims[1],
        };
        let w2 = spacing[a] * spacing[a];
        let mut f = vec![0.0; n];
        let mut out = vec![0.0; n];
        let mut v = vec![0usize; n];
        let mut z = vec![0.0; n + 1];
        for start in 0..d.len() {
            if (start / stride) % n != 0 {
                continue;
            }
            for (k, fk) in f.iter_mut().enumerate() {
                *fk = d[start + k * stride];
            }
            lower_envelope(&f, w2, &mut v, &mut z, &mut out);
            for (k, o) in out.iter().enumerate() {
                d[start + k * stride] = *o;
            }
        }
    }
    d
}

/// One-dimensional squared distance transform of `f` with sample distance²
/// `w2` (lower envelope of parabolas).
fn lower_envelope(f: &[f64], w2: f64, v: &mut [usize], z: &mut [f64], out: &mut [f64]) {
    let n = f.len();
    let finite: Vec<usize> = (0..n).filter(|&q| f[q].is_finite()).collect();
    if finite.is_empty() {
        out.fill(f64::INFINITY);
        return;
    }
    let mut k = 0;
    v[0] = finite[0];
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let meet = |q: usize, p: usize| {
        ((f[q] + w2 * (q * q) as f64) - (f[p] + w2 * (p * p) as f64))
            / (2.0 * w2 * (q as f64 - p as f64))
    };
    for &q in &finite[1..] {
        let mut s = meet(q, v[k]);
        while s <= z[k] {
            k -= 1;
            s = meet(q, v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, o) in out.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let dq = q as f64 - v[k] as f64;
        *o = w2 * dq * dq + f[v[k]];
    }
}

/// Grow (`fraction` > 0) or shrink the mask by `fraction` of its voxels.
fn adapt_volume(mask: &mut Mask, fraction: f64) {
    let n = mask.count();
    let change = (fraction.abs() * n as f64).round() as usize;
    if n == 0 || change == 0 {
        return;
    }
    let dims = mask.geometry.dims;
    let s = mask.geometry.spacing;
    let (candidates, value) = if fraction > 0.0 {
        (squared_distance(&mask.data, dims, s), true)
    } else {
        let outside: Vec<bool> = mask.data.iter().map(|&b| !b).collect();
        (squared_distance(&outside, dims, s), false)
    };
    // Voxels to flip: outside (growth) or inside (shrinkage), nearest first.
    let mut order: Vec<usize> = (0..mask.data.len())
        .filter(|&i| mask.data[i] != value && candidates[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| candidates[a].total_cmp(&candidates[b]).then(a.cmp(&b)));
    // Never remove the last voxel.
    let change = if value { change } else { change.min(n - 1) };
    for &i in order.iter().take(change) {
        mask.data[i] = value;
    }
}

/// Move the mask's boundary by a smooth random displacement of about
/// `amplitude` voxels (in-plane spacing).
fn randomise_contour(mask: &mut Mask, amplitude: f64, rng: &mut Rng) {
    let dims = mask.geometry.dims;
    let s = mask.geometry.spacing;
    if mask.count() == 0 {
        return;
    }
    let outside: Vec<bool> = mask.data.iter().map(|&b| !b).collect();
    let to_inside = squared_distance(&mask.data, dims, s);
    let to_outside = squared_distance(&outside, dims, s);
    // Signed distance to the boundary, negative inside (voxel centres).
    let signed: Vec<f64> = (0..mask.data.len())
        .map(|i| {
            if mask.data[i] {
                -to_outside[i].sqrt()
            } else {
                to_inside[i].sqrt()
            }
        })
        .collect();
    // White noise smoothed by a separable Gaussian of 2 mm, rescaled.
    let mut field: Vec<f64> = (0..mask.data.len()).map(|_| rng.gaussian()).collect();
    for a in 0..3 {
        let sigma = 2.0 / s[a];
        let r = (3.0 * sigma).ceil() as isize;
        let kernel: Vec<f64> = (-r..=r)
            .map(|k| (-0.5 * (k as f64 / sigma).powi(2)).exp())
            .collect();
        let stride = match a {
            0 => 1,
            1 => dims[0],
            _ => dims[0] * dims[1],
        };
        let n = dims[a] as isize;
        let src = field.clone();
        for (i, out) in field.iter_mut().enumerate() {
            let k0 = ((i / stride) % dims[a]) as isize;
            let (mut acc, mut wsum) = (0.0, 0.0);
            for (j, w) in kernel.iter().enumerate() {
                let k = k0 + j as isize - r;
                if (0..n).contains(&k) {
                    acc += w * src[(i as isize + (k - k0) * stride as isize) as usize];
                    wsum += w;
                }
            }
            *out = acc / wsum;
        }
    }
    let mean = field.iter().sum::<f64>() / field.len() as f64;
    let sd = (field.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / field.len() as f64).sqrt();
    let scale = if sd > 0.0 { amplitude * s[0] / sd } else { 0.0 };
    let keep_one = mask.data.iter().position(|&b| b);
    for (i, m) in mask.data.iter_mut().enumerate() {
        *m = signed[i] + scale * (field[i] - mean) < 0.0;
    }
    if mask.count() == 0 {
        if let Some(i) = keep_one {
            mask.data[i] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    fn sphere(dims: [usize; 3], r: f64) -> Mask {
        let g = Geometry::new(dims, [1.0, 1.0, 1.0], [0.0; 3]);
        let c = dims.map(|d| (d as f64 - 1.0) / 2.0);
        let mut m = Mask::filled(g.clone(), false);
        for i in 0..g.len() {
            let p = g.coords(i);
            m.data[i] = (0..3).map(|a| (p[a] as f64 - c[a]).powi(2)).sum::<f64>() <= r * r;
        }
        m
    }

    #[test]
    fn distance_transform_is_exact_on_a_line_and_anisotropic() {
        let mut seed = vec![false; 7 * 3 * 2];
        seed[3 + 7] = true; // (3, 1, 0)
        let d = squared_distance(&seed, [7, 3, 2], [1.0, 2.0, 3.0]);
        for (i, di) in d.iter().enumerate() {
            let (x, y, z) = (i % 7, (i / 7) % 3, i / 21);
            let want = (x as f64 - 3.0).powi(2)
                + (2.0 * (y as f64 - 1.0)).powi(2)
                + (3.0 * z as f64).powi(2);
            assert!((di - want).abs() < 1e-12, "{x} {y} {z}: {di} vs {want}");
        }
    }

    #[test]
    fn volume_adaptation_reaches_the_fraction() {
        for f in [0.2, -0.2] {
            let mut m = sphere([21, 21, 21], 6.0);
            let n = m.count();
            adapt_volume(&mut m, f);
            let want = (n as f64 * (1.0 + f)).round() as usize;
            assert_eq!(m.count(), want);
        }
    }

    #[test]
    fn identity_draws_change_nothing_and_draws_are_deterministic() {
        let spec = PerturbationSpec {
            repeats: 3,
            seed: 7,
            include_original: true,
            noise: true,
            rotation_deg: 10.0,
            translation: 0.5,
            volume: 0.1,
            contour: 1.0,
        };
        assert_eq!(spec.draw(2), spec.draw(2));
        assert_ne!(spec.draw(1), spec.draw(2));
        let m0 = sphere([17, 17, 9], 4.0);
        let img0 = m0.map(|b| if b { 100.0 } else { 0.0 });
        let (img, m) = rigid(&img0, &m0, 0.0, [0.0; 3]);
        assert_eq!((img, m), (img0.clone(), m0.clone()));
        let (mut a, mut ma) = (img0.clone(), m0.clone());
        let (mut b, mut mb) = (img0.clone(), m0.clone());
        spec.draw(1).apply(&mut a, &mut ma);
        spec.draw(1).apply(&mut b, &mut mb);
        assert_eq!((a, ma), (b, mb));
    }

    #[test]
    fn a_quarter_turn_maps_the_grid_onto_itself() {
        // An L-shaped ROI in a square slice rotated by 90° about its centroid.
        let g = Geometry::new([9, 9, 1], [1.0; 3], [0.0; 3]);
        let mut m = Mask::filled(g.clone(), false);
        for (x, y) in [(3, 3), (4, 3), (5, 3), (3, 4), (3, 5)] {
            m.set(x, y, 0, true);
        }
        let img = m.map(|b| if b { 1.0 } else { 0.0 });
        let (_, r) = rigid(&img, &m, 90.0, [0.0; 3]);
        assert_eq!(r.count(), 5);
    }

    #[test]
    fn immerkaer_estimates_gaussian_noise() {
        let g = Geometry::new([64, 64, 4], [1.0; 3], [0.0; 3]);
        let mut rng = Rng::new(1, 2);
        let v = Volume {
            geometry: g.clone(),
            data: (0..g.len())
                .map(|_| (20.0 * rng.gaussian()) as f32)
                .collect(),
        };
        let sd = noise_sd(&v);
        assert!((sd - 20.0).abs() < 1.0, "{sd}");
    }
}
