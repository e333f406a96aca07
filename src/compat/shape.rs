//! PyRadiomics `shape` class (3D): mesh volume and area from its marching
//! cubes variant, diameters over the mesh vertices, axis lengths from the
//! voxel-coordinate covariance.
//!
//! Marching cubes as PyRadiomics' C extension (`cshape`) does it: the label
//! mask is padded with one background voxel on every side; every 2×2×2 cube
//! gets an 8-bit index (corner order below); indices ≥ 128 are complemented
//! and their triangles counted with a negative sign for the volume; the
//! triangles come from the classic Lorensen–Cline table (the first 128 rows,
//! as PyRadiomics ships it), vertices at edge midpoints. Volume is
//! Σ ± (a × b) · c / 6 over triangles with absolute vertex positions a, b, c
//! (mm); area is Σ |(b − a) × (c − a)| / 2.

use super::linalg::symmetric_eigenvalues;
use super::pyradiomics::Crop;
use crate::volume::cross;

/// Edge midpoints (z, y, x) in cube units; edge e joins the corners listed in
/// the comment.
const EDGE_MID: [[f64; 3]; 12] = [
    [0.0, 0.0, 0.5], // 0-1
    [0.0, 0.5, 1.0], // 1-2
    [0.0, 1.0, 0.5], // 2-3
    [0.0, 0.5, 0.0], // 3-0
    [1.0, 0.0, 0.5], // 4-5
    [1.0, 0.5, 1.0], // 5-6
    [1.0, 1.0, 0.5], // 6-7
    [1.0, 0.5, 0.0], // 7-4
    [0.5, 0.0, 0.0], // 0-4
    [0.5, 0.0, 1.0], // 1-5
    [0.5, 1.0, 1.0], // 2-6
    [0.5, 1.0, 0.0], // 3-7
];

/// Triangles of cube configurations 0..128: one word per configuration,
/// three hex digits (edge numbers) per triangle; "-" for none.
const TRIANGLES: [&str; 128] = [
    "-",
    "083",
    "190",
    "183198",
    "12a",
    "08312a",
    "92a029",
    "2832a8a98",
    "b23",
    "b2008b",
    "190b23",
    "b2119b98b",
    "3a1ba3",
    "a1008a8ba",
    "9033b9ba9",
    "98aba8",
    "478",
    "043473",
    "190478",
    "194147173",
    "12a478",
    "34730412a",
    "92a902478",
    "2a9297273479",
    "478b23",
    "b47b24204",
    "190478b23",
    "47b94bb29192",
    "3a1ba3478",
    "ba114b10447b",
    "4789033b9ba9",
    "47b4b99ba",
    "954",
    "954083",
    "054015",
    "854835315",
    "12a954",
    "08312a954",
    "2a5542240",
    "2a5325354834",
    "954b23",
    "b2008b954",
    "054015b23",
    "215258b28548",
    "3a1ba3954",
    "549a1008a8ba",
    "54050ba5bb03",
    "548a58ba8",
    "789579",
    "309539357",
    "780017715",
    "157173",
    "78957912a",
    "12a309395357",
    "0288258572a5",
    "2a5253357",
    "579789b23",
    "579972209b27",
    "b23018178157",
    "21b17b157",
    "7895793a1ba3",
    "5705097b0a10ba0",
    "ba003ba50078570",
    "ba557b",
    "65a",
    "08365a",
    "19065a",
    "18319865a",
    "165126",
    "165126083",
    "965906026",
    "598582526832",
    "b2365a",
    "b2008b65a",
    "190b2365a",
    "b2119b98b65a",
    "63b653513",
    "08b0b50515b6",
    "63b036065059",
    "65969bb98",
    "47865a",
    "04347365a",
    "19047865a",
    "19414717365a",
    "478165126",
    "043473165126",
    "478965906026",
    "739479329596269",
    "b2347865a",
    "b47b2420465a",
    "190b2347865a",
    "47b94bb2919265a",
    "47863b653513",
    "51b5b610b47b04b",
    "47863b036065059",
    "65969b4797b9",
    "a4964a",
    "a4964a083",
    "01aa60640",
    "18316886461a",
    "149124264",
    "149124264083",
    "024426",
    "832824426",
    "b23a4964a",
    "b2008ba4964a",
    "b2301aa60640",
    "64161a148b2118b",
    "964369139b63",
    "18b081b61149641",
    "63b036640",
    "86468b",
    "67a78a89a",
    "67a0a709a073",
    "67a1a7178018",
    "67a1a7173",
    "126168189678",
    "269129679309739",
    "078706602",
    "273267",
    "b2367a78a89a",
    "207b2709767a9a7",
    "67a1a7178018b23",
    "b2117ba61167",
    "896678169b63136",
    "09167b",
    "07870603bb60",
    "67b",
];

fn triangles(config: usize) -> impl Iterator<Item = [usize; 3]> {
    let s = TRIANGLES[config].as_bytes();
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as usize;
    (0..s.len() / 3).map(move |t| [digit(s[3 * t]), digit(s[3 * t + 1]), digit(s[3 * t + 2])])
}

/// The padded label mask ([`Crop::shape_mask`]) with its size in (z, y, x)
/// order.
struct Padded<'a> {
    size: [usize; 3],
    data: &'a [bool],
    /// [`Crop::row_spans`] of the unpadded rows, if known.
    spans: Option<&'a [(usize, usize)]>,
}

impl<'a> Padded<'a> {
    fn new(crop: &'a Crop) -> Padded<'a> {
        let [nx, ny, nz] = crop.dims;
        Padded {
            size: [nz + 2, ny + 2, nx + 2],
            data: &crop.shape_mask,
            spans: Some(&crop.row_spans),
        }
    }

    /// The padded x range `first..end` of the ROI voxels of padded rows
    /// `(z, y)` for z in `zs` and y in `ys` (`0..0` for none; within
    /// `1..size[2] - 1`).
    fn span(&self, zs: std::ops::Range<usize>, ys: std::ops::Range<usize>) -> (usize, usize) {
        let [sz, sy, sx] = self.size;
        let Some(spans) = self.spans else {
            // Every column but the padding.
            return (1, sx - 1);
        };
        let (mut first, mut end) = (usize::MAX, 0);
        for z in zs.filter(|&z| z > 0 && z < sz - 1) {
            for y in ys.clone().filter(|&y| y > 0 && y < sy - 1) {
                let (f, e) = spans[(y - 1) + (sy - 2) * (z - 1)];
                if f < e {
                    (first, end) = (first.min(f + 1), end.max(e + 1));
                }
            }
        }
        if first < end {
            (first, end)
        } else {
            (0, 0)
        }
    }
}

/// Per-configuration contributions of one marching cube, for a given spacing:
/// for a cube whose origin corner sits at `p` (mm), its triangles add
/// `area[k]` to the area and `v0[k] + p · n[k]` to 6 × the volume.
///
/// Why this equals PyRadiomics' Σ ± (a × b) · c over absolute vertices: the
/// triple product is multilinear, so det(a+p, b+p, c+p) = det(a, b, c) +
/// p · ((b − a) × (c − a)); summing over a configuration's triangles gives a
/// constant plus p dotted with the summed normals.
struct CubeTable {
    area: [f64; 256],
    v0: [f64; 256],
    n: [[f64; 3]; 256],
}

impl CubeTable {
    fn new(sp: [f64; 3]) -> CubeTable {
        let mut t = CubeTable {
            area: [0.0; 256],
            v0: [0.0; 256],
            n: [[0.0; 3]; 256],
        };
        for cfg in 1..255usize {
            let (idx, sign) = if cfg & 0x80 != 0 {
                (cfg ^ 0xff, -1.0)
            } else {
                (cfg, 1.0)
            };
            if idx == 0 || idx >= 128 {
                continue;
            }
            let pt = |e: usize| {
                let m = EDGE_MID[e];
                [m[0] * sp[0], m[1] * sp[1], m[2] * sp[2]]
            };
            for tri in triangles(idx) {
                let (a, b, c) = (pt(tri[0]), pt(tri[1]), pt(tri[2]));
                let ab = cross(a, b);
                t.v0[cfg] += sign * (ab[0] * c[0] + ab[1] * c[1] + ab[2] * c[2]);
                let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
                let n = cross(u, v);
                for (acc, nk) in t.n[cfg].iter_mut().zip(n) {
                    *acc += sign * nk;
                }
                t.area[cfg] += 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            }
        }
        t
    }
}

/// (surface area, volume) of the mesh, mm² and mm³. `sp` is (z, y, x) spacing.
fn mesh(p: &Padded<'_>, sp: [f64; 3]) -> (f64, f64) {
    let table = CubeTable::new(sp);
    let [sz, sy, sx] = p.size;
    let mut area = 0.0;
    let mut volume = 0.0;
    // A cube's index from its two columns of four corners: the left one
    // gives bits 0, 3, 4, 7 and the right one bits 1, 2, 5, 6. Both parts
    // are computed for whole rows (vectorised), then OR-ed per cube.
    let (mut left, mut right) = (vec![0u8; sx], vec![0u8; sx]);
    for iz in 0..sz - 1 {
        for iy in 0..sy - 1 {
            // The four rows of the cubes' corners, as in CORNERS.
            let row = |dz: usize, dy: usize| {
                let s = sx * ((iy + dy) + sy * (iz + dz));
                &p.data[s..s + sx]
            };
            // Cubes with an ROI corner: those from one before the first ROI
            // voxel of the four rows to the last (the others are skipped
            // below anyway, in the same order).
            let (first, end) = p.span(iz..iz + 2, iy..iy + 2);
            if first == end {
                continue;
            }
            // Corner columns first - 1..=end: cubes first - 1..end.
            let (lo, hi) = (first - 1, end + 1);
            let (r00, r01, r10, r11) = (row(0, 0), row(0, 1), row(1, 0), row(1, 1));
            let corners = r00[lo..hi]
                .iter()
                .zip(&r01[lo..])
                .zip(&r10[lo..])
                .zip(&r11[lo..]);
            let (left, right) = (&mut left[..hi - lo], &mut right[..hi - lo]);
            for ((l, r), (((&a, &b), &c), &d)) in left.iter_mut().zip(right.iter_mut()).zip(corners)
            {
                let (a, b, c, d) = (u8::from(a), u8::from(b), u8::from(c), u8::from(d));
                *l = a | b << 3 | c << 4 | d << 7;
                *r = a << 1 | b << 2 | c << 5 | d << 6;
            }
            let (pz, py) = (iz as f64 * sp[0], iy as f64 * sp[1]);
            for (i, (&l, &r)) in left.iter().zip(&right[1..]).enumerate() {
                let ix = lo + i;
                let cfg = (l | r) as usize;
                if cfg == 0 || cfg == 255 {
                    continue;
                }
                let n = table.n[cfg];
                area += table.area[cfg];
                volume += table.v0[cfg] + pz * n[0] + py * n[1] + ix as f64 * sp[2] * n[2];
            }
        }
    }
    (area, volume / 6.0)
}

/// Candidate points for the diameters, in doubled (z, y, x) voxel units.
///
/// The mesh vertices are the midpoints of grid edges joining an ROI voxel and
/// a background voxel. A point between two others on a line is never farther
/// from any point than the farther of the two, so only the extremes of every
/// line matter: `along_x[(z2, y2)]` keeps the lowest and highest x2 of the
/// vertices on that x-line, `along_y[(z2, x2)]` the same along y.
struct Extremes {
    /// Doubled grid size (z, y, x): coordinates run over 0..dims.
    dims: [usize; 3],
    along_x: Vec<(i32, i32)>,
    along_y: Vec<(i32, i32)>,
}

const NONE: (i32, i32) = (i32::MAX, i32::MIN);

impl Extremes {
    fn new(p: &Padded<'_>) -> Extremes {
        let [sz, sy, sx] = p.size;
        let dims = [2 * sz, 2 * sy, 2 * sx];
        let mut e = Extremes {
            dims,
            along_x: vec![NONE; dims[0] * dims[1]],
            along_y: vec![NONE; dims[0] * dims[2]],
        };
        // The padding is background, so the last row, column and slice hold
        // no ROI voxel: comparing each voxel with its +x, +y and +z
        // neighbours inside the grid finds every ROI/background edge.
        let row = |z: usize, y: usize| &p.data[sx * (y + sy * z)..sx * (y + sy * z + 1)];
        for z in 0..sz - 1 {
            for y in 0..sy - 1 {
                let (r, ry, rz) = (row(z, y), row(z, y + 1), row(z + 1, y));
                // Edges lie next to an ROI voxel of one of the three rows.
                let (first, end) = p.span(z..z + 2, y..y + 2);
                if first == end {
                    continue;
                }
                for x in first - 1..end {
                    let v = r[x];
                    if rz[x] != v {
                        e.add([2 * z + 1, 2 * y, 2 * x]);
                    }
                    if ry[x] != v {
                        e.add([2 * z, 2 * y + 1, 2 * x]);
                    }
                    if r[x + 1] != v {
                        e.add([2 * z, 2 * y, 2 * x + 1]);
                    }
                }
            }
        }
        e
    }

    #[inline]
    fn add(&mut self, [z, y, x]: [usize; 3]) {
        let widen = |slot: &mut (i32, i32), v: usize| {
            slot.0 = slot.0.min(v as i32);
            slot.1 = slot.1.max(v as i32);
        };
        widen(&mut self.along_x[z * self.dims[1] + y], x);
        widen(&mut self.along_y[z * self.dims[2] + x], y);
    }

    /// The x-line extremes as points (each line's one or two ends).
    fn x_points(&self) -> Vec<[i64; 3]> {
        let mut out = Vec::new();
        for z in 0..self.dims[0] {
            for y in 0..self.dims[1] {
                let (lo, hi) = self.along_x[z * self.dims[1] + y];
                if lo <= hi {
                    out.push([z as i64, y as i64, lo as i64]);
                    if hi != lo {
                        out.push([z as i64, y as i64, hi as i64]);
                    }
                }
            }
        }
        out
    }
}

/// Largest squared distance Σ_k ((a_k − b_k) s_k)² (summed in k order)
/// between two points, given as integer coordinate columns `cols` (as f64:
/// exact for these small integers, and so are their differences) with
/// scales `s` (mm per unit).
///
/// The pairs of each point with the later ones are scanned four at a time,
/// each lane keeping its own maximum: the same values as one pair at a
/// time, and the maximum of a set does not depend on the order.
fn max_dist2<const D: usize>(cols: [&[f64]; D], s: [f64; D]) -> f64 {
    let n = cols[0].len();
    let mut lanes = [0.0f64; 4];
    for i in 0..n {
        let a: [f64; D] = std::array::from_fn(|k| cols[k][i]);
        let rest: [&[f64]; D] = std::array::from_fn(|k| &cols[k][i + 1..]);
        let d2 = |j: usize| {
            let mut v = ((a[0] - rest[0][j]) * s[0]).powi(2);
            for k in 1..D {
                v += ((a[k] - rest[k][j]) * s[k]).powi(2);
            }
            v
        };
        let m = n - i - 1;
        let whole = m / 4 * 4;
        for j in (0..whole).step_by(4) {
            for (l, best) in lanes.iter_mut().enumerate() {
                let v = d2(j + l);
                if v > *best {
                    *best = v;
                }
            }
        }
        for j in whole..m {
            let v = d2(j);
            if v > lanes[0] {
                lanes[0] = v;
            }
        }
    }
    lanes.into_iter().fold(0.0, f64::max)
}

/// Integer points as f64 coordinate columns.
fn columns<const D: usize>(points: &[[i64; D]]) -> [Vec<f64>; D] {
    std::array::from_fn(|k| points.iter().map(|p| p[k] as f64).collect())
}

/// Number of label-mask voxels and the population covariance (/ N) of their
/// physical (z, y, x) positions (mm), row-major 3 × 3.
///
/// With integer voxel indices i and spacings s, the covariance of two axes
/// is s_a s_b (N Σ i_a i_b − Σ i_a Σ i_b) / N²: the sums are integers,
/// accumulated exactly (per row a count, Σ x and Σ x², vectorised; the
/// row's z and y are constant), and the bracket is exact in i128, so the
/// only roundings are those of its conversion and of the last scaling. This
/// is more accurate than summing centred products in floating point.
fn coordinate_covariance(padded: &Padded<'_>, sp: [f64; 3]) -> (usize, [f64; 9]) {
    let [sz, sy, sx] = padded.size;
    // Σ 1, Σ z, Σ y, Σ x, then Σ zz, zy, zx, yy, yx, xx.
    let mut s = [0u128; 10];
    // x and x² per column: in u32 for rows of up to 1024 voxels (a row's
    // Σ x² < 1024³ / 3 < 2³²), summed with masks (vectorised).
    let narrow = sx <= 1024;
    let xs: Vec<u32> = (0..sx as u32).collect();
    let xxs: Vec<u32> = xs.iter().map(|&x| x.wrapping_mul(x)).collect();
    for z in 1..sz - 1 {
        for y in 1..sy - 1 {
            let row = &padded.data[sx * (y + sy * z)..][..sx];
            let (mut n, mut sum_x, mut sum_xx) = (0u64, 0u64, 0u64);
            if narrow {
                let (mut n32, mut x32, mut xx32) = (0u32, 0u32, 0u32);
                for ((&m, &x), &xx) in row.iter().zip(&xs).zip(&xxs) {
                    let mask = u32::from(m).wrapping_neg();
                    n32 += u32::from(m);
                    x32 += x & mask;
                    xx32 += xx & mask;
                }
                (n, sum_x, sum_xx) = (n32.into(), x32.into(), xx32.into());
            } else {
                for (x, &m) in row.iter().enumerate() {
                    let m = u64::from(m);
                    n += m;
                    sum_x += m * x as u64;
                    sum_xx += m * (x * x) as u64;
                }
            }
            if n == 0 {
                continue;
            }
            // Padded coordinates: one more than the crop's along every
            // axis (a shift, which leaves the covariance unchanged).
            let (n, sx1, sxx) = (n as u128, sum_x as u128, sum_xx as u128);
            let (zi, yi) = (z as u128, y as u128);
            s[0] += n;
            s[1] += zi * n;
            s[2] += yi * n;
            s[3] += sx1;
            s[4] += zi * zi * n;
            s[5] += zi * yi * n;
            s[6] += zi * sx1;
            s[7] += yi * yi * n;
            s[8] += yi * sx1;
            s[9] += sxx;
        }
    }
    let n = s[0];
    let first = [s[1], s[2], s[3]];
    let second = |a: usize, b: usize| {
        let (a, b) = (a.min(b), a.max(b));
        s[[[4, 5, 6], [5, 7, 8], [6, 8, 9]][a][b]]
    };
    let nf = n as f64;
    let cov = std::array::from_fn(|k| {
        let (a, b) = (k / 3, k % 3);
        let bracket = (n * second(a, b)) as i128 - (first[a] * first[b]) as i128;
        bracket as f64 / nf / nf * (sp[a] * sp[b])
    });
    (n as usize, cov)
}

/// Vertices of the 2D convex hull of the vertical segments `lines`
/// ((u, lo, hi): u ascending and distinct, lo ≤ hi), that is of the points
/// (u, lo) and (u, hi), exact in integers: the farthest pair of a planar set
/// is among them.
///
/// Andrew's monotone chain over those points sorted by (u, v) pushes each
/// (u, hi) on the lower chain only for the next (u', lo') to pop it again
/// (a left turn up the segment, then a right turn), so the lower chain is fed
/// the lower ends and the last upper end, the upper chain the upper ends
/// (backwards) and the first lower end: the same vertices in the same order,
/// without sorting or half of the points.
fn line_hull(lines: &[[i64; 3]], hull: &mut Vec<[i64; 2]>) {
    hull.clear();
    let points: usize = lines.iter().map(|l| 1 + usize::from(l[2] != l[1])).sum();
    if points < 3 {
        for &[u, lo, hi] in lines {
            hull.push([u, lo]);
            if hi != lo {
                hull.push([u, hi]);
            }
        }
        return;
    }
    let (first, last) = (lines[0], lines[lines.len() - 1]);
    let lower = lines.iter().map(|&[u, lo, _]| [u, lo]);
    let lower = lower.chain((last[2] != last[1]).then_some([last[0], last[2]]));
    monotone_chain(hull, lower);
    let upper = lines.iter().rev().map(|&[u, _, hi]| [u, hi]);
    let upper = upper.chain((first[2] != first[1]).then_some([first[0], first[1]]));
    monotone_chain(hull, upper);
}

/// One chain of Andrew's algorithm over `points`, appended to `hull`
/// without its last point (which starts the other chain).
fn monotone_chain(hull: &mut Vec<[i64; 2]>, points: impl Iterator<Item = [i64; 2]>) {
    let turn = |o: [i64; 2], a: [i64; 2], b: [i64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let start = hull.len();
    for p in points {
        while hull.len() >= start + 2 && turn(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
            hull.pop();
        }
        hull.push(p);
    }
    hull.pop();
}

/// Largest distance between vertices sharing the coordinate along `axis`
/// (0 = z: slice, 1 = y, 2 = x), from each plane's 2D hull; `on_hull(c, h)`
/// receives the hull vertices `h` ((u, v) in-plane) of every plane c.
fn planar_diameter(
    e: &Extremes,
    axis: usize,
    half: [f64; 3],
    mut on_hull: impl FnMut(usize, &[[i64; 2]]),
) -> f64 {
    let [dz, dy, dx] = e.dims;
    let planes = e.dims[axis];
    let mut best = 0.0f64;
    let (mut lines, mut hull): (Vec<[i64; 3]>, Vec<[i64; 2]>) = (Vec::new(), Vec::new());
    for c in 0..planes {
        lines.clear();
        // In-plane (u, v) coordinates with their half-spacings.
        let mut push = |u: usize, (lo, hi): (i32, i32)| {
            if lo <= hi {
                lines.push([u as i64, lo as i64, hi as i64]);
            }
        };
        let scale = match axis {
            // Slice z = c: lines along x for every y.
            0 => {
                for y in 0..dy {
                    push(y, e.along_x[c * dy + y]);
                }
                [half[1], half[2]]
            }
            // Plane y = c: lines along x for every z.
            1 => {
                for z in 0..dz {
                    push(z, e.along_x[z * dy + c]);
                }
                [half[0], half[2]]
            }
            // Plane x = c: lines along y for every z.
            _ => {
                for z in 0..dz {
                    push(z, e.along_y[z * dx + c]);
                }
                [half[0], half[1]]
            }
        };
        line_hull(&lines, &mut hull);
        on_hull(c, &hull);
        let [u, v] = columns(&hull);
        best = best.max(max_dist2([&u, &v], scale));
    }
    best.sqrt()
}

/// The largest distances in the planes of constant z, y and x
/// ([`planar_diameter`]), and the candidates for the 3D diameter: the
/// vertices of the slices' hulls that are also vertices of the hulls of
/// their planes of constant y and x, as (z, y, x).
fn planar_diameters(e: &Extremes, half: [f64; 3]) -> ([f64; 3], Vec<[i64; 3]>) {
    let mut candidates: Vec<[i64; 3]> = Vec::new();
    let d_slice = planar_diameter(e, 0, half, |z, h| {
        candidates.extend(h.iter().map(|&[y, x]| [z as i64, y, x]));
    });
    let mut y_hulls: Vec<u64> = Vec::new();
    let d_column = planar_diameter(e, 1, half, |y, h| {
        y_hulls.extend(h.iter().map(|&[z, x]| point_key([z, y as i64, x])));
    });
    let mut x_hulls: Vec<u64> = Vec::new();
    let d_row = planar_diameter(e, 2, half, |x, h| {
        x_hulls.extend(h.iter().map(|&[z, y]| point_key([z, y, x as i64])));
    });
    y_hulls.sort_unstable();
    x_hulls.sort_unstable();
    candidates.retain(|&p| {
        let k = point_key(p);
        y_hulls.binary_search(&k).is_ok() && x_hulls.binary_search(&k).is_ok()
    });
    ([d_slice, d_column, d_row], candidates)
}

/// Largest distance between any two mesh vertices.
///
/// PyRadiomics' value is the largest distance between vertices of the
/// candidates' convex hull (the reference: [`diameter_3d_all`], a quickhull
/// over all x-line extremes). Only the hull's extreme points matter:
///
/// For a candidate p that is not an extreme point, p = Σ λ_i A_i over extreme
/// points A_i ≠ p, and for any q, |p − q|² = Σ λ_i |A_i − q|² − Σ λ_i |A_i − p|²
/// ≤ D − h², with D the largest squared distance between extreme points and
/// h the smallest half-spacing (distinct lattice points are at least h
/// apart). Each computed squared distance is within a relative 5·2⁻⁵³ of its
/// exact value (five roundings of non-negative terms), so while D·10·2⁻⁵³ <
/// h² every pair involving a non-extreme point computes below the best
/// extreme pair: the maximum over any vertex set holding all extreme points
/// is the same number, bit for bit.
///
/// An extreme point is extreme within its planes of constant z, y and x
/// too, so it is a vertex of those planes' 2D hulls ([`planar_diameter`];
/// they keep strict vertices only, and an extreme point of the plane is one
/// of its candidates too: the end of its x-line and of its y-line). The
/// vertices of the slices' hulls that are also vertices of the other two
/// planes' hulls (`slice_hulls`) hold them all, and a quickhull over those
/// (a fraction of the candidates) gives a valid vertex set. The bound is checked on the result with a wide margin
/// (D ≤ 10¹³ h², a diameter of kilometres); otherwise, or for flat inputs,
/// the reference computation runs.
fn diameter_3d(e: &Extremes, slice_hulls: &[[i64; 3]], half: [f64; 3]) -> f64 {
    if let Some(d2) = hull_vertices_max_dist2(slice_hulls, half) {
        let h = half.iter().copied().fold(f64::INFINITY, f64::min);
        if d2 <= 1e13 * h * h {
            return d2.sqrt();
        }
    }
    diameter_3d_all(e, half)
}

/// Largest squared distance between the vertices of the convex hull of
/// `cand`; `None` when they are coplanar.
fn hull_vertices_max_dist2(cand: &[[i64; 3]], half: [f64; 3]) -> Option<f64> {
    let tris = crate::features::morph::hull::convex_hull(cand)?;
    let mut used = vec![false; cand.len()];
    for t in &tris {
        for &i in t {
            used[i as usize] = true;
        }
    }
    let verts: Vec<[i64; 3]> = cand
        .iter()
        .zip(&used)
        .filter(|(_, &u)| u)
        .map(|(&p, _)| p)
        .collect();
    let [z, y, x] = columns(&verts);
    Some(max_dist2([&z, &y, &x], half))
}

/// A lattice point (doubled units, each coordinate below 2²¹) as one key.
fn point_key([z, y, x]: [i64; 3]) -> u64 {
    (z as u64) << 42 | (y as u64) << 21 | x as u64
}

/// The reference 3D diameter: the farthest pair among the vertices of the
/// (exact, integer) 3D convex hull of all x-line extremes.
fn diameter_3d_all(e: &Extremes, half: [f64; 3]) -> f64 {
    let cand = e.x_points();
    match hull_vertices_max_dist2(&cand, half) {
        Some(d2) => d2.sqrt(),
        // Coplanar candidates: all pairs (only for tiny, flat inputs).
        None => {
            let [z, y, x] = columns(&cand);
            max_dist2([&z, &y, &x], half).sqrt()
        }
    }
}

/// The 14 default shape features, alphabetical (PyRadiomics order).
pub(crate) fn compute(crop: &Crop) -> Vec<(&'static str, f64)> {
    let sp = [crop.spacing[2], crop.spacing[1], crop.spacing[0]];
    let padded = Padded::new(crop);
    let (area, volume) = mesh(&padded, sp);

    let extremes = Extremes::new(&padded);
    let half = [sp[0] / 2.0, sp[1] / 2.0, sp[2] / 2.0];
    let ([d_slice, d_column, d_row], candidates) = planar_diameters(&extremes, half);
    let d_3d = diameter_3d(&extremes, &candidates, half);

    // Covariance of the physical voxel coordinates (population, / N).
    let (count, cov) = coordinate_covariance(&padded, sp);
    let np = count as f64;
    let mut ev = symmetric_eigenvalues(cov.to_vec(), 3);
    for e in ev.iter_mut() {
        if *e < 0.0 && *e > -1e-10 {
            *e = 0.0;
        }
    }
    let axis = |e: f64| if e < 0.0 { f64::NAN } else { 4.0 * e.sqrt() };
    let ratio = |a: f64, b: f64| {
        if a < 0.0 || b < 0.0 {
            f64::NAN
        } else {
            (a / b).sqrt()
        }
    };
    let voxel_volume = np * crop.spacing.iter().product::<f64>();
    vec![
        // morph_elongation: sqrt(λ_minor / λ_major)
        ("Elongation", ratio(ev[1], ev[2])),
        // morph_flatness: sqrt(λ_least / λ_major)
        ("Flatness", ratio(ev[0], ev[2])),
        ("LeastAxisLength", axis(ev[0])),
        ("MajorAxisLength", axis(ev[2])),
        // Largest vertex distance in a plane of constant row (y).
        ("Maximum2DDiameterColumn", d_column),
        // ... of constant column (x).
        ("Maximum2DDiameterRow", d_row),
        // ... of constant slice (z).
        ("Maximum2DDiameterSlice", d_slice),
        // morph_diam
        ("Maximum3DDiameter", d_3d),
        // morph_volume
        ("MeshVolume", volume),
        ("MinorAxisLength", axis(ev[1])),
        // morph_sphericity: (36 π V²)^(1/3) / A
        (
            "Sphericity",
            (36.0 * std::f64::consts::PI * volume * volume).cbrt() / area,
        ),
        // morph_area_mesh
        ("SurfaceArea", area),
        // morph_av: A / V
        ("SurfaceVolumeRatio", area / volume),
        // morph_vol_approx: N · voxel volume
        ("VoxelVolume", voxel_volume),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: Andrew's monotone chain over sorted points.
    fn hull_2d(mut pts: Vec<[i64; 2]>) -> Vec<[i64; 2]> {
        pts.sort_unstable();
        pts.dedup();
        if pts.len() < 3 {
            return pts;
        }
        let turn = |o: [i64; 2], a: [i64; 2], b: [i64; 2]| {
            (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
        };
        let mut hull: Vec<[i64; 2]> = Vec::with_capacity(2 * pts.len());
        for pass in 0..2 {
            let start = hull.len();
            let ordered: Box<dyn Iterator<Item = &[i64; 2]>> = if pass == 0 {
                Box::new(pts.iter())
            } else {
                Box::new(pts.iter().rev())
            };
            for &p in ordered {
                while hull.len() >= start + 2
                    && turn(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0
                {
                    hull.pop();
                }
                hull.push(p);
            }
            hull.pop(); // the last point starts the other chain
        }
        hull
    }

    #[test]
    fn line_hull_is_the_monotone_chain_of_the_end_points() {
        let mut seed = 5u64;
        let mut rnd = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % m) as i64
        };
        let mut hull = Vec::new();
        for case in 0..500 {
            let mut lines = Vec::new();
            let mut u = rnd(3);
            for _ in 0..(case % 9) {
                let (lo, len) = (rnd(12), if rnd(3) == 0 { 0 } else { rnd(6) });
                lines.push([u, lo, lo + len]);
                u += 1 + rnd(2);
            }
            let points: Vec<[i64; 2]> = lines
                .iter()
                .flat_map(|&[u, lo, hi]| [[u, lo], [u, hi]])
                .collect();
            line_hull(&lines, &mut hull);
            assert_eq!(hull, hull_2d(points), "{lines:?}");
        }
    }

    /// A padded (z, y, x) mask of size `n`³ holding a lumpy blob.
    fn blob(n: usize, seed: u64) -> Vec<bool> {
        let mut data = vec![false; n * n * n];
        let c = n as f64 / 2.0;
        for z in 1..n - 1 {
            for y in 1..n - 1 {
                for x in 1..n - 1 {
                    let (dz, dy, dx) = (z as f64 - c, y as f64 - c, x as f64 - c);
                    let wobble = ((x * 7 + y * 13 + z * 29) as u64 ^ seed) % 5;
                    let r = (0.6 * dz * dz + dy * dy + 1.7 * dx * dx).sqrt();
                    data[x + n * (y + n * z)] = r + wobble as f64 * 0.4 < c - 2.0;
                }
            }
        }
        data
    }

    #[test]
    fn covariance_from_integer_sums_matches_centred_products() {
        let n = 20;
        let data = blob(n, 4);
        let p = Padded {
            size: [n, n, n],
            data: &data,
            spans: None,
        };
        let sp = [3.27, 0.6803, 0.7813];
        let points: Vec<[f64; 3]> = (0..n * n * n)
            .filter(|&i| data[i])
            .map(|i| {
                [
                    (i / (n * n)) as f64 * sp[0],
                    (i / n % n) as f64 * sp[1],
                    (i % n) as f64 * sp[2],
                ]
            })
            .collect();
        let np = points.len() as f64;
        let mean: [f64; 3] = std::array::from_fn(|k| points.iter().map(|q| q[k]).sum::<f64>() / np);
        let (count, cov) = coordinate_covariance(&p, sp);
        assert_eq!(count, points.len());
        for (k, &c) in cov.iter().enumerate() {
            let (a, b) = (k / 3, k % 3);
            let want = points
                .iter()
                .map(|q| (q[a] - mean[a]) * (q[b] - mean[b]))
                .sum::<f64>()
                / np;
            assert!(
                (c - want).abs() <= 1e-12 * cov[0].abs().max(cov[8].abs()),
                "{k}: {c} vs {want}"
            );
        }
    }

    #[test]
    fn row_spans_skip_nothing() {
        let n = 22;
        let data = blob(n, 6);
        // Block rows: padded rows 1..n - 1 of planes 1..n - 1, columns 1..n - 1.
        let spans: Vec<(usize, usize)> = (1..n - 1)
            .flat_map(|z| (1..n - 1).map(move |y| (z, y)))
            .map(|(z, y)| {
                let row = &data[n * (y + n * z) + 1..][..n - 2];
                match row.iter().position(|&b| b) {
                    Some(f) => (f, row.iter().rposition(|&b| b).unwrap() + 1),
                    None => (0, 0),
                }
            })
            .collect();
        let full = Padded {
            size: [n, n, n],
            data: &data,
            spans: None,
        };
        let spanned = Padded {
            spans: Some(&spans),
            ..full
        };
        let sp = [2.5, 0.9765625, 0.7];
        let (a, b) = (mesh(&full, sp), mesh(&spanned, sp));
        assert_eq!(
            (a.0.to_bits(), a.1.to_bits()),
            (b.0.to_bits(), b.1.to_bits())
        );
        let (a, b) = (Extremes::new(&full), Extremes::new(&spanned));
        assert_eq!((a.along_x, a.along_y), (b.along_x, b.along_y));
    }

    #[test]
    fn diameter_from_slice_hulls_equals_the_reference() {
        for (seed, sp) in [
            (1, [3.27, 0.6803, 0.7813]),
            (2, [1.0, 1.0, 1.0]),
            (3, [2.5, 0.9765625, 0.9765625]),
        ] {
            let n = 24;
            let data = blob(n, seed);
            let p = Padded {
                size: [n, n, n],
                data: &data,
                spans: None,
            };
            let e = Extremes::new(&p);
            let half = sp.map(|s| s / 2.0);
            let (_, candidates) = planar_diameters(&e, half);
            let all = e.x_points();
            assert!(candidates.len() < all.len());
            // The same hull: no candidate lies outside the hull of those
            // kept (outward triangles, exact integer orientation).
            let tris = crate::features::morph::hull::convex_hull(&candidates).unwrap();
            for t in &tris {
                let [a, b, c] = t.map(|i| candidates[i as usize]);
                let (u, v) = (
                    [0, 1, 2].map(|k| b[k] - a[k]),
                    [0, 1, 2].map(|k| c[k] - a[k]),
                );
                let n = [
                    u[1] * v[2] - u[2] * v[1],
                    u[2] * v[0] - u[0] * v[2],
                    u[0] * v[1] - u[1] * v[0],
                ];
                for p in &all {
                    let d = [0, 1, 2].map(|k| p[k] - a[k]);
                    assert!(
                        n[0] * d[0] + n[1] * d[1] + n[2] * d[2] <= 0,
                        "{p:?} outside"
                    );
                }
            }
            let fast = diameter_3d(&e, &candidates, half);
            assert_eq!(fast.to_bits(), diameter_3d_all(&e, half).to_bits());
        }
    }
}
