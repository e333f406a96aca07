//! GLCM (`cm`) and GLRLM (`rlm`) features against the IBSI 1 reference values:
//! the digital phantom (all six aggregations) and CT phantom configuration A
//! (2D and 2.5D).

mod common;

use ctrad::features::{glcm, glrlm, Dimensionality, Features, TextureSettings};
use ctrad::roi::DiscreteRoi;
use std::collections::BTreeMap;
use std::time::Instant;

/// Both families for `roi`, as a tag → value map.
fn texture(roi: &DiscreteRoi, dims: &[Dimensionality]) -> BTreeMap<String, f64> {
    let settings = TextureSettings {
        dimensionalities: dims.to_vec(),
        ..Default::default()
    };
    let mut all: Features = glcm::compute(roi, &settings);
    all.extend(glrlm::compute(roi, &settings));
    let n = all.len();
    let map: BTreeMap<String, f64> = all.into_iter().collect();
    assert_eq!(map.len(), n, "duplicate tags");
    map
}

/// Per family and aggregation suffix: (matched, total).
fn report(
    config: &str,
    refs: &BTreeMap<String, common::Reference>,
    features: &BTreeMap<String, f64>,
) -> Vec<String> {
    let (counts, failures) = common::compare(refs, features, &["cm", "rlm"]);
    let mut by_agg: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for r in refs
        .values()
        .filter(|r| r.family == "cm" || r.family == "rlm")
    {
        let agg = [
            "2D_avg",
            "2D_comb",
            "2_5D_avg",
            "2_5D_comb",
            "3D_avg",
            "3D_comb",
        ]
        .into_iter()
        .find(|a| r.tag.ends_with(&format!("_{a}")))
        .expect("aggregation suffix");
        let e = by_agg
            .entry((r.family.clone(), agg.to_string()))
            .or_default();
        e.1 += 1;
        if features
            .get(&r.tag)
            .is_some_and(|&v| common::matches(r.value, r.tolerance, v))
        {
            e.0 += 1;
        }
    }
    for ((fam, agg), (m, t)) in &by_agg {
        eprintln!("{config} {fam} {agg}: {m}/{t}");
    }
    for (fam, (m, t)) in &counts {
        eprintln!("{config} {fam} total: {m}/{t}");
    }
    for f in &failures {
        eprintln!("{config} MISMATCH {f}");
    }
    failures
}

/// Every tag we emit for a config's dimensionalities must be a reference tag.
fn assert_tags_known(refs: &BTreeMap<String, common::Reference>, f: &BTreeMap<String, f64>) {
    for tag in f.keys() {
        assert!(refs.contains_key(tag), "{tag} is not an IBSI tag");
    }
}

#[test]
fn digital_phantom_all_aggregations() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let droi = common::digital_phantom_discrete(&td);
    let f = texture(&droi, &Dimensionality::ALL);
    let refs = common::reference_values(&td, "dig");
    assert_eq!(
        f.len(),
        refs.values()
            .filter(|r| r.family == "cm" || r.family == "rlm")
            .count()
    );
    assert_tags_known(&refs, &f);
    let failures = report("dig", &refs, &f);
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}

/// Config A: no interpolation, re-segmentation to [-500, 400] HU, FBS 25 HU
/// from -500 (done inline here, independent of the preprocessing module).
#[test]
fn ct_phantom_config_a() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let droi = common::config_a_discrete(&td);
    let dims = [Dimensionality::D2, Dimensionality::D2_5];
    let t0 = Instant::now();
    let f = texture(&droi, &dims);
    eprintln!(
        "config A: cm + rlm (2D, 2.5D) on {} ROI voxels in {:.1} ms",
        droi.levels.iter().filter(|&&l| l > 0).count(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    let refs = common::reference_values(&td, "A");
    assert_tags_known(&refs, &f);
    let failures = report("A", &refs, &f);
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}
