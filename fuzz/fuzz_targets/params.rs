//! The parameter YAML; valid parameter sets are then run through the whole
//! pipeline on a tiny image, since parameters steer allocations (resampled
//! grid, number of bins).
#![no_main]
use ctrad::params::Params;
use ctrad::volume::{Geometry, Volume};
use ctrad_fuzz::assert_no_inf;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Params::from_yaml(text, Path::new("fuzz.yaml")) else {
        return;
    };
    let g = Geometry::new([6, 5, 4], [1.0, 1.2, 2.0], [0.0, 0.0, 0.0]);
    let mut image = Volume::filled(g.clone(), -50.0f32);
    let mut mask = Volume::filled(g, false);
    for z in 1..3 {
        for y in 1..4 {
            for x in 1..5 {
                image.set(x, y, z, (x * 7 + y * 13 + z * 29) as f32);
                mask.set(x, y, z, true);
            }
        }
    }
    if let Ok(out) = ctrad::pipeline::extract(image, mask, &p, Path::new("img"), Path::new("mask"))
    {
        assert_no_inf(&out.features);
    }
});
