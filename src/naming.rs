//! Feature naming: IBSI tags ↔ PyRadiomics names.
//!
//! The mapping covers the features both tools define, for PyRadiomics'
//! default extraction (original image, volumetric texture matrices, GLCM and
//! GLRLM features averaged over the 13 directions):
//! * first order / shape: `stat_mean` ↔ `original_firstorder_Mean`,
//!   `morph_volume` ↔ `original_shape_MeshVolume`, …;
//! * GLCM / GLRLM: the IBSI `_3D_avg` variant, e.g. `cm_contrast_3D_avg` ↔
//!   `original_glcm_Contrast`;
//! * GLSZM / NGLDM / NGTDM: the `_3D` variant, e.g. `szm_sze_3D` ↔
//!   `original_glszm_SmallAreaEmphasis`, `ngl_lde_3D` ↔
//!   `original_gldm_SmallDependenceEmphasis`.
//!
//! A shared name means the same concept, not always the same number: e.g.
//! PyRadiomics' Kurtosis is not the excess kurtosis IBSI `stat_kurt` is, and
//! its binning differs. For PyRadiomics' numbers use `compat: pyradiomics`,
//! which produces PyRadiomics names directly.

use crate::features::Features;

/// (IBSI tag without aggregation suffix, PyRadiomics class, feature).
const MAP: &[(&str, &str, &str)] = &[
    ("stat_mean", "firstorder", "Mean"),
    ("stat_var", "firstorder", "Variance"),
    ("stat_skew", "firstorder", "Skewness"),
    ("stat_kurt", "firstorder", "Kurtosis"),
    ("stat_median", "firstorder", "Median"),
    ("stat_min", "firstorder", "Minimum"),
    ("stat_p10", "firstorder", "10Percentile"),
    ("stat_p90", "firstorder", "90Percentile"),
    ("stat_max", "firstorder", "Maximum"),
    ("stat_iqr", "firstorder", "InterquartileRange"),
    ("stat_range", "firstorder", "Range"),
    ("stat_mad", "firstorder", "MeanAbsoluteDeviation"),
    ("stat_rmad", "firstorder", "RobustMeanAbsoluteDeviation"),
    ("stat_energy", "firstorder", "Energy"),
    ("stat_rms", "firstorder", "RootMeanSquared"),
    ("ih_entropy", "firstorder", "Entropy"),
    ("ih_uniformity", "firstorder", "Uniformity"),
    ("morph_volume", "shape", "MeshVolume"),
    ("morph_vol_approx", "shape", "VoxelVolume"),
    ("morph_area_mesh", "shape", "SurfaceArea"),
    ("morph_av", "shape", "SurfaceVolumeRatio"),
    ("morph_sphericity", "shape", "Sphericity"),
    ("morph_diam", "shape", "Maximum3DDiameter"),
    ("morph_pca_maj_axis", "shape", "MajorAxisLength"),
    ("morph_pca_min_axis", "shape", "MinorAxisLength"),
    ("morph_pca_least_axis", "shape", "LeastAxisLength"),
    ("morph_pca_elongation", "shape", "Elongation"),
    ("morph_pca_flatness", "shape", "Flatness"),
    ("cm_joint_max", "glcm", "MaximumProbability"),
    ("cm_joint_avg", "glcm", "JointAverage"),
    ("cm_joint_var", "glcm", "SumSquares"),
    ("cm_joint_entr", "glcm", "JointEntropy"),
    ("cm_diff_avg", "glcm", "DifferenceAverage"),
    ("cm_diff_var", "glcm", "DifferenceVariance"),
    ("cm_diff_entr", "glcm", "DifferenceEntropy"),
    ("cm_sum_avg", "glcm", "SumAverage"),
    ("cm_sum_entr", "glcm", "SumEntropy"),
    ("cm_energy", "glcm", "JointEnergy"),
    ("cm_contrast", "glcm", "Contrast"),
    ("cm_inv_diff", "glcm", "Id"),
    ("cm_inv_diff_norm", "glcm", "Idn"),
    ("cm_inv_diff_mom", "glcm", "Idm"),
    ("cm_inv_diff_mom_norm", "glcm", "Idmn"),
    ("cm_inv_var", "glcm", "InverseVariance"),
    ("cm_corr", "glcm", "Correlation"),
    ("cm_auto_corr", "glcm", "Autocorrelation"),
    ("cm_clust_tend", "glcm", "ClusterTendency"),
    ("cm_clust_shade", "glcm", "ClusterShade"),
    ("cm_clust_prom", "glcm", "ClusterProminence"),
    ("cm_info_corr1", "glcm", "Imc1"),
    ("cm_info_corr2", "glcm", "Imc2"),
    ("rlm_sre", "glrlm", "ShortRunEmphasis"),
    ("rlm_lre", "glrlm", "LongRunEmphasis"),
    ("rlm_lgre", "glrlm", "LowGrayLevelRunEmphasis"),
    ("rlm_hgre", "glrlm", "HighGrayLevelRunEmphasis"),
    ("rlm_srlge", "glrlm", "ShortRunLowGrayLevelEmphasis"),
    ("rlm_srhge", "glrlm", "ShortRunHighGrayLevelEmphasis"),
    ("rlm_lrlge", "glrlm", "LongRunLowGrayLevelEmphasis"),
    ("rlm_lrhge", "glrlm", "LongRunHighGrayLevelEmphasis"),
    ("rlm_glnu", "glrlm", "GrayLevelNonUniformity"),
    ("rlm_glnu_norm", "glrlm", "GrayLevelNonUniformityNormalized"),
    ("rlm_rlnu", "glrlm", "RunLengthNonUniformity"),
    ("rlm_rlnu_norm", "glrlm", "RunLengthNonUniformityNormalized"),
    ("rlm_r_perc", "glrlm", "RunPercentage"),
    ("rlm_gl_var", "glrlm", "GrayLevelVariance"),
    ("rlm_rl_var", "glrlm", "RunVariance"),
    ("rlm_rl_entr", "glrlm", "RunEntropy"),
    ("szm_sze", "glszm", "SmallAreaEmphasis"),
    ("szm_lze", "glszm", "LargeAreaEmphasis"),
    ("szm_lgze", "glszm", "LowGrayLevelZoneEmphasis"),
    ("szm_hgze", "glszm", "HighGrayLevelZoneEmphasis"),
    ("szm_szlge", "glszm", "SmallAreaLowGrayLevelEmphasis"),
    ("szm_szhge", "glszm", "SmallAreaHighGrayLevelEmphasis"),
    ("szm_lzlge", "glszm", "LargeAreaLowGrayLevelEmphasis"),
    ("szm_lzhge", "glszm", "LargeAreaHighGrayLevelEmphasis"),
    ("szm_glnu", "glszm", "GrayLevelNonUniformity"),
    ("szm_glnu_norm", "glszm", "GrayLevelNonUniformityNormalized"),
    ("szm_zsnu", "glszm", "SizeZoneNonUniformity"),
    ("szm_zsnu_norm", "glszm", "SizeZoneNonUniformityNormalized"),
    ("szm_z_perc", "glszm", "ZonePercentage"),
    ("szm_gl_var", "glszm", "GrayLevelVariance"),
    ("szm_zs_var", "glszm", "ZoneVariance"),
    ("szm_zs_entr", "glszm", "ZoneEntropy"),
    ("ngl_lde", "gldm", "SmallDependenceEmphasis"),
    ("ngl_hde", "gldm", "LargeDependenceEmphasis"),
    ("ngl_lgce", "gldm", "LowGrayLevelEmphasis"),
    ("ngl_hgce", "gldm", "HighGrayLevelEmphasis"),
    ("ngl_ldlge", "gldm", "SmallDependenceLowGrayLevelEmphasis"),
    ("ngl_ldhge", "gldm", "SmallDependenceHighGrayLevelEmphasis"),
    ("ngl_hdlge", "gldm", "LargeDependenceLowGrayLevelEmphasis"),
    ("ngl_hdhge", "gldm", "LargeDependenceHighGrayLevelEmphasis"),
    ("ngl_glnu", "gldm", "GrayLevelNonUniformity"),
    ("ngl_dcnu", "gldm", "DependenceNonUniformity"),
    ("ngl_dcnu_norm", "gldm", "DependenceNonUniformityNormalized"),
    ("ngl_gl_var", "gldm", "GrayLevelVariance"),
    ("ngl_dc_var", "gldm", "DependenceVariance"),
    ("ngl_dc_entr", "gldm", "DependenceEntropy"),
    ("ngt_coarseness", "ngtdm", "Coarseness"),
    ("ngt_contrast", "ngtdm", "Contrast"),
    ("ngt_busyness", "ngtdm", "Busyness"),
    ("ngt_complexity", "ngtdm", "Complexity"),
    ("ngt_strength", "ngtdm", "Strength"),
];

/// The aggregation suffix PyRadiomics' default extraction corresponds to.
fn suffix(family: &str) -> &'static str {
    match family {
        "cm" | "rlm" => "_3D_avg",
        "szm" | "ngl" | "ngt" => "_3D",
        _ => "",
    }
}

/// PyRadiomics name of an IBSI tag (`cm_contrast_3D_avg` →
/// `original_glcm_Contrast`), `None` when PyRadiomics has no such feature
/// or the tag is another aggregation variant.
pub fn to_pyradiomics(tag: &str) -> Option<String> {
    MAP.iter().find_map(|(base, class, name)| {
        let family = base.split('_').next().unwrap_or("");
        (tag.strip_prefix(base)? == suffix(family)).then(|| format!("original_{class}_{name}"))
    })
}

/// IBSI tag of a PyRadiomics name (the inverse of [`to_pyradiomics`]).
pub fn from_pyradiomics(name: &str) -> Option<String> {
    let rest = name.strip_prefix("original_")?;
    MAP.iter().find_map(|(base, class, feature)| {
        let family = base.split('_').next().unwrap_or("");
        (rest.strip_prefix(class)?.strip_prefix('_')? == *feature)
            .then(|| format!("{base}{}", suffix(family)))
    })
}

/// Rename IBSI columns to PyRadiomics names where a counterpart exists;
/// other columns keep their IBSI tag.
pub fn rename_to_pyradiomics(features: &Features) -> Features {
    features
        .iter()
        .map(|(tag, v)| (to_pyradiomics(tag).unwrap_or_else(|| tag.clone()), *v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_map_both_ways() {
        for (ibsi, py) in [
            ("stat_mean", "original_firstorder_Mean"),
            ("cm_contrast_3D_avg", "original_glcm_Contrast"),
            ("morph_volume", "original_shape_MeshVolume"),
            ("szm_sze_3D", "original_glszm_SmallAreaEmphasis"),
            ("ngl_lde_3D", "original_gldm_SmallDependenceEmphasis"),
            ("ngt_busyness_3D", "original_ngtdm_Busyness"),
            (
                "rlm_glnu_norm_3D_avg",
                "original_glrlm_GrayLevelNonUniformityNormalized",
            ),
            ("cm_inv_diff_mom_norm_3D_avg", "original_glcm_Idmn"),
        ] {
            assert_eq!(to_pyradiomics(ibsi).as_deref(), Some(py), "{ibsi}");
            assert_eq!(from_pyradiomics(py).as_deref(), Some(ibsi), "{py}");
        }
    }

    #[test]
    fn other_variants_and_unknown_tags_have_no_name() {
        assert_eq!(to_pyradiomics("cm_contrast_3D_comb"), None);
        assert_eq!(to_pyradiomics("szm_sze_2D"), None);
        assert_eq!(to_pyradiomics("stat_mean_x"), None);
        assert_eq!(to_pyradiomics("dzm_sde_3D"), None);
        // Prefix of a longer tag must not match the shorter one.
        assert_eq!(
            to_pyradiomics("rlm_glnu_norm_3D_avg").as_deref(),
            Some("original_glrlm_GrayLevelNonUniformityNormalized")
        );
    }

    #[test]
    fn mapping_is_one_to_one() {
        let mut seen = std::collections::BTreeSet::new();
        for (base, class, name) in MAP {
            assert!(seen.insert(format!("{class}_{name}")), "{base}");
        }
    }
}
