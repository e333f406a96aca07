//! GLSZM, GLDZM, NGTDM and NGLDM against the IBSI reference values
//! (digital phantom: 2D, 2.5D, 3D; configuration A: 2D, 2.5D).

mod common;

use ctrad::features::{gldzm, glszm, ngldm, ngtdm, Dimensionality, Features, TextureSettings};
use ctrad::roi::DiscreteRoi;
use std::collections::BTreeMap;
use std::time::Instant;

const FAMILIES: [&str; 4] = ["szm", "dzm", "ngt", "ngl"];

/// A family's entry point.
type Family = fn(&DiscreteRoi, &TextureSettings) -> Features;

/// Run the four families, print per-family timings, and return all features.
fn run_all(roi: &DiscreteRoi, settings: &TextureSettings, label: &str) -> BTreeMap<String, f64> {
    let families: [(&str, Family); 4] = [
        ("szm", glszm::compute),
        ("dzm", gldzm::compute),
        ("ngt", ngtdm::compute),
        ("ngl", ngldm::compute),
    ];
    let mut out = BTreeMap::new();
    for (name, f) in families {
        // Best of three runs: the first also pays for thread-pool start-up,
        // and the shared test machine is noisy.
        let mut best = f64::INFINITY;
        let mut feats = Features::new();
        for _ in 0..3 {
            let t = Instant::now();
            feats = f(roi, settings);
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        eprintln!("{label}: {name} took {best:.1} ms (best of 3)");
        for (tag, v) in feats {
            assert!(out.insert(tag.clone(), v).is_none(), "duplicate tag {tag}");
        }
    }
    out
}

/// Per-family-and-variant match counts, printed; returns the mismatches.
fn report(
    config: &str,
    refs: &BTreeMap<String, common::Reference>,
    feats: &BTreeMap<String, f64>,
) -> Vec<String> {
    let (counts, failures) = common::compare(refs, feats, &FAMILIES);
    // Finer split by variant (tag suffix) for the report.
    let mut by_variant: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for r in refs
        .values()
        .filter(|r| FAMILIES.contains(&r.family.as_str()))
    {
        let variant = ["2_5D", "2D", "3D"]
            .into_iter()
            .find(|v| r.tag.ends_with(v))
            .unwrap_or("?")
            .to_string();
        let e = by_variant.entry((r.family.clone(), variant)).or_default();
        e.1 += 1;
        if feats
            .get(&r.tag)
            .is_some_and(|&v| common::matches(r.value, r.tolerance, v))
        {
            e.0 += 1;
        }
    }
    for ((fam, var), (ok, n)) in &by_variant {
        eprintln!("{config} {fam} {var}: {ok}/{n}");
    }
    eprintln!("{config} totals: {counts:?}");
    for f in &failures {
        eprintln!("{config} MISMATCH {f}");
    }
    // Every reference tag of these families must have been emitted.
    for r in refs
        .values()
        .filter(|r| FAMILIES.contains(&r.family.as_str()))
    {
        assert!(feats.contains_key(&r.tag), "missing {}", r.tag);
    }
    failures
}

#[test]
fn digital_phantom_all_variants() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let droi = common::digital_phantom_discrete(&td);
    let settings = TextureSettings {
        dimensionalities: Dimensionality::ALL.to_vec(),
        ..Default::default()
    };
    let feats = run_all(&droi, &settings, "dig");
    let refs = common::reference_values(&td, "dig");
    let failures = report("dig", &refs, &feats);
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}

#[test]
fn config_a_2d_and_2_5d() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let t = Instant::now();
    let droi = common::config_a_discrete(&td);
    eprintln!(
        "A: loading and preparing took {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let settings = TextureSettings {
        dimensionalities: vec![Dimensionality::D2, Dimensionality::D2_5],
        ..Default::default()
    };
    let feats = run_all(&droi, &settings, "A");
    let refs = common::reference_values(&td, "A");
    let failures = report("A", &refs, &feats);
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}
