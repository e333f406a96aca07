//! Regenerate the committed synthetic test data.
//!
//! `cargo run --example make_testdata [OUT_DIR]` writes `OUT_DIR/studies/SYNTH_PANNET_001/`
//! and `OUT_DIR/README.md` (default: `testdata/` in the project root). The output
//! is byte-identical on every run; `tests/synth_testdata.rs` checks that.

use std::path::PathBuf;

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata"));
    match ctrad::synth::write_testdata(&root) {
        Ok(w) => {
            println!("wrote {}", w.dir.display());
            for d in &w.series_dirs {
                println!("  {}", d.display());
            }
            println!("  {}", w.rtstruct.display());
            println!("  {}", w.truth.display());
            println!("wrote {}", root.join("README.md").display());
        }
        Err(e) => {
            eprintln!("make_testdata: {e}");
            std::process::exit(1);
        }
    }
}
