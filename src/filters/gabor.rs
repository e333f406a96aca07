//! Gabor filter (IBSI 2, section 2.4): a complex 2D kernel, a Gaussian envelope
//! times a plane wave, applied in a plane of the grid,
//!
//! ```text
//! h(u, v) = exp(−(ũ² + γ² ṽ²) / (2σ²)) · exp(i 2π ũ / λ)
//! ũ =  u cos θ + v sin θ
//! ṽ = −u sin θ + v cos θ
//! ```
//!
//! where `(u, v)` is the offset from the kernel centre **in mm** along the
//! plane's two grid axes (`u = k_a · s_a`, `v = k_b · s_b` for voxel offsets
//! `k` and spacings `s`, so anisotropic in-plane spacing is exact). The kernel
//! is not normalised, as in the manual. The response is the convolution
//! `r(p) = Σ_k h(k) f(p − k)`, reduced to one real map by `response`.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `sigma` | σ, standard deviation of the envelope along ũ, mm (> 0) | required |
//! | `lambda` | λ, wavelength of the plane wave, mm (> 0) | required |
//! | `gamma` | γ, spatial aspect ratio: the envelope's deviation along ṽ is σ/γ (> 0) | required |
//! | `theta` | θ, orientation in radians (`pi/3`, `5pi/4` allowed) | 0 |
//! | `thetaStep` | Δθ: rotation invariance over θ, θ + Δθ, … below θ + 2π | none (single θ) |
//! | `pooling` | `average`, `max` or `min` over the orientations (needs `thetaStep`) | `average` |
//! | `response` | `modulus` \|r\|, `real` Re r, `imaginary` Im r, `angle` arg r ∈ (−π, π] | `modulus` |
//! | `orthogonalPlanes` | also filter the coronal and sagittal planes and average the three responses (needs `dims: 3D`) | false |
//! | `truncate` | kernel half-width in units of the envelope's longer deviation, max(σ, σ/γ) | 4 |
//!
//! **Planes and orientation.** Without `orthogonalPlanes` the kernel acts in
//! each axial x–y plane (with `dims: 2D` or `3D` alike); with it, in the x–y,
//! x–z and y–z planes, and the result is the mean of the three pooled maps.
//! In a plane with axes (a, b) — (x, y), (x, z), (y, z) — θ = 0 puts the wave
//! along a, and θ turns from a towards b (θ = π/2: along b). This matches the
//! IBSI reference maps 4.a.1 and 4.b.1 read as NIfTI `(i, j)` grids.
//!
//! **Rotation invariance.** With `thetaStep` the responses of
//! `θ_k = θ + kΔθ`, `k = 0 … ⌈2π/Δθ⌉ − 1`, are pooled voxel by voxel. Since
//! `h_{θ+π} = conj(h_θ)`, the modulus and the real part of θ and θ + π are
//! equal, so when π/Δθ is a whole number only the first half of the
//! orientations is computed (same result, half the work).
//!
//! **Kernel size.** The kernel is cut to `|k_a| ≤ ⌈truncate · max(σ, σ/γ) / s_a⌉`
//! per axis; outside, the envelope is below `exp(−truncate²/2)` (3·10⁻⁴ for 4).
//!
//! **Computation.** Each plane is extended by the kernel radius with the
//! boundary condition and convolved through 2D FFTs (f64) whose size leaves
//! no wrap-around; the plane's spectrum is computed once and multiplied with
//! the spectrum of every orientation's kernel; only the pooled map of each
//! plane is kept. Planes are independent, so results do not depend on the
//! number of threads.

use super::boundary::check_kernel_fits;
use super::{fmt_num, with_data, Boundary, Common, FilterDims, Keys, Pooling};
use crate::error::{Error, Result};
use crate::volume::Volume;
use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

type C64 = Complex<f64>;

/// Default kernel half-width in units of the envelope's longer deviation.
pub const DEFAULT_TRUNCATE: f64 = 4.0;

/// Most orientations one filter may pool.
const MAX_ORIENTATIONS: usize = 720;

/// Budget for the spectra of a batch of planes (bytes).
const BATCH_BYTES: usize = 64 << 20;

/// Budget for keeping every orientation's kernel spectrum (bytes); above it,
/// kernel spectra are recomputed per batch of planes.
const KERNEL_CACHE_BYTES: usize = 128 << 20;

/// Which real map is taken from the complex response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Modulus,
    Real,
    Imaginary,
    Angle,
}

impl Response {
    pub fn parse(s: &str) -> Option<Response> {
        Some(match s.to_ascii_lowercase().as_str() {
            "modulus" | "magnitude" | "abs" => Response::Modulus,
            "real" => Response::Real,
            "imaginary" | "imag" => Response::Imaginary,
            "angle" | "phase" | "argument" => Response::Angle,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Response::Modulus => "mod",
            Response::Real => "re",
            Response::Imaginary => "im",
            Response::Angle => "arg",
        }
    }

    #[inline]
    fn of(self, z: C64) -> f64 {
        match self {
            Response::Modulus => z.norm(),
            Response::Real => z.re,
            Response::Imaginary => z.im,
            Response::Angle => z.im.atan2(z.re),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// σ in mm.
    pub sigma: f64,
    /// λ in mm.
    pub lambda: f64,
    /// γ, spatial aspect ratio.
    pub gamma: f64,
    /// θ in radians.
    pub theta: f64,
    /// Δθ in radians, for rotation invariance.
    pub theta_step: Option<f64>,
    pub pooling: Pooling,
    pub response: Response,
    /// Average the responses in the three orthogonal planes.
    pub orthogonal_planes: bool,
    /// Kernel half-width in units of max(σ, σ/γ).
    pub truncate: f64,
}

/// A required number that must be positive.
fn positive(keys: &mut Keys, key: &str, what: &str) -> Result<f64> {
    let v = keys
        .f64(key)?
        .ok_or_else(|| keys.err(key, &format!("is missing ({what})")))?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(keys.err(key, &format!("must be positive, got {v}")))
    }
}

/// Number of orientations θ + kΔθ below θ + 2π.
fn orientation_count(step: f64) -> usize {
    let x = 2.0 * PI / step;
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x {
        r as usize
    } else {
        x.ceil() as usize
    }
}

impl Config {
    pub fn parse(keys: &mut Keys, common: &Common) -> Result<Config> {
        let sigma = positive(keys, "sigma", "standard deviation of the envelope in mm")?;
        let lambda = positive(keys, "lambda", "wavelength in mm")?;
        let gamma = positive(keys, "gamma", "spatial aspect ratio")?;
        let theta = keys.f64("theta")?.unwrap_or(0.0);
        let theta_step = match keys.f64("thetaStep")? {
            None => None,
            Some(s) if s > 0.0 && s <= 2.0 * PI => {
                if orientation_count(s) > MAX_ORIENTATIONS {
                    return Err(keys.err(
                        "thetaStep",
                        &format!("gives more than {MAX_ORIENTATIONS} orientations, got {s}"),
                    ));
                }
                Some(s)
            }
            Some(s) => {
                return Err(keys.err(
                    "thetaStep",
                    &format!("must be in (0, 2pi] radians, got {s}"),
                ))
            }
        };
        let pooling = match keys.str("pooling")? {
            None => Pooling::Average,
            Some(_) if theta_step.is_none() => {
                return Err(keys.err(
                    "pooling",
                    "needs 'thetaStep' (pooling combines the orientations θ, θ + thetaStep, …)",
                ))
            }
            Some(s) => Pooling::parse(&s).ok_or_else(|| {
                keys.err(
                    "pooling",
                    &format!("must be average, max or min, got '{s}'"),
                )
            })?,
        };
        let response = match keys.str("response")? {
            None => Response::Modulus,
            Some(s) => Response::parse(&s).ok_or_else(|| {
                keys.err(
                    "response",
                    &format!("must be modulus, real, imaginary or angle, got '{s}'"),
                )
            })?,
        };
        let orthogonal_planes = keys.bool("orthogonalPlanes")?.unwrap_or(false);
        let dims_2d = common.dims == FilterDims::D2;
        if orthogonal_planes && dims_2d {
            return Err(keys.err(
                "orthogonalPlanes",
                "needs 'dims: 3D' (with 2D the filter acts in the axial plane only)",
            ));
        }
        let truncate = match keys.f64("truncate")? {
            None => DEFAULT_TRUNCATE,
            Some(t) if t > 0.0 && t <= 20.0 => t,
            Some(t) => {
                return Err(keys.err(
                    "truncate",
                    &format!("must be in (0, 20] envelope deviations, got {t}"),
                ))
            }
        };
        Ok(Config {
            sigma,
            lambda,
            gamma,
            theta,
            theta_step,
            pooling,
            response,
            orthogonal_planes,
            truncate,
        })
    }

    pub fn name(&self) -> String {
        let deg = |r: f64| fmt_num(r.to_degrees());
        let mut s = format!(
            "gabor_s{}mm_l{}mm_g{}_t{}deg",
            fmt_num(self.sigma),
            fmt_num(self.lambda),
            fmt_num(self.gamma),
            deg(self.theta)
        );
        if let Some(step) = self.theta_step {
            s += &format!("_step{}deg_{}", deg(step), self.pooling.name());
        }
        s += "_";
        s += self.response.name();
        if self.truncate != DEFAULT_TRUNCATE {
            s += &format!("_tr{}", fmt_num(self.truncate));
        }
        if self.orthogonal_planes {
            s += "_3planes";
        }
        s
    }

    /// Kernel half-width in voxels along an axis of spacing `s` (mm).
    fn radius(&self, s: f64) -> usize {
        let reach = self.truncate * self.sigma * (1.0f64).max(1.0 / self.gamma);
        (reach / s - 1e-9).ceil().max(0.0) as usize
    }

    pub fn margin(&self, c: &Common, spacing: [f64; 3]) -> Option<[usize; 3]> {
        let z = if self.orthogonal_planes && c.dims == FilterDims::D3 {
            self.radius(spacing[2])
        } else {
            0
        };
        Some([self.radius(spacing[0]), self.radius(spacing[1]), z])
    }

    /// The orientations whose responses are pooled (half of them when the
    /// other half gives the same map).
    fn orientations(&self) -> Vec<f64> {
        let Some(step) = self.theta_step else {
            return vec![self.theta];
        };
        let mut n = orientation_count(step);
        let half = PI / step;
        let symmetric = matches!(self.response, Response::Modulus | Response::Real)
            && (half - half.round()).abs() <= 1e-9 * half
            && n == 2 * half.round() as usize;
        if symmetric {
            n /= 2;
        }
        (0..n).map(|k| self.theta + k as f64 * step).collect()
    }

    pub fn apply(&self, c: &Common, image: &Volume<f32>) -> Result<Volume<f32>> {
        if self.orthogonal_planes && c.dims == FilterDims::D2 {
            return Err(Error::Invalid(
                "gabor filter: orthogonalPlanes needs dims 3D".into(),
            ));
        }
        let dims = image.geometry.dims;
        let spacing = image.geometry.spacing;
        // (a, b, stack axis) of each plane.
        let planes: &[[usize; 3]] = if self.orthogonal_planes {
            &[[0, 1, 2], [0, 2, 1], [1, 2, 0]]
        } else {
            &[[0, 1, 2]]
        };
        for p in planes {
            for &ax in &p[..2] {
                check_kernel_fits("gabor filter", self.radius(spacing[ax]), dims, &[ax])?;
            }
        }
        let mut out = vec![0.0f32; image.data.len()];
        if out.is_empty() {
            return Ok(with_data(image, out));
        }
        for (i, &axes) in planes.iter().enumerate() {
            self.filter_planes(
                &image.data,
                dims,
                spacing,
                axes,
                c.boundary,
                &mut out,
                i > 0,
            );
        }
        if planes.len() > 1 {
            let k = 1.0 / planes.len() as f64;
            out.iter_mut().for_each(|v| *v = (*v as f64 * k) as f32);
        }
        Ok(with_data(image, out))
    }

    /// The complex kernel of orientation `theta` in the FFT grid of `plan`
    /// (centre at index 0, wrapped), and its spectrum in the plan's layout.
    fn kernel_spectrum(&self, theta: f64, plan: &PlaneFft, sab: [f64; 2]) -> Vec<C64> {
        let mut buf = vec![C64::new(0.0, 0.0); plan.len()];
        let (sin, cos) = theta.sin_cos();
        let (ra, rb) = (plan.ra as isize, plan.rb as isize);
        let inv2s2 = 1.0 / (2.0 * self.sigma * self.sigma);
        let g2 = self.gamma * self.gamma;
        let k = 2.0 * PI / self.lambda;
        for kb in -rb..=rb {
            let v = kb as f64 * sab[1];
            let row = kb.rem_euclid(plan.fb as isize) as usize * plan.fa;
            for ka in -ra..=ra {
                let u = ka as f64 * sab[0];
                let ut = u * cos + v * sin;
                let vt = -u * sin + v * cos;
                let env = (-(ut * ut + g2 * vt * vt) * inv2s2).exp();
                buf[row + ka.rem_euclid(plan.fa as isize) as usize] = C64::from_polar(env, k * ut);
            }
        }
        let mut spec = vec![C64::new(0.0, 0.0); plan.len()];
        let mut scratch = vec![C64::new(0.0, 0.0); plan.scratch_len];
        plan.forward(&mut buf, &mut spec, &mut scratch);
        spec
    }

    /// Filter every plane spanned by `axes[0..2]` (stacked along `axes[2]`)
    /// and write (or add) the pooled response into `out`.
    #[allow(clippy::too_many_arguments)]
    fn filter_planes(
        &self,
        data: &[f32],
        dims: [usize; 3],
        spacing: [f64; 3],
        axes: [usize; 3],
        boundary: Boundary,
        out: &mut [f32],
        add: bool,
    ) {
        let [a, b, c] = axes;
        let (na, nb, nc) = (dims[a], dims[b], dims[c]);
        let stride = [1, dims[0], dims[0] * dims[1]];
        let (sa, sb, sc) = (stride[a], stride[b], stride[c]);
        let ra = self.radius(spacing[a]);
        let rb = self.radius(spacing[b]);
        let plan = PlaneFft::new(na, nb, ra, rb);
        // Source index of every position of the extended plane (None: zero).
        let map_a: Vec<Option<usize>> = (0..na + 2 * ra)
            .map(|i| boundary.map(i as isize - ra as isize, na))
            .collect();
        let map_b: Vec<Option<usize>> = (0..nb + 2 * rb)
            .map(|i| boundary.map(i as isize - rb as isize, nb))
            .collect();
        let thetas = self.orientations();
        let spec_bytes = plan.len() * std::mem::size_of::<C64>();
        let sab = [spacing[a], spacing[b]];
        let cache: Option<Vec<Vec<C64>>> =
            (thetas.len() * spec_bytes <= KERNEL_CACHE_BYTES).then(|| {
                thetas
                    .par_iter()
                    .map(|&t| self.kernel_spectrum(t, &plan, sab))
                    .collect()
            });
        let batch = (BATCH_BYTES / spec_bytes)
            .clamp(1, 64)
            .max(rayon::current_num_threads())
            .min(nc);
        let zero = C64::new(0.0, 0.0);
        let init = match self.pooling {
            Pooling::Average => 0.0,
            Pooling::Max => f64::NEG_INFINITY,
            Pooling::Min => f64::INFINITY,
        };
        let norm = 1.0 / plan.len() as f64;
        let response = self.response;
        let pooling = self.pooling;
        for start in (0..nc).step_by(batch) {
            let stop = (start + batch).min(nc);
            // Spectra of the extended planes of this batch.
            let spectra: Vec<Vec<C64>> = (start..stop)
                .into_par_iter()
                .map_init(
                    || (vec![zero; plan.len()], vec![zero; plan.scratch_len]),
                    |(buf, scratch), p| {
                        buf.iter_mut().for_each(|z| *z = zero);
                        for (j, mb) in map_b.iter().enumerate() {
                            let Some(jb) = mb else { continue };
                            let row = &mut buf[j * plan.fa..];
                            let base = jb * sb + p * sc;
                            for (i, ma) in map_a.iter().enumerate() {
                                if let Some(ia) = ma {
                                    row[i] = C64::new(data[base + ia * sa] as f64, 0.0);
                                }
                            }
                        }
                        let mut spec = vec![zero; plan.len()];
                        plan.forward(buf, &mut spec, scratch);
                        spec
                    },
                )
                .collect();
            let mut pooled: Vec<Vec<f64>> = vec![vec![init; na * nb]; stop - start];
            for (t, &theta) in thetas.iter().enumerate() {
                let owned;
                let h: &[C64] = match &cache {
                    Some(c) => &c[t],
                    None => {
                        owned = self.kernel_spectrum(theta, &plan, sab);
                        &owned
                    }
                };
                spectra.par_iter().zip(pooled.par_iter_mut()).for_each_init(
                    || {
                        (
                            vec![zero; plan.len()],
                            vec![zero; plan.fa * nb],
                            vec![zero; plan.scratch_len],
                        )
                    },
                    |(tmp, win, scratch), (spec, acc)| {
                        tmp.iter_mut()
                            .zip(spec.iter().zip(h))
                            .for_each(|(t, (&f, &k))| *t = f * k);
                        plan.inverse_window(tmp, win, scratch);
                        for j in 0..nb {
                            let row = &win[j * plan.fa + ra..j * plan.fa + ra + na];
                            let dst = &mut acc[j * na..(j + 1) * na];
                            for (d, &z) in dst.iter_mut().zip(row) {
                                let v = response.of(z * norm);
                                *d = match pooling {
                                    Pooling::Average => *d + v,
                                    Pooling::Max => d.max(v),
                                    Pooling::Min => d.min(v),
                                };
                            }
                        }
                    },
                );
            }
            let scale = match pooling {
                Pooling::Average => 1.0 / thetas.len() as f64,
                _ => 1.0,
            };
            for (k, acc) in pooled.iter().enumerate() {
                let p = start + k;
                for j in 0..nb {
                    for i in 0..na {
                        let v = (acc[j * na + i] * scale) as f32;
                        let o = &mut out[i * sa + j * sb + p * sc];
                        *o = if add { *o + v } else { v };
                    }
                }
            }
        }
    }
}

/// Smallest n ≥ `min` with no prime factor above 7 (fast FFT sizes).
fn fft_size(min: usize) -> usize {
    let mut n = min.max(1);
    loop {
        let mut m = n;
        for p in [2, 3, 5, 7] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        if m == 1 {
            return n;
        }
        n += 1;
    }
}

/// 2D FFTs of one plane extended by the kernel radius: `fa × fb` points
/// (≥ n + 2r per axis, so the circular convolution never wraps into the
/// window that is kept). Signals are stored `b`-major (`a` fastest); spectra
/// transposed (`b` fastest).
struct PlaneFft {
    nb: usize,
    ra: usize,
    rb: usize,
    fa: usize,
    fb: usize,
    fwd_a: Arc<dyn Fft<f64>>,
    fwd_b: Arc<dyn Fft<f64>>,
    inv_a: Arc<dyn Fft<f64>>,
    inv_b: Arc<dyn Fft<f64>>,
    scratch_len: usize,
}

impl PlaneFft {
    fn new(na: usize, nb: usize, ra: usize, rb: usize) -> PlaneFft {
        let fa = fft_size(na + 2 * ra);
        let fb = fft_size(nb + 2 * rb);
        let mut planner = FftPlanner::<f64>::new();
        let fwd_a = planner.plan_fft_forward(fa);
        let fwd_b = planner.plan_fft_forward(fb);
        let inv_a = planner.plan_fft_inverse(fa);
        let inv_b = planner.plan_fft_inverse(fb);
        let scratch_len = [&fwd_a, &fwd_b, &inv_a, &inv_b]
            .iter()
            .map(|f| f.get_inplace_scratch_len())
            .max()
            .unwrap_or(0);
        PlaneFft {
            nb,
            ra,
            rb,
            fa,
            fb,
            fwd_a,
            fwd_b,
            inv_a,
            inv_b,
            scratch_len,
        }
    }

    fn len(&self) -> usize {
        self.fa * self.fb
    }

    /// Spectrum of `buf` (overwritten) into `spec`: `spec[ka·fb + kb]`.
    fn forward(&self, buf: &mut [C64], spec: &mut [C64], scratch: &mut [C64]) {
        self.fwd_a.process_with_scratch(buf, scratch);
        transpose(buf, spec, self.fb, self.fa);
        self.fwd_b.process_with_scratch(spec, scratch);
    }

    /// Inverse transform of `spec` (overwritten), unnormalised, keeping the
    /// rows `b = rb … rb + nb − 1`: `win[(b − rb)·fa + a]`.
    fn inverse_window(&self, spec: &mut [C64], win: &mut [C64], scratch: &mut [C64]) {
        self.inv_b.process_with_scratch(spec, scratch);
        for (ka, col) in spec.chunks_exact(self.fb).enumerate() {
            for (j, &z) in col[self.rb..self.rb + self.nb].iter().enumerate() {
                win[j * self.fa + ka] = z;
            }
        }
        self.inv_a.process_with_scratch(win, scratch);
    }
}

/// `dst[c·rows + r] = src[r·cols + c]` for a `rows × cols` matrix, in tiles.
fn transpose(src: &[C64], dst: &mut [C64], rows: usize, cols: usize) {
    const T: usize = 16;
    for r0 in (0..rows).step_by(T) {
        for c0 in (0..cols).step_by(T) {
            for r in r0..(r0 + T).min(rows) {
                for c in c0..(c0 + T).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::parse_filters;
    use crate::volume::Geometry;
    use std::path::Path;

    fn config(sigma: f64, lambda: f64, gamma: f64, theta: f64) -> Config {
        Config {
            sigma,
            lambda,
            gamma,
            theta,
            theta_step: None,
            pooling: Pooling::Average,
            response: Response::Modulus,
            orthogonal_planes: false,
            truncate: DEFAULT_TRUNCATE,
        }
    }

    fn common(boundary: Boundary, dims: FilterDims) -> Common {
        Common { boundary, dims }
    }

    /// Deterministic pseudo-random image.
    fn noise(dims: [usize; 3], spacing: [f64; 3]) -> Volume<f32> {
        let mut s = 12345u64;
        let data = (0..dims.iter().product::<usize>())
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        Volume::from_vec(Geometry::new(dims, spacing, [0.0; 3]), data).unwrap()
    }

    #[test]
    fn plane_wave_at_the_gabor_frequency_gives_the_envelope_gain() {
        // Anisotropic in-plane spacing: the kernel lives in mm, so the gain is
        // ∫ envelope / voxel area = 2πσ·(σ/γ) / (s_x s_y), halved because a
        // cosine is two complex waves of which only one passes.
        let (sigma, lambda, gamma) = (6.0, 8.0, 1.5);
        let spacing = [0.5, 1.0, 3.0];
        let dims = [64, 48, 2]; // 32 mm = 4λ and 48 mm = 6λ: periodic waves
        let gain = PI * sigma * (sigma / gamma) / (spacing[0] * spacing[1]);
        for theta in [0.0, PI / 2.0] {
            let g = Geometry::new(dims, spacing, [0.0; 3]);
            let mut img = Volume::filled(g, 0.0f32);
            for z in 0..dims[2] {
                for y in 0..dims[1] {
                    for x in 0..dims[0] {
                        let t = x as f64 * spacing[0] * theta.cos()
                            + y as f64 * spacing[1] * theta.sin();
                        img.set(x, y, z, (2.0 * PI * t / lambda).cos() as f32);
                    }
                }
            }
            let c = common(Boundary::Periodic, FilterDims::D2);
            let out = config(sigma, lambda, gamma, theta).apply(&c, &img).unwrap();
            for &v in &out.data {
                assert!(
                    (v as f64 / gain - 1.0).abs() < 1e-3,
                    "θ {theta}: {v} vs {gain}"
                );
            }
            // The orthogonal orientation does not respond.
            let out = config(sigma, lambda, gamma, theta + PI / 2.0)
                .apply(&c, &img)
                .unwrap();
            assert!(out.data.iter().all(|&v| (v as f64) < 1e-3 * gain));
        }
    }

    #[test]
    fn constant_image_response_is_the_envelope_spectrum_at_the_wave() {
        // The kernel is not zero-mean: a constant c gives c·Σh = c·2πσ²/γ ·
        // exp(−2π²σ²/λ²), small once σ is a few λ.
        let g = Geometry::new([40, 40, 1], [1.0; 3], [0.0; 3]);
        let img = Volume::filled(g, 1.0f32);
        let c = common(Boundary::Mirror, FilterDims::D2);
        for (sigma, lambda, gamma) in [(2.0, 8.0, 1.0), (3.0, 6.0, 2.0), (6.0, 3.0, 1.0)] {
            let expect = 2.0 * PI * sigma * sigma / gamma
                * (-2.0 * PI * PI * sigma * sigma / (lambda * lambda)).exp();
            let out = config(sigma, lambda, gamma, 0.3).apply(&c, &img).unwrap();
            let gain = 2.0 * PI * sigma * sigma / gamma;
            for &v in &out.data {
                assert!((v as f64 - expect).abs() < 1e-4 * gain, "{v} vs {expect}");
            }
        }
    }

    #[test]
    fn impulse_response_is_the_envelope_turned_from_x_towards_y() {
        // |h * δ| = envelope; θ turns the wave axis ũ from x towards y.
        let (sigma, gamma, theta) = (3.0, 0.5, PI / 3.0);
        let g = Geometry::new([41, 41, 3], [1.0; 3], [0.0; 3]);
        let mut img = Volume::filled(g, 0.0f32);
        img.set(20, 20, 1, 1.0);
        let c = common(Boundary::Zero, FilterDims::D2);
        let cfg = Config {
            truncate: 20.0 / 6.0, // the kernel (radius 20) covers the slice
            ..config(sigma, 3.0, gamma, theta)
        };
        let out = cfg.apply(&c, &img).unwrap();
        for y in 0..41 {
            for x in 0..41 {
                let (u, v) = (x as f64 - 20.0, y as f64 - 20.0);
                let ut = u * theta.cos() + v * theta.sin();
                let vt = -u * theta.sin() + v * theta.cos();
                let env = (-(ut * ut + gamma * gamma * vt * vt) / (2.0 * sigma * sigma)).exp();
                assert!((out.get(x, y, 1) as f64 - env).abs() < 1e-6, "({x}, {y})");
                assert_eq!(out.get(x, y, 0), 0.0);
            }
        }
    }

    #[test]
    fn pooled_response_is_the_pool_of_single_orientations() {
        let img = noise([24, 20, 2], [1.0, 1.2, 2.0]);
        let c = common(Boundary::Mirror, FilterDims::D2);
        let base = config(3.0, 5.0, 0.7, 0.2);
        for pooling in [Pooling::Average, Pooling::Max, Pooling::Min] {
            for response in [Response::Modulus, Response::Imaginary] {
                let cfg = Config {
                    theta_step: Some(PI / 4.0),
                    pooling,
                    response,
                    ..base.clone()
                };
                let pooled = cfg.apply(&c, &img).unwrap();
                let singles: Vec<Volume<f32>> = (0..8)
                    .map(|k| {
                        let one = Config {
                            theta: 0.2 + k as f64 * PI / 4.0,
                            response,
                            ..base.clone()
                        };
                        one.apply(&c, &img).unwrap()
                    })
                    .collect();
                for i in 0..img.data.len() {
                    let vals = singles.iter().map(|s| s.data[i] as f64);
                    let want = match pooling {
                        Pooling::Average => vals.sum::<f64>() / 8.0,
                        Pooling::Max => vals.fold(f64::NEG_INFINITY, f64::max),
                        Pooling::Min => vals.fold(f64::INFINITY, f64::min),
                    };
                    assert!(
                        (pooled.data[i] as f64 - want).abs() < 1e-4,
                        "{pooling:?} {response:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn rotation_invariant_response_turns_with_the_image() {
        // A quarter turn of the image, R(x, y) = I(n−1−y, x), turns the pooled
        // response with it when the orientations are closed under quarter turns.
        let n = 32;
        let img = noise([n, n, 1], [1.0; 3]);
        let mut rot = img.clone();
        for y in 0..n {
            for x in 0..n {
                rot.set(x, y, 0, img.get(n - 1 - y, x, 0));
            }
        }
        let c = common(Boundary::Mirror, FilterDims::D2);
        let single = config(3.0, 5.0, 0.6, PI / 8.0);
        let invariant = Config {
            theta_step: Some(PI / 4.0),
            ..single.clone()
        };
        let worst = |cfg: &Config| {
            let a = cfg.apply(&c, &img).unwrap();
            let b = cfg.apply(&c, &rot).unwrap();
            let mut w = 0.0f64;
            for y in 0..n {
                for x in 0..n {
                    w = w.max((b.get(x, y, 0) - a.get(n - 1 - y, x, 0)).abs() as f64);
                }
            }
            w
        };
        assert!(worst(&invariant) < 1e-4);
        assert!(
            worst(&single) > 0.1,
            "a single orientation is not invariant"
        );
    }

    #[test]
    fn orthogonal_planes_average_three_plane_filters() {
        let (n, r) = (21usize, 10usize);
        let g = Geometry::new([n; 3], [1.0; 3], [0.0; 3]);
        let mut img = Volume::filled(g, 0.0f32);
        img.set(r, r, r, 3.0);
        let cfg = Config {
            orthogonal_planes: true,
            ..config(2.0, 3.0, 1.0, 0.0)
        };
        let c = common(Boundary::Zero, FilterDims::D3);
        let out = cfg.apply(&c, &img).unwrap();
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    // The envelope, cut at the kernel radius ⌈4σ⌉ = 8.
                    let d2 = |p: usize, q: usize| {
                        let (p, q) = (p as f64 - r as f64, q as f64 - r as f64);
                        if p.abs().max(q.abs()) > 8.0 {
                            0.0
                        } else {
                            (-(p * p + q * q) / 8.0).exp()
                        }
                    };
                    let mut want = 0.0;
                    if z == r {
                        want += d2(x, y);
                    }
                    if y == r {
                        want += d2(x, z);
                    }
                    if x == r {
                        want += d2(y, z);
                    }
                    assert!(
                        (out.get(x, y, z) as f64 - want).abs() < 1e-5,
                        "({x},{y},{z}): {} vs {want}",
                        out.get(x, y, z)
                    );
                }
            }
        }
        assert_eq!(cfg.margin(&c, [1.0, 1.0, 2.0]), Some([8, 8, 4]));
        let axial = config(2.0, 3.0, 1.0, 0.0);
        assert_eq!(axial.margin(&c, [0.5, 1.0, 2.0]), Some([16, 8, 0]));
        let c2 = common(Boundary::Zero, FilterDims::D2);
        assert!(cfg.apply(&c2, &img).is_err());
    }

    #[test]
    fn keys_are_parsed_named_and_checked() {
        let p = Path::new("p.yaml");
        let parse = |s: &str| parse_filters(&serde_norway::from_str(s).unwrap(), p);
        let f = parse(
            "- {type: gabor, sigma: 5, lambda: 2, gamma: 3/2, theta: 0, thetaStep: pi/8, \
             pooling: average, response: modulus, orthogonalPlanes: true, dims: 3D, boundary: mirror}",
        )
        .unwrap();
        assert_eq!(
            f[0].name,
            "gabor_s5mm_l2mm_g1.5_t0deg_step22.5deg_avg_mod_3planes_3D_mirror"
        );
        let super::super::FilterKind::Gabor(cfg) = &f[0].kind else {
            panic!("not a gabor filter")
        };
        assert_eq!(cfg.orientations().len(), 8);
        let f = parse("- {type: gabor, sigma: 20, lambda: 8, gamma: 5/2, theta: 5pi/4, dims: 2D}")
            .unwrap();
        assert_eq!(f[0].name, "gabor_s20mm_l8mm_g2.5_t225deg_mod_2D_mirror");
        for (yaml, key) in [
            ("{type: gabor, sigma: -1, lambda: 2, gamma: 1}", "sigma"),
            ("{type: gabor, lambda: 2, gamma: 1}", "sigma"),
            ("{type: gabor, sigma: 1, lambda: 0, gamma: 1}", "lambda"),
            ("{type: gabor, sigma: 1, lambda: 2, gamma: -2}", "gamma"),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, thetaStep: 0}",
                "thetaStep",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, thetaStep: pi/1000}",
                "thetaStep",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, pooling: max}",
                "pooling",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, thetaStep: 1, pooling: median}",
                "pooling",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, response: energy}",
                "response",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, orthogonalPlanes: true, dims: 2D}",
                "orthogonalPlanes",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, orthogonalPlanes: yes please}",
                "orthogonalPlanes",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, truncate: 0}",
                "truncate",
            ),
            (
                "{type: gabor, sigma: 1, lambda: 2, gamma: 1, theta: north}",
                "theta",
            ),
        ] {
            let e = parse(&format!("- {yaml}")).unwrap_err().to_string();
            assert!(e.contains(&format!("'{key}'")), "{yaml}: {e}");
        }
    }
}
