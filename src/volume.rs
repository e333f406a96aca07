//! Voxel grids with patient-space geometry.
//!
//! Every stage of ctrad (readers, preprocessing, features, batch) exchanges
//! [`Volume`]s. Voxels are stored x-fastest: `index = x + nx * (y + ny * z)`.
//! World (patient, LPS for DICOM / RAS for NIfTI as read) coordinates of a voxel
//! index `(i, j, k)` are `origin + D · (spacing ⊙ (i, j, k))`, where the columns
//! of the direction matrix `D` are the unit vectors of the three grid axes.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Tolerance for comparing geometries read from different files (mm / cosines).
pub const GEOMETRY_TOLERANCE: f64 = 1e-3;

/// The cross product `a × b` of two 3-vectors.
#[inline]
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Grid size, voxel spacing, origin and axis directions of a volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Number of voxels along x, y, z (grid axes, not world axes).
    pub dims: [usize; 3],
    /// Voxel spacing in mm along each grid axis.
    pub spacing: [f64; 3],
    /// World position (mm) of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Direction cosines, row-major: `direction[r][c]` is the r-th world
    /// component of grid axis c.
    pub direction: [[f64; 3]; 3],
}

impl Geometry {
    /// Axis-aligned geometry with identity directions.
    pub fn new(dims: [usize; 3], spacing: [f64; 3], origin: [f64; 3]) -> Self {
        Geometry {
            dims,
            spacing,
            origin,
            direction: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        }
    }

    /// Total number of voxels.
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// True when any dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Linear index of voxel (x, y, z).
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.dims[0] * (y + self.dims[1] * z)
    }

    /// Voxel coordinates of a linear index.
    #[inline]
    pub fn coords(&self, idx: usize) -> [usize; 3] {
        let nx = self.dims[0];
        let ny = self.dims[1];
        [idx % nx, (idx / nx) % ny, idx / (nx * ny)]
    }

    /// World position (mm) of a (possibly fractional) voxel index.
    pub fn index_to_world(&self, ijk: [f64; 3]) -> [f64; 3] {
        let mut w = self.origin;
        for (r, wr) in w.iter_mut().enumerate() {
            *wr += (0..3)
                .map(|c| self.direction[r][c] * self.spacing[c] * ijk[c])
                .sum::<f64>();
        }
        w
    }

    /// Fractional voxel index of a world position (inverse of [`index_to_world`]).
    /// Assumes orthonormal direction cosines.
    ///
    /// [`index_to_world`]: Geometry::index_to_world
    pub fn world_to_index(&self, p: [f64; 3]) -> [f64; 3] {
        let d = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        let mut ijk = [0.0; 3];
        for (c, v) in ijk.iter_mut().enumerate() {
            let dot: f64 = (0..3).map(|r| self.direction[r][c] * d[r]).sum();
            *v = dot / self.spacing[c];
        }
        ijk
    }

    /// The grid of the box `lo..=hi` (voxel indices, inclusive): the same
    /// spacing and directions, the origin at voxel `lo`.
    pub fn crop(&self, lo: [usize; 3], hi: [usize; 3]) -> Geometry {
        Geometry {
            dims: std::array::from_fn(|a| hi[a] - lo[a] + 1),
            spacing: self.spacing,
            origin: self.index_to_world([lo[0] as f64, lo[1] as f64, lo[2] as f64]),
            direction: self.direction,
        }
    }

    /// The last voxel index along each axis (`dims - 1`; the grid is not empty).
    pub fn last(&self) -> [usize; 3] {
        std::array::from_fn(|a| self.dims[a].saturating_sub(1))
    }

    /// Describe the first difference to `other`, or `None` when both grids agree
    /// within [`GEOMETRY_TOLERANCE`].
    pub fn mismatch(&self, other: &Geometry) -> Option<String> {
        if self.dims != other.dims {
            return Some(format!("size {:?} vs {:?}", self.dims, other.dims));
        }
        let close = |a: f64, b: f64| (a - b).abs() <= GEOMETRY_TOLERANCE * a.abs().max(1.0);
        if !(0..3).all(|i| close(self.spacing[i], other.spacing[i])) {
            return Some(format!(
                "spacing {:?} vs {:?} mm",
                self.spacing, other.spacing
            ));
        }
        // Origins may differ by rounding in the writer: allow 1 % of a voxel.
        if !(0..3).all(|i| {
            (self.origin[i] - other.origin[i]).abs()
                <= 0.01 * self.spacing.iter().cloned().fold(f64::MAX, f64::min)
                || close(self.origin[i], other.origin[i])
        }) {
            return Some(format!("origin {:?} vs {:?} mm", self.origin, other.origin));
        }
        if !(0..3).all(|r| {
            (0..3)
                .all(|c| (self.direction[r][c] - other.direction[r][c]).abs() <= GEOMETRY_TOLERANCE)
        }) {
            return Some(format!(
                "direction {:?} vs {:?}",
                self.direction, other.direction
            ));
        }
        None
    }
}

/// A voxel grid of values of type `T` with its geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume<T> {
    pub geometry: Geometry,
    pub data: Vec<T>,
}

/// A binary region-of-interest mask on a grid.
pub type Mask = Volume<bool>;

impl<T: Copy> Volume<T> {
    /// Wrap `data` (x-fastest) as a volume; the length must match the geometry.
    pub fn from_vec(geometry: Geometry, data: Vec<T>) -> Result<Self> {
        if data.len() != geometry.len() {
            return Err(Error::Invalid(format!(
                "volume data has {} voxels but the grid {:?} needs {}",
                data.len(),
                geometry.dims,
                geometry.len()
            )));
        }
        Ok(Volume { geometry, data })
    }

    /// A volume filled with `value`.
    pub fn filled(geometry: Geometry, value: T) -> Self {
        let n = geometry.len();
        Volume {
            geometry,
            data: vec![value; n],
        }
    }

    #[inline]
    pub fn dims(&self) -> [usize; 3] {
        self.geometry.dims
    }

    #[inline]
    pub fn spacing(&self) -> [f64; 3] {
        self.geometry.spacing
    }

    #[inline]
    pub fn get(&self, x: usize, y: usize, z: usize) -> T {
        self.data[self.geometry.index(x, y, z)]
    }

    #[inline]
    pub fn set(&mut self, x: usize, y: usize, z: usize, v: T) {
        let i = self.geometry.index(x, y, z);
        self.data[i] = v;
    }

    /// The box `lo..=hi` (voxel indices, inclusive) as a volume of its own,
    /// placed at the same world position.
    pub fn crop(&self, lo: [usize; 3], hi: [usize; 3]) -> Volume<T> {
        let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let mut data = Vec::with_capacity(dims[0] * dims[1] * dims[2]);
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                let row = self.geometry.index(lo[0], y, z);
                data.extend_from_slice(&self.data[row..row + dims[0]]);
            }
        }
        Volume {
            geometry: self.geometry.crop(lo, hi),
            data,
        }
    }

    /// This volume, the box of `grid` starting at voxel `at`, placed in the
    /// box `lo..=hi` of `grid`, `fill` where it does not reach.
    pub fn reframe(
        &self,
        grid: &Geometry,
        at: [usize; 3],
        lo: [usize; 3],
        hi: [usize; 3],
        fill: T,
    ) -> Volume<T> {
        let [nx, ny, nz] = self.geometry.dims;
        let dims: [usize; 3] = std::array::from_fn(|a| hi[a] - lo[a] + 1);
        let mut data = vec![fill; dims[0] * dims[1] * dims[2]];
        // The overlap of both boxes, in the larger grid.
        let from: [usize; 3] = std::array::from_fn(|a| at[a].max(lo[a]));
        let to: [usize; 3] = std::array::from_fn(|a| (at[a] + [nx, ny, nz][a]).min(hi[a] + 1));
        if (0..3).all(|a| from[a] < to[a]) {
            let len = to[0] - from[0];
            for z in from[2]..to[2] {
                for y in from[1]..to[1] {
                    let src = self.geometry.index(from[0] - at[0], y - at[1], z - at[2]);
                    let dst = (from[0] - lo[0]) + dims[0] * ((y - lo[1]) + dims[1] * (z - lo[2]));
                    data[dst..dst + len].copy_from_slice(&self.data[src..src + len]);
                }
            }
        }
        Volume {
            geometry: grid.crop(lo, hi),
            data,
        }
    }

    /// Apply `f` to every voxel, keeping the geometry.
    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Volume<U> {
        Volume {
            geometry: self.geometry.clone(),
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }
}

impl Mask {
    /// Number of voxels inside the mask.
    pub fn count(&self) -> usize {
        // Byte counters over chunks of at most 255 voxels vectorise (16 per
        // SSE2 instruction); counting into usize one voxel at a time does
        // not. About 7× faster on a 2.5 M-voxel mask.
        self.data
            .chunks(255)
            .map(|c| usize::from(c.iter().fold(0u8, |n, &b| n + u8::from(b))))
            .sum()
    }

    /// Inclusive voxel bounding box `(min, max)` of the mask, `None` when empty.
    pub fn bounding_box(&self) -> Option<([usize; 3], [usize; 3])> {
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        let mut any = false;
        let nx = self.geometry.dims[0].max(1);
        for (r, row) in self.data.chunks_exact(nx).enumerate() {
            // Row by row: the first and last voxel of a row bound x.
            let bytes = bool_bytes(row);
            let Some(first) = memchr::memchr(1, bytes) else {
                continue;
            };
            let last = memchr::memrchr(1, bytes).unwrap_or(first);
            let (y, z) = (r % self.geometry.dims[1], r / self.geometry.dims[1]);
            any = true;
            lo = [lo[0].min(first), lo[1].min(y), lo[2].min(z)];
            hi = [hi[0].max(last), hi[1].max(y), hi[2].max(z)];
        }
        any.then_some((lo, hi))
    }
}

/// The bytes of a `bool` slice (each 0 or 1), for byte-wise search.
fn bool_bytes(b: &[bool]) -> &[u8] {
    // SAFETY: `bool` has the size and alignment of `u8`, and every `bool`
    // is a valid `u8` (0 or 1); the slice is only read.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u8>(), b.len()) }
}

/// A label map as read from a segmentation file (0 = background).
pub type LabelVolume = Volume<f32>;

impl LabelVolume {
    /// Voxels equal to `label`, or every non-zero voxel when `label` is `None`.
    pub fn select(&self, label: Option<i64>) -> Mask {
        self.map(label_predicate(label))
    }
}

/// Whether a label-map value belongs to the mask of `label`: within 1e-3 of
/// it (so it rounds to it; false for NaN and ±Inf), or any non-zero, non-NaN
/// value when `label` is `None`.
pub fn label_predicate(label: Option<i64>) -> impl Fn(f32) -> bool + Copy {
    let l = label.map(|l| l as f64);
    move |v: f32| match l {
        Some(l) => (v as f64 - l).abs() < 1e-3,
        None => v != 0.0 && !v.is_nan(),
    }
}

/// Check that an image and its mask share one grid.
pub fn check_same_grid(
    image: &Geometry,
    image_path: &Path,
    mask: &Geometry,
    mask_path: &Path,
) -> Result<()> {
    match image.mismatch(mask) {
        None => Ok(()),
        Some(reason) => Err(Error::GeometryMismatch {
            image: image_path.to_path_buf(),
            mask: mask_path.to_path_buf(),
            reason,
        }),
    }
}

/// Count, sum, minimum and maximum of an image's intensities, accumulated
/// slice by slice in storage order, so a reader can summarise a whole scan
/// while keeping only the part it needs.
///
/// The sum equals a sequential `f64` sum over the voxels in storage order,
/// bit for bit. While every value so far is an integer below 2²⁴ in
/// magnitude (CT in HU) and the total stays far from 2⁵³, every partial sum
/// of that sequential sum is an exact integer, so it is kept exactly (in
/// `i64`, in any order, vectorised); from the first other value on, the sum
/// continues sequentially in `f64`. Minimum and maximum ignore NaN, as
/// `f32::min`/`f32::max` folds do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntensitySummary {
    /// Number of voxels added.
    pub count: usize,
    /// The exact sum while it is one (see above).
    exact: Option<i64>,
    /// The sequential sum once it is not.
    sum: f64,
    pub min: f32,
    pub max: f32,
}

impl Default for IntensitySummary {
    fn default() -> Self {
        IntensitySummary {
            count: 0,
            exact: Some(0),
            sum: 0.0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }
}

impl IntensitySummary {
    /// Largest magnitude of a value summed exactly (every integer below it is an `f32`).
    const EXACT_VALUE: f32 = 16_777_216.0;
    /// Partial sums below this are exact in `f64`.
    const EXACT_SUM: i64 = 1 << 53;

    /// The summary of `values` (storage order).
    pub fn of(values: &[f32]) -> Self {
        let mut s = IntensitySummary::default();
        s.add(values, false);
        s
    }

    /// Add the next voxels in storage order, rounded to integers first
    /// (half away from zero, as `f32::round`) when `round`.
    pub fn add(&mut self, values: &[f32], round: bool) {
        if round {
            let mut buf = [0f32; 4096];
            for chunk in values.chunks(buf.len()) {
                let b = &mut buf[..chunk.len()];
                for (o, v) in b.iter_mut().zip(chunk) {
                    *o = v.round();
                }
                self.add_exact_values(b);
            }
        } else {
            self.add_exact_values(values);
        }
    }

    fn add_exact_values(&mut self, values: &[f32]) {
        self.count += values.len();
        // Eight independent lanes so the loop vectorises; `v < min` keeps
        // the minimum when `v` is NaN, as `f32::min` does.
        const L: usize = 8;
        let mut min = [self.min; L];
        let mut max = [self.max; L];
        let mut integral = [true; L];
        // Integers below 2^24 summed in f64 lanes: exact (the caller's bound
        // keeps every partial sum below 2^53), so their total is the exact sum.
        let mut sum = [0f64; L];
        // `v` where it is an exact candidate, else 0 (NaN included): in
        // range for the unchecked conversion, which vectorises.
        let step = |v: f32, integral: &mut bool, sum: &mut f64| {
            let small = v.abs() < Self::EXACT_VALUE;
            let w = if small { v } else { 0.0 };
            // SAFETY: `w` is finite and below 2^24 in magnitude.
            let i: i32 = unsafe { w.to_int_unchecked() };
            *integral &= small & (i as f32 == v);
            *sum += f64::from(w);
        };
        let mut lanes = values.chunks_exact(L);
        for chunk in &mut lanes {
            for l in 0..L {
                let v = chunk[l];
                min[l] = if v < min[l] { v } else { min[l] };
                max[l] = if v > max[l] { v } else { max[l] };
                step(v, &mut integral[l], &mut sum[l]);
            }
        }
        for &v in lanes.remainder() {
            min[0] = if v < min[0] { v } else { min[0] };
            max[0] = if v > max[0] { v } else { max[0] };
            step(v, &mut integral[0], &mut sum[0]);
        }
        let all_integral = integral.iter().all(|&b| b);
        let exact_sum = sum.iter().sum::<f64>() as i64;
        self.min = min
            .iter()
            .copied()
            .fold(f32::INFINITY, |a, b| if b < a { b } else { a });
        self.max = max
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a });
        if let Some(exact) = self.exact {
            let bound = exact.unsigned_abs() as i64
                + (values.len() as i64).saturating_mul(Self::EXACT_VALUE as i64);
            if all_integral && bound < Self::EXACT_SUM {
                self.exact = Some(exact + exact_sum);
                return;
            }
            self.exact = None;
            self.sum = exact as f64;
        }
        self.sum = values.iter().fold(self.sum, |s, &v| s + v as f64);
    }

    /// The sum of the values (see the type's docs).
    pub fn sum(&self) -> f64 {
        self.exact.map_or(self.sum, |e| e as f64)
    }

    /// The mean (the sum over `max(count, 1)`).
    pub fn mean(&self) -> f64 {
        self.sum() / self.count.max(1) as f64
    }
}

/// The box `lo..=hi` of a grid, assembled from whole axial slices as a
/// reader decodes them (any order; slices outside the box are ignored).
pub struct SliceBox {
    lo: [usize; 3],
    hi: [usize; 3],
    nx: usize,
    volume: Volume<f32>,
}

impl SliceBox {
    /// An empty box of `grid`; an error when `lo..=hi` is not inside it.
    pub fn new(grid: &Geometry, lo: [usize; 3], hi: [usize; 3]) -> Result<SliceBox> {
        if (0..3).any(|a| lo[a] > hi[a] || hi[a] >= grid.dims[a]) {
            return Err(Error::Invalid(format!(
                "box {lo:?}..={hi:?} outside the grid {:?}",
                grid.dims
            )));
        }
        Ok(SliceBox {
            lo,
            hi,
            nx: grid.dims[0],
            volume: Volume::filled(grid.crop(lo, hi), 0.0),
        })
    }

    /// The grid's last slice the box needs.
    pub fn last_z(&self) -> usize {
        self.hi[2]
    }

    /// Keep the box's part of slice `z` of the grid (`slice`: x fastest).
    pub fn keep(&mut self, z: usize, slice: &[f32]) {
        if !(self.lo[2]..=self.hi[2]).contains(&z) {
            return;
        }
        let [bx, by, _] = self.volume.geometry.dims;
        let plane = (z - self.lo[2]) * bx * by;
        for y in 0..by {
            let src = (self.lo[1] + y) * self.nx + self.lo[0];
            let dst = plane + y * bx;
            self.volume.data[dst..dst + bx].copy_from_slice(&slice[src..src + bx]);
        }
    }

    /// The box, on `grid.crop(lo, hi)`.
    pub fn finish(self) -> Volume<f32> {
        self.volume
    }
}

/// A path used in error messages for in-memory data.
pub fn memory_path(what: &str) -> PathBuf {
    PathBuf::from(format!("<{what}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary's sum is the sequential f64 sum, bit for bit, whether
    /// the values are integers (kept exactly) or not, and however they are
    /// split into slices.
    #[test]
    fn summary_sum_is_the_sequential_sum() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let integers: Vec<f32> = (0..100_003)
            .map(|_| (next() % 4096) as f32 - 1024.0)
            .collect();
        let mut mixed = integers.clone();
        mixed[70_001] = 0.1;
        mixed[90_000] = 1e7 + 0.5;
        for data in [&integers, &mixed] {
            let sequential = data.iter().fold(0.0f64, |s, &v| s + v as f64);
            for chunk in [1, 7, 512, 100_003] {
                let mut s = IntensitySummary::default();
                for c in data.chunks(chunk) {
                    s.add(c, false);
                }
                assert_eq!(s.sum().to_bits(), sequential.to_bits(), "chunk {chunk}");
                assert_eq!(s.count, data.len());
                assert_eq!(s.min, data.iter().copied().fold(f32::INFINITY, f32::min));
                assert_eq!(
                    s.max,
                    data.iter().copied().fold(f32::NEG_INFINITY, f32::max)
                );
            }
        }
        let rounded: Vec<f32> = mixed.iter().map(|v| v.round()).collect();
        let mut s = IntensitySummary::default();
        s.add(&mixed, true);
        assert_eq!(s, IntensitySummary::of(&rounded));
        let nan = IntensitySummary::of(&[1.0, f32::NAN, 3.0]);
        assert!(nan.sum().is_nan());
        assert_eq!((nan.min, nan.max), (1.0, 3.0));
    }

    #[test]
    fn reframe_places_a_box_in_another() {
        let g = Geometry::new([6, 5, 4], [0.5, 0.7, 2.0], [1.0, 2.0, 3.0]);
        let data: Vec<i32> = (0..g.len() as i32).collect();
        let v = Volume {
            geometry: g.clone(),
            data,
        };
        let part = v.crop([1, 1, 1], [3, 3, 2]);
        let placed = part.reframe(&g, [1, 1, 1], [0, 1, 1], [4, 4, 3], -1);
        assert_eq!(placed.geometry, g.crop([0, 1, 1], [4, 4, 3]));
        for z in 1..=3 {
            for y in 1..=4 {
                for x in 0..=4 {
                    let inside =
                        (1..=3).contains(&x) && (1..=3).contains(&y) && (1..=2).contains(&z);
                    let want = if inside { v.get(x, y, z) } else { -1 };
                    assert_eq!(placed.get(x, y - 1, z - 1), want, "({x}, {y}, {z})");
                }
            }
        }
    }

    #[test]
    fn mask_count_and_bounding_box() {
        let g = Geometry::new([37, 11, 9], [1.0; 3], [0.0; 3]);
        let data: Vec<bool> = (0..g.len())
            .map(|i| {
                let [x, y, z] = g.coords(i);
                (3..30).contains(&x)
                    && (2..9).contains(&y)
                    && (1..8).contains(&z)
                    && (x + y + z) % 3 != 0
            })
            .collect();
        let expected = data.iter().filter(|&&b| b).count();
        let n = g.len();
        let m = Mask::from_vec(g.clone(), data).unwrap();
        assert_eq!(m.count(), expected);
        assert_eq!(m.bounding_box(), Some(([3, 2, 1], [29, 8, 7])));
        let empty = Mask::from_vec(g, vec![false; n]).unwrap();
        assert_eq!((empty.count(), empty.bounding_box()), (0, None));
    }

    #[test]
    fn index_roundtrip() {
        let g = Geometry::new([3, 4, 5], [1.0, 2.0, 3.0], [10.0, 20.0, 30.0]);
        for i in 0..g.len() {
            let [x, y, z] = g.coords(i);
            assert_eq!(g.index(x, y, z), i);
        }
        let w = g.index_to_world([1.0, 1.0, 1.0]);
        assert_eq!(w, [11.0, 22.0, 33.0]);
        let ijk = g.world_to_index(w);
        assert!((ijk[2] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn mismatch_reports_the_difference() {
        let a = Geometry::new([3, 4, 5], [1.0, 1.0, 1.0], [0.0; 3]);
        let mut b = a.clone();
        assert!(a.mismatch(&b).is_none());
        b.spacing[2] = 2.0;
        assert!(a.mismatch(&b).unwrap().contains("spacing"));
        let mut c = a.clone();
        c.dims[0] = 4;
        assert!(a.mismatch(&c).unwrap().contains("size"));
    }
}
