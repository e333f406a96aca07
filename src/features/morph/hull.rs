//! 3D convex hull (quickhull) of integer points with exact predicates.
//!
//! Mesh vertices lie on a half-voxel lattice, so in doubled index units they
//! are integers and every orientation test is exact in `i64`. That removes the
//! usual robustness problems of quickhull with the many coplanar points of a
//! voxel mesh. A point is "outside" a face only when strictly above its plane,
//! so points on the hull boundary are dropped; coplanar neighbouring faces are
//! harmless for volume, area and diameter.

use std::collections::HashMap;

type P = [i64; 3];

#[inline]
fn sub(a: P, b: P) -> P {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
fn cross(a: P, b: P) -> P {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[inline]
fn dot(a: P, b: P) -> i64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

struct Face {
    v: [u32; 3],
    /// `nb[i]` is the face across edge (v[i], v[(i + 1) % 3]).
    nb: [u32; 3],
    /// Outward normal (not normalised) and plane offset: above ⇔ n·p > d.
    n: P,
    d: i64,
    alive: bool,
    outside: Vec<u32>,
}

impl Face {
    fn new(pts: &[P], v: [u32; 3]) -> Face {
        let a = pts[v[0] as usize];
        let n = cross(sub(pts[v[1] as usize], a), sub(pts[v[2] as usize], a));
        Face {
            v,
            nb: [u32::MAX; 3],
            n,
            d: dot(n, a),
            alive: true,
            outside: Vec::new(),
        }
    }

    #[inline]
    fn height(&self, p: P) -> i64 {
        dot(self.n, p) - self.d
    }
}

/// The hull as triangles over indices into the input points (outward
/// orientation), or `None` when all points are coplanar.
pub fn convex_hull(pts: &[P]) -> Option<Vec<[u32; 3]>> {
    if pts.len() < 4 {
        return None;
    }
    // Initial tetrahedron from extreme points.
    let i0 = (0..pts.len()).min_by_key(|&i| pts[i]).unwrap();
    let dist2 = |a: P, b: P| {
        let d = sub(a, b);
        dot(d, d)
    };
    let i1 = (0..pts.len())
        .max_by_key(|&i| dist2(pts[i], pts[i0]))
        .unwrap();
    if dist2(pts[i1], pts[i0]) == 0 {
        return None;
    }
    let line = sub(pts[i1], pts[i0]);
    let i2 = (0..pts.len())
        .max_by_key(|&i| {
            let c = cross(line, sub(pts[i], pts[i0]));
            dot(c, c)
        })
        .unwrap();
    let nrm = cross(line, sub(pts[i2], pts[i0]));
    if nrm == [0, 0, 0] {
        return None;
    }
    let i3 = (0..pts.len())
        .max_by_key(|&i| dot(nrm, sub(pts[i], pts[i0])).abs())
        .unwrap();
    let h3 = dot(nrm, sub(pts[i3], pts[i0]));
    if h3 == 0 {
        return None;
    }
    let [a, b, c, d] = [i0 as u32, i1 as u32, i2 as u32, i3 as u32];
    // Orient the base (a, b, c) so that d is below it.
    let (b, c) = if h3 > 0 { (c, b) } else { (b, c) };
    let mut faces: Vec<Face> = vec![
        Face::new(pts, [a, b, c]),
        Face::new(pts, [a, d, b]),
        Face::new(pts, [b, d, c]),
        Face::new(pts, [c, d, a]),
    ];
    // Neighbours of the tetrahedron, found by matching reversed edges.
    link_all(&mut faces);

    for (i, &p) in pts.iter().enumerate() {
        if let Some(f) = faces.iter_mut().find(|f| f.height(p) > 0) {
            f.outside.push(i as u32);
        }
    }
    let mut stack: Vec<u32> = (0..faces.len() as u32)
        .filter(|&f| !faces[f as usize].outside.is_empty())
        .collect();

    let mut visible: Vec<u32> = Vec::new();
    let mut is_visible: Vec<bool> = vec![false; faces.len()];
    let mut horizon: Vec<(u32, u32, u32)> = Vec::new(); // (from, to, outer face)
    let mut pending: Vec<u32> = Vec::new();
    let mut planes: Vec<(P, i64)> = Vec::new();
    while let Some(fi) = stack.pop() {
        let f = &faces[fi as usize];
        if !f.alive || f.outside.is_empty() {
            continue;
        }
        let eye = *f
            .outside
            .iter()
            .max_by_key(|&&p| f.height(pts[p as usize]))
            .unwrap();
        let pe = pts[eye as usize];

        // Visible faces by flood fill from fi.
        visible.clear();
        horizon.clear();
        visible.push(fi);
        is_visible[fi as usize] = true;
        let mut k = 0;
        while k < visible.len() {
            let g = visible[k];
            k += 1;
            for e in 0..3 {
                let h = faces[g as usize].nb[e];
                if is_visible[h as usize] {
                    continue;
                }
                if faces[h as usize].height(pe) > 0 {
                    is_visible[h as usize] = true;
                    visible.push(h);
                }
            }
        }
        for &g in &visible {
            let fg = &faces[g as usize];
            for e in 0..3 {
                let h = fg.nb[e];
                if !is_visible[h as usize] {
                    horizon.push((fg.v[e], fg.v[(e + 1) % 3], h));
                }
            }
        }
        // New faces (from, to, eye), one per horizon edge.
        let first_new = faces.len() as u32;
        for (j, &(from, to, outer)) in horizon.iter().enumerate() {
            let nf = first_new + j as u32;
            let mut face = Face::new(pts, [from, to, eye]);
            face.nb[0] = outer;
            // Re-point the outer face's edge (to, from) at the new face.
            let of = &mut faces[outer as usize];
            for e in 0..3 {
                if of.v[e] == to && of.v[(e + 1) % 3] == from {
                    of.nb[e] = nf;
                }
            }
            faces.push(face);
            is_visible.push(false);
        }
        for (j, &(_, to, _)) in horizon.iter().enumerate() {
            let nf = (first_new as usize) + j;
            // Edge (to, eye) borders the new face starting at `to` (the last
            // such horizon edge), whose edge (eye, to) borders this one.
            let start = horizon.iter().rposition(|&(from, _, _)| from == to);
            let next = first_new + start.expect("closed horizon") as u32;
            faces[nf].nb[1] = next;
            faces[next as usize].nb[2] = nf as u32;
        }
        // Hand the outside points of the visible faces to the new faces.
        pending.clear();
        for &g in &visible {
            let fg = &mut faces[g as usize];
            fg.alive = false;
            pending.append(&mut fg.outside);
        }
        let new_range = first_new as usize..faces.len();
        // Each point goes to the first new face it lies above; the planes
        // are copied side by side for this scan, the hot loop of the hull.
        planes.clear();
        planes.extend(faces[new_range.clone()].iter().map(|f| (f.n, f.d)));
        for &p in &pending {
            if p == eye {
                continue;
            }
            let pp = pts[p as usize];
            if let Some(k) = planes.iter().position(|&(n, d)| dot(n, pp) - d > 0) {
                faces[first_new as usize + k].outside.push(p);
            }
        }
        for nf in new_range {
            if !faces[nf].outside.is_empty() {
                stack.push(nf as u32);
            }
        }
        for &g in &visible {
            is_visible[g as usize] = false;
        }
    }
    Some(faces.into_iter().filter(|f| f.alive).map(|f| f.v).collect())
}

/// Set neighbour links of a small closed triangle set by matching reversed edges.
fn link_all(faces: &mut [Face]) {
    let mut map = HashMap::new();
    for (fi, f) in faces.iter().enumerate() {
        for e in 0..3 {
            map.insert((f.v[e], f.v[(e + 1) % 3]), fi as u32);
        }
    }
    for f in faces.iter_mut() {
        for e in 0..3 {
            f.nb[e] = map[&(f.v[(e + 1) % 3], f.v[e])];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume6(pts: &[P], tris: &[[u32; 3]]) -> i64 {
        tris.iter()
            .map(|t| {
                let a = pts[t[0] as usize];
                let b = pts[t[1] as usize];
                let c = pts[t[2] as usize];
                dot(a, cross(b, c))
            })
            .sum()
    }

    #[test]
    fn cube_lattice_hull() {
        // All points of a 5x5x5 lattice: hull is the cube [0,4]^3, volume 64.
        let mut pts = Vec::new();
        for z in 0..5 {
            for y in 0..5 {
                for x in 0..5 {
                    pts.push([x, y, z]);
                }
            }
        }
        let tris = convex_hull(&pts).unwrap();
        assert_eq!(volume6(&pts, &tris), 6 * 64);
        // Closed: every directed edge has its reverse.
        let mut set = std::collections::HashSet::new();
        for t in &tris {
            for e in 0..3 {
                set.insert((t[e], t[(e + 1) % 3]));
            }
        }
        for &(a, b) in &set {
            assert!(set.contains(&(b, a)));
        }
    }

    #[test]
    fn random_points_volume_is_positive_and_contains_all() {
        let mut s = 99u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % 41) as i64 - 20
        };
        let pts: Vec<P> = (0..2000).map(|_| [rnd(), rnd(), rnd()]).collect();
        let tris = convex_hull(&pts).unwrap();
        assert!(volume6(&pts, &tris) > 0);
        for t in &tris {
            let f = Face::new(&pts, *t);
            assert!(pts.iter().all(|&p| f.height(p) <= 0));
        }
    }

    #[test]
    fn coplanar_points_give_none() {
        let pts: Vec<P> = (0..10).map(|i| [i, i * i, 0]).collect();
        assert!(convex_hull(&pts).is_none());
    }
}
