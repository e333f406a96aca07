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
use std::collections::HashMap;

/// Cube corners as (z, y, x) offsets, in PyRadiomics' bit order.
const CORNERS: [[usize; 3]; 8] = [
    [0, 0, 0],
    [0, 0, 1],
    [0, 1, 1],
    [0, 1, 0],
    [1, 0, 0],
    [1, 0, 1],
    [1, 1, 1],
    [1, 1, 0],
];

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

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - b[1] * a[2],
        a[2] * b[0] - b[2] * a[0],
        a[0] * b[1] - b[0] * a[1],
    ]
}

/// The padded mask in (z, y, x) order with its size.
struct Padded {
    size: [usize; 3],
    data: Vec<bool>,
}

impl Padded {
    fn new(crop: &Crop) -> Padded {
        let [nx, ny, nz] = crop.dims;
        let size = [nz + 2, ny + 2, nx + 2];
        let mut data = vec![false; size[0] * size[1] * size[2]];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    data[(x + 1) + size[2] * ((y + 1) + size[1] * (z + 1))] =
                        crop.shape_mask[x + nx * (y + ny * z)];
                }
            }
        }
        Padded { size, data }
    }

    #[inline]
    fn at(&self, z: usize, y: usize, x: usize) -> bool {
        self.data[x + self.size[2] * (y + self.size[1] * z)]
    }
}

/// (surface area, volume) of the mesh, mm² and mm³. `sp` is (z, y, x) spacing.
fn mesh(p: &Padded, sp: [f64; 3]) -> (f64, f64) {
    let mut area = 0.0;
    let mut volume = 0.0;
    for iz in 0..p.size[0] - 1 {
        for iy in 0..p.size[1] - 1 {
            for ix in 0..p.size[2] - 1 {
                let mut idx = 0usize;
                for (a, c) in CORNERS.iter().enumerate() {
                    if p.at(iz + c[0], iy + c[1], ix + c[2]) {
                        idx |= 1 << a;
                    }
                }
                let sign = if idx & 0x80 != 0 {
                    idx ^= 0xff;
                    -1.0
                } else {
                    1.0
                };
                if idx == 0 || idx >= 128 {
                    continue;
                }
                let base = [iz as f64, iy as f64, ix as f64];
                for tri in triangles(idx) {
                    let pt = |e: usize| {
                        let m = EDGE_MID[e];
                        [
                            (base[0] + m[0]) * sp[0],
                            (base[1] + m[1]) * sp[1],
                            (base[2] + m[2]) * sp[2],
                        ]
                    };
                    let (a, b, c) = (pt(tri[0]), pt(tri[1]), pt(tri[2]));
                    let ab = cross(a, b);
                    volume += sign * (ab[0] * c[0] + ab[1] * c[1] + ab[2] * c[2]);
                    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
                    let n = cross(u, v);
                    area += 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                }
            }
        }
    }
    (area, volume / 6.0)
}

/// Mesh vertices: midpoints of the grid edges joining an ROI voxel and a
/// background voxel, in doubled (z, y, x) voxel units (exact integers).
fn vertices(p: &Padded) -> Vec<[i64; 3]> {
    let mut out = Vec::new();
    let [sz, sy, sx] = p.size;
    for z in 0..sz {
        for y in 0..sy {
            for x in 0..sx {
                let v = p.at(z, y, x);
                let (z2, y2, x2) = (2 * z as i64, 2 * y as i64, 2 * x as i64);
                if z + 1 < sz && p.at(z + 1, y, x) != v {
                    out.push([z2 + 1, y2, x2]);
                }
                if y + 1 < sy && p.at(z, y + 1, x) != v {
                    out.push([z2, y2 + 1, x2]);
                }
                if x + 1 < sx && p.at(z, y, x + 1) != v {
                    out.push([z2, y2, x2 + 1]);
                }
            }
        }
    }
    out
}

/// Keep only the extreme points of every line parallel to `axis`: a point
/// between two others on a line is never farther from any point than the
/// farther of the two, so maximum distances are unchanged.
fn line_extremes(points: Vec<[i64; 3]>, axis: usize) -> Vec<[i64; 3]> {
    let key = |p: &[i64; 3]| {
        let mut k = *p;
        k[axis] = 0;
        k
    };
    let mut ext: HashMap<[i64; 3], ([i64; 3], [i64; 3])> = HashMap::new();
    for p in points {
        ext.entry(key(&p))
            .and_modify(|(lo, hi)| {
                if p[axis] < lo[axis] {
                    *lo = p;
                }
                if p[axis] > hi[axis] {
                    *hi = p;
                }
            })
            .or_insert((p, p));
    }
    let mut out = Vec::with_capacity(ext.len() * 2);
    for (lo, hi) in ext.into_values() {
        out.push(lo);
        if hi != lo {
            out.push(hi);
        }
    }
    out
}

#[inline]
fn dist2(a: &[i64; 3], b: &[i64; 3], half: [f64; 3]) -> f64 {
    (0..3)
        .map(|k| ((a[k] - b[k]) as f64 * half[k]).powi(2))
        .sum()
}

fn max_dist2(points: &[[i64; 3]], half: [f64; 3]) -> f64 {
    let mut best = 0.0f64;
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            best = best.max(dist2(a, b, half));
        }
    }
    best
}

/// Largest distance between vertices sharing the coordinate along `axis`.
fn planar_diameter(points: &[[i64; 3]], axis: usize, half: [f64; 3]) -> f64 {
    let mut groups: HashMap<i64, Vec<[i64; 3]>> = HashMap::new();
    for p in points {
        groups.entry(p[axis]).or_default().push(*p);
    }
    let mut best = 0.0f64;
    for (_, g) in groups {
        // Within a plane, the in-plane line extremes suffice as well.
        let others: Vec<usize> = (0..3).filter(|&k| k != axis).collect();
        let g = line_extremes(line_extremes(g, others[0]), others[1]);
        best = best.max(max_dist2(&g, half));
    }
    best.sqrt()
}

/// The 14 default shape features, alphabetical (PyRadiomics order).
pub(crate) fn compute(crop: &Crop) -> Vec<(&'static str, f64)> {
    let sp = [crop.spacing[2], crop.spacing[1], crop.spacing[0]];
    let padded = Padded::new(crop);
    let (area, volume) = mesh(&padded, sp);

    let verts = vertices(&padded);
    let half = [sp[0] / 2.0, sp[1] / 2.0, sp[2] / 2.0];
    let d_slice = planar_diameter(&verts, 0, half);
    let d_column = planar_diameter(&verts, 1, half);
    let d_row = planar_diameter(&verts, 2, half);
    let hull = line_extremes(line_extremes(line_extremes(verts, 0), 1), 2);
    let d_3d = max_dist2(&hull, half).sqrt();

    // Covariance of the physical voxel coordinates (population, / N).
    let [nx, ny, _] = crop.dims;
    let mut pts: Vec<[f64; 3]> = Vec::new();
    for (i, _) in crop.shape_mask.iter().enumerate().filter(|(_, &m)| m) {
        let (x, y, z) = (i % nx, (i / nx) % ny, i / (nx * ny));
        pts.push([z as f64 * sp[0], y as f64 * sp[1], x as f64 * sp[2]]);
    }
    let np = pts.len() as f64;
    let mut mean = [0.0; 3];
    for p in &pts {
        for k in 0..3 {
            mean[k] += p[k];
        }
    }
    mean.iter_mut().for_each(|m| *m /= np);
    let mut cov = vec![0.0; 9];
    for p in &pts {
        let d = [p[0] - mean[0], p[1] - mean[1], p[2] - mean[2]];
        for r in 0..3 {
            for c in 0..3 {
                cov[r * 3 + c] += d[r] * d[c];
            }
        }
    }
    cov.iter_mut().for_each(|c| *c /= np);
    let mut ev = symmetric_eigenvalues(cov, 3);
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
