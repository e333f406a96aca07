//! Writes the bundled example phantom under `testdata/phantom/`:
//! a 40×40×20 CT-like volume (1×1×2.5 mm) holding a "tumour" ellipsoid with a
//! deterministic texture inside soft tissue, and its mask (label 1) plus a
//! second ROI (label 2, a sphere). Run: `cargo run --example make_phantom`.
//! The output is byte-identical on every run.

use ctrad::io::DataType;
use ctrad::volume::{Geometry, Volume};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/phantom");
    std::fs::create_dir_all(&out)?;
    let geometry = Geometry::new([40, 40, 20], [1.0, 1.0, 2.5], [-20.0, -20.0, -25.0]);
    let mut image = Volume::filled(geometry.clone(), 40.0f32);
    let mut mask = Volume::filled(geometry.clone(), 0.0f32);
    for z in 0..20 {
        for y in 0..40 {
            for x in 0..40 {
                let (fx, fy, fz) = (x as f64 - 17.5, y as f64 - 19.5, (z as f64 - 9.5) * 2.5);
                // Tumour: ellipsoid with semi-axes 11 × 8 × 15 mm.
                let t = (fx / 11.0).powi(2) + (fy / 8.0).powi(2) + (fz / 15.0).powi(2);
                // Second ROI: a sphere of radius 4 mm off to the side.
                let s = ((x as f64 - 33.0).powi(2)
                    + (y as f64 - 8.0).powi(2)
                    + ((z as f64 - 10.0) * 2.5).powi(2))
                .sqrt();
                // Deterministic texture: a smooth radial gradient plus a checker pattern.
                let checker = if (x / 2 + y / 2 + z) % 2 == 0 {
                    15.0
                } else {
                    -15.0
                };
                let v = if t <= 1.0 {
                    mask.set(x, y, z, 1.0);
                    110.0 - 40.0 * t + checker
                } else if s <= 4.0 {
                    mask.set(x, y, z, 2.0);
                    60.0 + checker / 3.0
                } else {
                    40.0 + ((x * 7 + y * 13 + z * 17) % 11) as f64 - 5.0
                };
                image.set(x, y, z, v.round() as f32);
            }
        }
    }
    ctrad::io::nifti::write(&out.join("image.nii.gz"), &image, DataType::I16)?;
    ctrad::io::nifti::write(&out.join("mask.nii.gz"), &mask, DataType::U8)?;
    println!("wrote {}", out.display());
    Ok(())
}
