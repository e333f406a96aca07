//! First-order families (stat, ih, ivh, loc) against the IBSI 1 reference
//! values: the digital phantom and configuration A of the CT phantom (NIfTI).

mod common;

use ctrad::features::ivh::IvhDiscretisation;
use ctrad::features::{ih, ivh, loc, stat, Features};
use ctrad::volume::{Mask, Volume};
use std::collections::BTreeMap;

const FAMILIES: [&str; 4] = ["stat", "ih", "ivh", "loc"];

/// Compare with the reference values of `config`, print per-family counts and
/// fail on any mismatch or missing tag.
fn check(config: &str, td: &std::path::Path, features: Features) {
    let refs = common::reference_values(td, config);
    let mut map = BTreeMap::new();
    for (tag, value) in features {
        assert!(
            map.insert(tag.clone(), value).is_none(),
            "duplicate tag {tag}"
        );
    }
    let (counts, failures) = common::compare(&refs, &map, &FAMILIES);
    for (family, (ok, total)) in &counts {
        println!("{config} {family}: matched {ok}/{total}");
    }
    for f in &failures {
        println!("{config} MISMATCH {f}");
    }
    // Every family must be covered by the reference set.
    for family in FAMILIES {
        assert!(
            counts.contains_key(family),
            "no reference rows for {family}"
        );
    }
    assert!(
        failures.is_empty(),
        "{config}: {} mismatches",
        failures.len()
    );
}

/// Intensities of the voxels in `mask`, in storage order.
fn masked_values(image: &Volume<f32>, mask: &Mask) -> Vec<f64> {
    image
        .data
        .iter()
        .zip(&mask.data)
        .filter(|(_, &m)| m)
        .map(|(&v, _)| v as f64)
        .collect()
}

#[test]
fn digital_phantom_first_order() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let (image, mask) = common::digital_phantom(&td);
    let values = masked_values(&image, &mask);
    // The phantom's intensities already are grey levels 1..=6.
    let levels: Vec<u32> = values.iter().map(|&v| v as u32).collect();
    assert!(levels.iter().all(|&l| (1..=6).contains(&l)));

    let mut features = stat::compute(&values);
    features.extend(ih::compute(&levels, 6));
    features.extend(ivh::compute(
        &values,
        &IvhDiscretisation::Discrete { range: None },
    ));
    features.extend(loc::compute(&image, &mask));
    check("dig", &td, features);
}

#[test]
fn ct_phantom_config_a_first_order() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("ibsi1/ct_phantom/nifti");
    // IBSI: round the NIfTI image to integer HU before processing.
    let image = ctrad::io::read_volume(&dir.join("phantom.nii.gz"))
        .unwrap()
        .map(|v| v.round());
    let morph = ctrad::io::read_volume(&dir.join("mask.nii.gz"))
        .unwrap()
        .select(None);
    // Config A: no interpolation; range re-segmentation to [−500, 400] HU.
    let (lo, hi) = (-500.0f64, 400.0f64);
    let intensity = Volume {
        geometry: morph.geometry.clone(),
        data: morph
            .data
            .iter()
            .zip(&image.data)
            .map(|(&m, &v)| m && (lo..=hi).contains(&(v as f64)))
            .collect(),
    };
    let values = masked_values(&image, &intensity);
    // CONFIGS.md diagnostics for A after re-segmentation.
    assert_eq!(values.len(), 114_596);

    // Fixed bin size 25 HU from the range minimum: X_d = ⌊(X − lo) / 25⌋ + 1.
    let width = 25.0;
    let levels: Vec<u32> = values
        .iter()
        .map(|&v| ((v - lo) / width).floor() as u32 + 1)
        .collect();
    let n_levels = ((hi - lo) / width).floor() as u32 + 1;

    let mut features = stat::compute(&values);
    features.extend(ih::compute(&levels, n_levels));
    features.extend(ivh::compute(
        &values,
        &IvhDiscretisation::Discrete {
            range: Some((lo, hi)),
        },
    ));
    let t = std::time::Instant::now();
    features.extend(loc::compute(&image, &intensity));
    println!("A loc: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    check("A", &td, features);
}
