//! Mean filter (IBSI 2, section 2.1): the average over a cube (3D) or square
//! (2D) of `support` voxels per side,
//! `h(i) = 1 / M^d` for every offset `|i_a| ≤ (M − 1)/2`.

use super::boundary::{check_kernel_fits, convolve_separable};
use super::{with_data, Common, Keys};
use crate::error::Result;
use crate::volume::Volume;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Kernel width M in voxels (odd).
    pub support: usize,
}

impl Config {
    pub fn parse(keys: &mut Keys, _common: &Common) -> Result<Config> {
        let support = keys
            .usize("support")?
            .ok_or_else(|| keys.err("support", "is missing (kernel width in voxels, odd)"))?;
        if support == 0 || support % 2 == 0 {
            return Err(keys.err(
                "support",
                &format!("must be an odd number of voxels, got {support}"),
            ));
        }
        Ok(Config { support })
    }

    pub fn name(&self) -> String {
        format!("mean_s{}", self.support)
    }

    pub fn margin(&self, _c: &Common, _spacing: [f64; 3]) -> Option<[usize; 3]> {
        let r = self.support / 2;
        Some([r; 3])
    }

    pub fn apply(&self, c: &Common, image: &Volume<f32>) -> Result<Volume<f32>> {
        let dims = image.geometry.dims;
        check_kernel_fits("mean filter", self.support / 2, dims, c.dims.axes())?;
        let k = vec![1.0 / self.support as f64; self.support];
        let axes = c.dims.axes();
        let kernels = vec![&k[..]; axes.len()];
        let cur = convolve_separable(&image.data, dims, axes, &kernels, c.boundary);
        Ok(with_data(image, cur))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::{Boundary, FilterDims};
    use crate::volume::Geometry;

    #[test]
    fn mean_of_a_constant_is_the_constant() {
        let g = Geometry::new([7, 6, 5], [1.0, 1.0, 2.0], [0.0; 3]);
        let img = Volume::filled(g, 3.5f32);
        for b in [Boundary::Nearest, Boundary::Periodic, Boundary::Mirror] {
            let c = Common {
                boundary: b,
                dims: FilterDims::D3,
            };
            let out = Config { support: 5 }.apply(&c, &img).unwrap();
            assert!(out.data.iter().all(|&v| (v - 3.5).abs() < 1e-6));
        }
    }
}
