//! One CT slice with an ROI contour, as a radiologist reads it.
//!
//! A view cuts the image along the grid axis closest to the world axis of
//! the plane (axial: S, coronal: P, sagittal: L in LPS) and lays the two
//! other grid axes out in the radiological convention: axial and coronal
//! show the patient's right on the screen's left; axial has anterior up,
//! coronal and sagittal superior up, sagittal anterior on the left. A grid
//! axis running the other way (a NIfTI volume read from RAS, a series
//! stored feet first) is flipped on screen, and the orientation letters on
//! the edges are computed from the direction cosines of the screen axes as
//! drawn — so they stay right whatever the grid.
//!
//! Pixels are square in millimetres (the physical aspect ratio is kept):
//! the pixel size is the finer in-plane spacing, coarsened or refined so the
//! longer side lies between [`MIN_PIXELS`] and the view's maximum. Image and
//! mask are sampled at pixel centres by nearest voxel; the contour is the
//! mask pixels with a 4-neighbour outside the mask. Grey levels are the HU
//! window `level ± width / 2` mapped to palette indices `0..GREYS`; contour
//! pixels take index [`CONTOUR`]. The result is an 8-bit indexed PNG.

use crate::error::{Error, Result};
use crate::volume::{Mask, Volume};

/// Number of grey palette entries.
pub const GREYS: u8 = 250;
/// Palette index of contour pixels.
pub const CONTOUR: u8 = 250;
/// Colour of the contour (RGB).
pub const CONTOUR_RGB: [u8; 3] = [255, 60, 40];
/// The longer side of a view is never below this many pixels.
pub const MIN_PIXELS: usize = 160;

/// A display window in HU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub width: f64,
    pub level: f64,
}

impl Default for Window {
    /// The abdominal soft-tissue window, W 400 / L 40.
    fn default() -> Self {
        Window {
            width: 400.0,
            level: 40.0,
        }
    }
}

/// The three anatomical planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Axial,
    Coronal,
    Sagittal,
}

impl Plane {
    pub const ALL: [Plane; 3] = [Plane::Axial, Plane::Coronal, Plane::Sagittal];

    pub fn name(self) -> &'static str {
        match self {
            Plane::Axial => "axial",
            Plane::Coronal => "coronal",
            Plane::Sagittal => "sagittal",
        }
    }

    /// World axis (LPS) normal to the plane.
    fn normal_world(self) -> usize {
        match self {
            Plane::Axial => 2,
            Plane::Coronal => 1,
            Plane::Sagittal => 0,
        }
    }

    /// World directions (LPS) of the screen's +x (rightwards) and +y
    /// (downwards) in the radiological convention: (axis, sign).
    fn screen_world(self) -> [(usize, f64); 2] {
        match self {
            Plane::Axial => [(0, 1.0), (1, 1.0)], // L to the right, P down
            Plane::Coronal => [(0, 1.0), (2, -1.0)], // L to the right, I down
            Plane::Sagittal => [(1, 1.0), (2, -1.0)], // P to the right, I down
        }
    }
}

/// For each world axis (LPS), the grid axis closest to it: the permutation
/// maximising the direction cosines, identity when the grid is too oblique
/// for one to stand out.
pub fn grid_axis_of_world(direction: &[[f64; 3]; 3]) -> [usize; 3] {
    let mut best = [0, 1, 2];
    let mut best_score = f64::NEG_INFINITY;
    for p in [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        // p[w] = grid axis shown along world axis w.
        let score: f64 = (0..3).map(|w| direction[w][p[w]].abs()).sum();
        if score > best_score + 1e-9 {
            best_score = score;
            best = p;
        }
    }
    best
}

/// Orientation letter of a world direction (LPS): its dominant component.
pub fn letter(v: [f64; 3]) -> char {
    let w = (0..3)
        .max_by(|&a, &b| v[a].abs().total_cmp(&v[b].abs()))
        .unwrap_or(0);
    match (w, v[w] >= 0.0) {
        (0, true) => 'L',
        (0, false) => 'R',
        (1, true) => 'P',
        (1, false) => 'A',
        (2, true) => 'S',
        _ => 'I',
    }
}

/// How the grid of a box is laid out for one plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// Grid axis normal to the plane.
    pub normal: usize,
    /// Grid axes along the screen's x and y.
    pub axes: [usize; 2],
    /// Whether each screen axis runs against its grid axis.
    pub flipped: [bool; 2],
    /// Letters on the left, right, top and bottom edges.
    pub letters: [char; 4],
}

/// The screen layout of `plane` on a grid with `direction` cosines.
pub fn layout(plane: Plane, direction: &[[f64; 3]; 3]) -> Layout {
    let grid_of = grid_axis_of_world(direction);
    let normal = grid_of[plane.normal_world()];
    let [(wx, sx), (wy, sy)] = plane.screen_world();
    let axes = [grid_of[wx], grid_of[wy]];
    let flipped = [
        direction[wx][axes[0]] * sx < 0.0,
        direction[wy][axes[1]] * sy < 0.0,
    ];
    // The world direction of each screen axis as drawn.
    let screen_dir = |k: usize| -> [f64; 3] {
        let s = if flipped[k] { -1.0 } else { 1.0 };
        std::array::from_fn(|r| s * direction[r][axes[k]])
    };
    let neg = |v: [f64; 3]| v.map(|c| -c);
    let (right, down) = (screen_dir(0), screen_dir(1));
    Layout {
        normal,
        axes,
        flipped,
        letters: [
            letter(neg(right)),
            letter(right),
            letter(neg(down)),
            letter(down),
        ],
    }
}

/// A rendered view.
#[derive(Debug, Clone)]
pub struct View {
    pub plane: Plane,
    pub layout: Layout,
    /// Slice index along the normal axis, in the box.
    pub slice: usize,
    pub width: usize,
    pub height: usize,
    /// Millimetres per pixel (both directions).
    pub pixel_mm: f64,
    /// Palette indices, row-major from the top-left pixel.
    pub pixels: Vec<u8>,
    /// For each pixel column / row, the box voxel index sampled along the
    /// screen's x / y grid axis.
    pub column_voxel: Vec<usize>,
    pub row_voxel: Vec<usize>,
}

impl View {
    /// The box voxel a pixel shows.
    pub fn voxel_of_pixel(&self, px: usize, py: usize) -> [usize; 3] {
        let mut v = [0; 3];
        v[self.layout.normal] = self.slice;
        v[self.layout.axes[0]] = self.column_voxel[px];
        v[self.layout.axes[1]] = self.row_voxel[py];
        v
    }

    /// Whether pixel (px, py) is drawn as contour.
    pub fn is_contour(&self, px: usize, py: usize) -> bool {
        self.pixels[py * self.width + px] == CONTOUR
    }

    /// The view as an 8-bit indexed PNG.
    pub fn png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Indexed);
            enc.set_depth(png::BitDepth::Eight);
            let mut palette = Vec::with_capacity(3 * (GREYS as usize + 1));
            for i in 0..GREYS as usize {
                let g = (i * 255 / (GREYS as usize - 1)) as u8;
                palette.extend_from_slice(&[g, g, g]);
            }
            palette.extend_from_slice(&CONTOUR_RGB);
            enc.set_palette(palette);
            enc.set_compression(png::Compression::Fast);
            let err = |e: png::EncodingError| Error::Invalid(format!("encoding a PNG: {e}"));
            let mut w = enc.write_header().map_err(err)?;
            w.write_image_data(&self.pixels).map_err(err)?;
            w.finish().map_err(err)?;
        }
        Ok(out)
    }
}

/// The palette index of `hu` in `window`.
pub fn grey_level(hu: f32, window: Window) -> u8 {
    let lo = window.level - window.width / 2.0;
    let t = ((hu as f64 - lo) / window.width).clamp(0.0, 1.0);
    (t * (GREYS - 1) as f64).round() as u8
}

/// The slice (box index along the plane's normal) where `mask` has the most
/// voxels; `None` for an empty mask. Among equal slices, the one nearest
/// their middle, then the one further along the world axis (`ascending`:
/// whether the grid index grows with it), so the choice does not depend on
/// the order in which the grid stores the slices.
pub fn largest_slice(mask: &Mask, normal: usize, ascending: bool) -> Option<usize> {
    let n = mask.geometry.dims[normal];
    let mut counts = vec![0usize; n];
    for (i, &m) in mask.data.iter().enumerate() {
        if m {
            counts[mask.geometry.coords(i)[normal]] += 1;
        }
    }
    let max = *counts.iter().max()?;
    if max == 0 {
        return None;
    }
    let tied: Vec<usize> = (0..n).filter(|&k| counts[k] == max).collect();
    let twice_middle = tied[0] + tied[tied.len() - 1];
    tied.into_iter().min_by_key(|&k| {
        let off = (2 * k).abs_diff(twice_middle);
        (off, if ascending { n - k } else { k })
    })
}

/// Render slice `slice` of `image` along `plane`, with the contour of
/// `mask` (on the same box grid), windowed, the longer side at most
/// `max_pixels` (and at least [`MIN_PIXELS`]).
pub fn render(
    image: &Volume<f32>,
    mask: &Mask,
    plane: Plane,
    slice: usize,
    window: Window,
    max_pixels: usize,
) -> View {
    let g = &image.geometry;
    let layout = layout(plane, &g.direction);
    let [ax, ay] = layout.axes;
    let (nx, ny) = (g.dims[ax], g.dims[ay]);
    let (ex, ey) = (nx as f64 * g.spacing[ax], ny as f64 * g.spacing[ay]);
    let longest = ex.max(ey);
    let mut pixel_mm = g.spacing[ax].min(g.spacing[ay]);
    let max_pixels = max_pixels.max(MIN_PIXELS);
    if longest / pixel_mm > max_pixels as f64 {
        pixel_mm = longest / max_pixels as f64;
    } else if longest / pixel_mm < MIN_PIXELS as f64 {
        pixel_mm = longest / MIN_PIXELS as f64;
    }
    let width = ((ex / pixel_mm).round() as usize).max(1);
    let height = ((ey / pixel_mm).round() as usize).max(1);
    // Box voxel under the centre of each pixel column / row.
    let sample = |k: usize, n: usize, spacing: f64, flip: bool| -> usize {
        let i = (((k as f64 + 0.5) * pixel_mm / spacing) as usize).min(n - 1);
        if flip {
            n - 1 - i
        } else {
            i
        }
    };
    let column_voxel: Vec<usize> = (0..width)
        .map(|k| sample(k, nx, g.spacing[ax], layout.flipped[0]))
        .collect();
    let row_voxel: Vec<usize> = (0..height)
        .map(|k| sample(k, ny, g.spacing[ay], layout.flipped[1]))
        .collect();
    let index = |px: usize, py: usize| {
        let mut v = [0; 3];
        v[layout.normal] = slice;
        v[ax] = column_voxel[px];
        v[ay] = row_voxel[py];
        g.index(v[0], v[1], v[2])
    };
    let grey = |hu: f32| grey_level(hu, window);
    let inside: Vec<bool> = (0..height)
        .flat_map(|py| (0..width).map(move |px| (px, py)))
        .map(|(px, py)| mask.data[index(px, py)])
        .collect();
    let mut pixels = Vec::with_capacity(width * height);
    for py in 0..height {
        for px in 0..width {
            let at = |x: usize, y: usize| inside[y * width + x];
            let edge = at(px, py)
                && (px == 0
                    || py == 0
                    || px + 1 == width
                    || py + 1 == height
                    || !at(px - 1, py)
                    || !at(px + 1, py)
                    || !at(px, py - 1)
                    || !at(px, py + 1));
            pixels.push(if edge {
                CONTOUR
            } else {
                grey(image.data[index(px, py)])
            });
        }
    }
    View {
        plane,
        layout,
        slice,
        width,
        height,
        pixel_mm,
        pixels,
        column_voxel,
        row_voxel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    #[test]
    fn letters_of_an_lps_grid() {
        let l = |p| layout(p, &IDENTITY).letters;
        assert_eq!(l(Plane::Axial), ['R', 'L', 'A', 'P']);
        assert_eq!(l(Plane::Coronal), ['R', 'L', 'S', 'I']);
        assert_eq!(l(Plane::Sagittal), ['A', 'P', 'S', 'I']);
        assert_eq!(layout(Plane::Axial, &IDENTITY).flipped, [false, false]);
        assert_eq!(layout(Plane::Coronal, &IDENTITY).flipped, [false, true]);
    }

    /// A NIfTI grid read from RAS has its first two axes reversed in LPS:
    /// the screen flips them and the letters stay radiological.
    #[test]
    fn a_ras_grid_is_flipped_to_the_same_letters() {
        let ras = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
        let a = layout(Plane::Axial, &ras);
        assert_eq!(a.letters, ['R', 'L', 'A', 'P']);
        assert_eq!(a.flipped, [true, true]);
        // A grid whose axes are permuted (x along world z, …) still finds them.
        let permuted = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
        let s = layout(Plane::Sagittal, &permuted);
        assert_eq!(s.normal, 1);
        assert_eq!(s.axes, [2, 0]);
        assert_eq!(s.letters, ['A', 'P', 'S', 'I']);
    }

    #[test]
    fn pixels_are_square_in_mm_and_the_contour_rings_the_mask() {
        // 20 × 10 voxels of 1 × 2.5 mm in the coronal plane (x, z).
        let g = Geometry::new([20, 3, 10], [1.0, 1.0, 2.5], [0.0; 3]);
        let image = Volume::filled(g.clone(), 40.0f32);
        let mut mask = Volume::filled(g, false);
        for z in 2..6 {
            for x in 5..12 {
                mask.set(x, 1, z, true);
            }
        }
        let v = render(&image, &mask, Plane::Coronal, 1, Window::default(), 256);
        // 20 mm × 25 mm at the same mm per pixel.
        let ratio = v.width as f64 / v.height as f64;
        assert!(
            (ratio - 20.0 / 25.0).abs() < 0.02,
            "{} × {}",
            v.width,
            v.height
        );
        assert!(v.pixels.contains(&CONTOUR));
        for py in 0..v.height {
            for px in 0..v.width {
                let [x, _, z] = v.voxel_of_pixel(px, py);
                let inside = (5..12).contains(&x) && (2..6).contains(&z);
                if v.is_contour(px, py) {
                    assert!(inside, "contour outside the mask at {px},{py}");
                } else if !inside {
                    assert_eq!(
                        v.pixels[py * v.width + px],
                        grey_level(40.0, Window::default())
                    );
                }
            }
        }
        // Superior up: the top rows show the highest z.
        assert_eq!(v.row_voxel[0], 9);
        assert!(!v.png().unwrap().is_empty());
    }
}
