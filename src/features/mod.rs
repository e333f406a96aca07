//! Feature families, one module per IBSI family.
//!
//! Every family returns [`Features`]: `(IBSI tag, value)` pairs in a fixed order.
//! Tags follow the IBSI reference spreadsheet exactly (e.g. `cm_joint_max_3D_avg`,
//! `szm_sze_2_5D`). A value that IBSI leaves undefined for the ROI is `NaN`.

mod directional;
pub mod glcm;
pub mod gldzm;
pub mod glrlm;
pub mod glszm;
pub mod ih;
pub mod ivh;
pub mod loc;
pub mod morph;
pub mod ngldm;
pub mod ngtdm;
pub(crate) mod padded;
pub mod stat;
#[cfg(test)]
pub(crate) mod test_support;

/// `(IBSI tag, value)` pairs.
pub type Features = Vec<(String, f64)>;

/// How texture matrices are built and aggregated (IBSI section "Aggregating features").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimensionality {
    /// Per-slice matrices (in-plane neighbours only).
    D2,
    /// Per-slice matrices merged over the volume.
    D2_5,
    /// Volumetric matrices (26-neighbourhood).
    D3,
}

impl Dimensionality {
    /// Tag fragment: `2D`, `2_5D` or `3D`.
    pub fn tag(self) -> &'static str {
        match self {
            Dimensionality::D2 => "2D",
            Dimensionality::D2_5 => "2_5D",
            Dimensionality::D3 => "3D",
        }
    }

    pub const ALL: [Dimensionality; 3] =
        [Dimensionality::D2, Dimensionality::D2_5, Dimensionality::D3];
}

/// Settings shared by the texture families.
#[derive(Debug, Clone, PartialEq)]
pub struct TextureSettings {
    /// Which of 2D / 2.5D / 3D to compute. GLCM and GLRLM emit `_avg` and
    /// `_comb` for each; GLSZM, GLDZM, NGTDM and NGLDM emit one variant each.
    pub dimensionalities: Vec<Dimensionality>,
    /// GLCM neighbour distance (Chebyshev), IBSI default 1.
    pub glcm_distance: usize,
    /// NGTDM neighbourhood distance (Chebyshev), IBSI default 1.
    pub ngtdm_distance: usize,
    /// NGLDM neighbourhood distance (Chebyshev), IBSI default 1.
    pub ngldm_distance: usize,
    /// NGLDM coarseness parameter α, IBSI default 0.
    pub ngldm_alpha: u32,
}

impl Default for TextureSettings {
    fn default() -> Self {
        TextureSettings {
            dimensionalities: vec![Dimensionality::D3],
            glcm_distance: 1,
            ngtdm_distance: 1,
            ngldm_distance: 1,
            ngldm_alpha: 0,
        }
    }
}

/// The 13 unique directions of the 3D 26-neighbourhood as (dx, dy, dz); the
/// first four lie in the axial plane and are the 2D directions
/// (0°, 45°, 90°, 135°).
pub const DIRECTIONS_3D: [[i32; 3]; 13] = [
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 0],
    [-1, 1, 0],
    [0, 0, 1],
    [1, 0, 1],
    [1, 1, 1],
    [0, 1, 1],
    [-1, 1, 1],
    [-1, 0, 1],
    [-1, -1, 1],
    [0, -1, 1],
    [1, -1, 1],
];

/// Number of in-plane directions at the start of [`DIRECTIONS_3D`].
pub const N_DIRECTIONS_2D: usize = 4;
