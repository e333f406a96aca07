//! Write the full-size synthetic study (`ctrad::synth::SynthSpec::full_size`:
//! three phases of 512×512×300 voxels) for the real-size benchmark
//! (`benches/full_size.py`).
//!
//! `cargo run --release --example make_fullsize -- OUT_DIR` writes
//! `OUT_DIR/native/SYNTH_FULLSIZE_001/` (native pixel data),
//! `OUT_DIR/jpeg2000/SYNTH_FULLSIZE_001/` (JPEG 2000 lossless) and
//! `OUT_DIR/cropped/SYNTH_FULLSIZE_001/` (the same study cropped to the
//! pancreas and tumour plus 20 voxels, as research data sets hold it), and
//! `OUT_DIR/nifti/` with the portal-venous phase as `image.nii.gz` (int16)
//! and the tumour as `tumour.nii.gz` (uint8 label map).
//! Layouts already written are kept (delete a folder to rewrite it).

use ctrad::io::{nifti, DataType};
use ctrad::study::Phase;
use ctrad::synth::{generate, write_study_as, StudyLayout, SynthSpec};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: make_fullsize OUT_DIR");
        std::process::exit(2);
    };
    let spec = SynthSpec::full_size();
    for (name, layout) in [
        ("native", StudyLayout::Native),
        ("cropped", StudyLayout::Cropped { margin: 20 }),
        ("jpeg2000", StudyLayout::Jpeg2000),
    ] {
        let dir = root.join(name).join(&spec.name);
        write_once(&dir, "RS.dcm", || {
            write_study_as(&dir, &spec, layout).map(drop)
        });
    }
    let dir = root.join("nifti");
    write_once(&dir, "tumour.nii.gz", || {
        let study = generate(&spec);
        let pv = spec
            .phases
            .iter()
            .position(|p| p.phase == Phase::PortalVenous)
            .expect("a portal-venous phase");
        let tumour = study.tumour.map(|b| if b { 1.0 } else { 0.0 });
        std::fs::create_dir_all(&dir).map_err(|e| ctrad::error::Error::io(&dir, e))?;
        nifti::write(&dir.join("image.nii.gz"), &study.images[pv], DataType::I16)?;
        nifti::write(&dir.join("tumour.nii.gz"), &tumour, DataType::U8)
    });
}

/// Run `write` unless `dir/last` (the file written last) exists; exit on error.
fn write_once(dir: &Path, last: &str, write: impl FnOnce() -> ctrad::error::Result<()>) {
    if dir.join(last).exists() {
        println!("kept {}", dir.display());
        return;
    }
    let t = Instant::now();
    if let Err(e) = write() {
        eprintln!("make_fullsize: {e}");
        std::process::exit(1);
    }
    println!(
        "wrote {} in {:.1} s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
}
