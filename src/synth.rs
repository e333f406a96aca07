//! Synthetic multi-phase abdominal CT studies with known ground truth.
//!
//! A study is a small axial grid holding air outside an elliptic body
//! cylinder, soft tissue inside it, a "pancreas" ellipsoid and a "tumour"
//! sphere inside the pancreas (a stand-in for a hypervascular pancreatic
//! neuroendocrine tumour, PanNET). Each contrast phase is one CT series with
//! its own HU per tissue:
//!
//! | phase         | body | pancreas | tumour |
//! |---------------|------|----------|--------|
//! | unenhanced    |  20  |    45    |   40   |
//! | arterial      |  35  |   120    |  180   |
//! | portal venous |  50  |   110    |  130   |
//!
//! (defaults of [`SynthSpec::pannet`]; air is −1000 HU). Pancreas and tumour
//! voxels carry a deterministic zero-mean pattern: in storage order the
//! voxels of each region alternate `+k`, `−k` (a final odd voxel gets 0), so
//! every region's mean is exactly its HU and its values are exactly
//! `{HU − k, HU, HU + k}`.
//!
//! The ROIs are "Tumour" (the sphere) and "Pancreas" (the ellipsoid *without*
//! the tumour, so both ROIs have exactly known means). An RTSTRUCT holding
//! both is contoured on the portal venous series. Descriptions, contrast
//! agent and bolus/acquisition times are set so that
//! [`crate::study::discover`] classifies every series correctly.
//!
//! [`write_testdata`] produces the committed `testdata/` example;
//! [`write_cohort`] writes any number of seeded, varied patients for tests.

use crate::error::{Error, Result};
use crate::io::dicom::write::{
    write_bytes_atomic, write_ct_series, write_rtstruct, CtSeriesSpec, RtRoi,
};
use crate::study::Phase;
use crate::volume::{Geometry, Mask, Volume};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// HU of the air outside the body.
pub const AIR_HU: f32 = -1000.0;

/// HU per tissue in one phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TissueHu {
    pub body: f32,
    pub pancreas: f32,
    pub tumour: f32,
}

/// One CT series of a synthetic study.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpec {
    /// The phase this series truly is (what the classifier should find).
    pub phase: Phase,
    pub series_number: i64,
    pub description: String,
    pub contrast_agent: String,
    /// Seconds from ContrastBolusStartTime to acquisition; `None` writes no bolus start time.
    pub delay_s: Option<u32>,
    /// Acquisition time, seconds after midnight.
    pub acquisition_s: u32,
    pub hu: TissueHu,
    /// How this series departs from the study grid (default: not at all).
    pub grid: PhaseGrid,
}

/// How one phase's series departs from the study grid: patient motion,
/// shorter coverage, thicker slices, another frame of reference. The
/// default is none of these (the series lies on the study grid).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseGrid {
    /// Patient displacement in this phase, mm (patient axes): the anatomy
    /// drawn at `p` on the study grid lies at `p + shift_mm` here.
    pub shift_mm: [f64; 3],
    /// First and last slice of the study grid the series covers (`None`: all).
    pub slices: Option<(usize, usize)>,
    /// Keep every n-th slice of that range (0 and 1 keep all): n× the
    /// slice spacing, slice centres on those of the study grid.
    pub slice_step: usize,
    /// A frame of reference of its own (another examination or scanner).
    pub other_frame_of_reference: bool,
}

impl PhaseGrid {
    fn step(&self) -> usize {
        self.slice_step.max(1)
    }

    /// `v` (on the study grid) as this series holds it: its slices only.
    pub fn view<T: Copy>(&self, v: &Volume<T>) -> Volume<T> {
        let [nx, ny, nz] = v.geometry.dims;
        let (z0, z1) = self.slices.unwrap_or((0, nz - 1));
        let z1 = z1.min(nz - 1);
        if z0 == 0 && z1 == nz - 1 && self.step() == 1 {
            return v.clone();
        }
        let kept: Vec<usize> = (z0..=z1).step_by(self.step()).collect();
        let mut geometry = v.geometry.crop([0, 0, z0], [nx - 1, ny - 1, z0]);
        geometry.dims[2] = kept.len();
        geometry.spacing[2] *= self.step() as f64;
        let plane = nx * ny;
        let data = kept
            .iter()
            .flat_map(|&z| v.data[z * plane..(z + 1) * plane].iter().copied())
            .collect();
        Volume { geometry, data }
    }
}

/// Shape, intensities and metadata of a synthetic study.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// Seeds every UID; also the PatientID.
    pub name: String,
    pub dims: [usize; 3],
    pub spacing: [f64; 3],
    pub origin: [f64; 3],
    /// Semi-axes (mm) of the elliptic body cross-section (x, y), centred in the slice.
    pub body_radii_mm: [f64; 2],
    /// Pancreas ellipsoid centre (voxel index, may be fractional) and semi-axes (mm).
    pub pancreas_centre: [f64; 3],
    pub pancreas_radii_mm: [f64; 3],
    /// Tumour sphere centre (voxel index) and radius (mm).
    pub tumour_centre: [f64; 3],
    pub tumour_radius_mm: f64,
    /// Amplitude k of the zero-mean ±k pattern in pancreas and tumour.
    pub pattern_hu: f32,
    /// Amplitude of integer noise, uniform in `[-n, n]` HU, inside the body
    /// (0: none). Deterministic per voxel and phase.
    pub noise_hu: f32,
    pub phases: Vec<PhaseSpec>,
    /// Phase whose series the RTSTRUCT references.
    pub contoured_phase: Phase,
    /// Contrast bolus start, seconds after midnight.
    pub bolus_start_s: u32,
    /// Partial volume: each voxel's tissue HU is the mean over n×n×n
    /// points spread over the voxel (1: the tissue at the voxel centre).
    /// The ±k pattern and noise still follow the voxel centre.
    pub supersample: usize,
}

fn tm(seconds: u32) -> String {
    let s = seconds % 86_400;
    format!("{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

impl SynthSpec {
    /// The committed example: 40×40×12 voxels of 1×1×2.5 mm, three phases.
    pub fn pannet() -> SynthSpec {
        let bolus = 10 * 3600; // 10:00:00
        SynthSpec {
            name: "SYNTH_PANNET_001".into(),
            dims: [40, 40, 12],
            spacing: [1.0, 1.0, 2.5],
            origin: [-19.5, -19.5, -13.75],
            body_radii_mm: [19.0, 16.0],
            pancreas_centre: [19.5, 20.0, 5.5],
            pancreas_radii_mm: [13.0, 7.0, 11.0],
            tumour_centre: [22.0, 20.0, 5.0],
            tumour_radius_mm: 4.5,
            pattern_hu: 10.0,
            noise_hu: 0.0,
            phases: vec![
                PhaseSpec {
                    phase: Phase::Unenhanced,
                    series_number: 2,
                    description: "ABD NC 2.5mm".into(),
                    contrast_agent: String::new(),
                    delay_s: None,
                    acquisition_s: bolus - 150,
                    hu: TissueHu {
                        body: 20.0,
                        pancreas: 45.0,
                        tumour: 40.0,
                    },
                    grid: PhaseGrid::default(),
                },
                PhaseSpec {
                    phase: Phase::Arterial,
                    series_number: 3,
                    description: "PANCREAS ART 2.5mm".into(),
                    contrast_agent: "Iomeprol 350".into(),
                    delay_s: Some(40),
                    acquisition_s: bolus + 40,
                    hu: TissueHu {
                        body: 35.0,
                        pancreas: 120.0,
                        tumour: 180.0,
                    },
                    grid: PhaseGrid::default(),
                },
                PhaseSpec {
                    phase: Phase::PortalVenous,
                    series_number: 4,
                    description: "ABD PV 2.5mm".into(),
                    contrast_agent: "Iomeprol 350".into(),
                    delay_s: Some(70),
                    acquisition_s: bolus + 70,
                    hu: TissueHu {
                        body: 50.0,
                        pancreas: 110.0,
                        tumour: 130.0,
                    },
                    grid: PhaseGrid::default(),
                },
            ],
            contoured_phase: Phase::PortalVenous,
            bolus_start_s: bolus,
            supersample: 1,
        }
    }

    /// Patient `index` of a seeded cohort: grid size, shapes, HU and the
    /// wording of descriptions vary; every fourth patient has descriptions
    /// without phase keywords (so only the contrast timing tells the phase).
    pub fn cohort_member(seed: u64, index: usize) -> SynthSpec {
        let mut rng = SplitMix(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut spec = SynthSpec::pannet();
        spec.name = format!("SYNTH_{seed}_{index:03}");
        let n = 32 + 4 * rng.below(5) as usize; // 32..=48
        let nz = 10 + 2 * rng.below(3) as usize; // 10..=14
        spec.dims = [n, n, nz];
        let half = n as f64 / 2.0;
        spec.origin = [-(half - 0.5), -(half - 0.5), -(nz as f64 * 2.5) / 2.0];
        spec.body_radii_mm = [half - 1.0, half - 4.0];
        spec.pancreas_centre = [
            half - 0.5 + rng.range(-2.0, 2.0),
            half + rng.range(-2.0, 2.0),
            nz as f64 / 2.0 - 0.5,
        ];
        spec.pancreas_radii_mm = [
            rng.range(10.0, half - 5.0),
            rng.range(6.0, 8.0),
            rng.range(8.0, nz as f64 * 1.1),
        ];
        spec.tumour_radius_mm = rng.range(3.0, 5.5);
        spec.tumour_centre = [
            spec.pancreas_centre[0] + rng.range(-2.0, 2.0),
            spec.pancreas_centre[1],
            spec.pancreas_centre[2] + rng.range(-0.5, 0.5),
        ];
        let jitter = |rng: &mut SplitMix, v: f32, d: f32| {
            (v + rng.range(-d as f64, d as f64) as f32).round()
        };
        for p in &mut spec.phases {
            p.hu = TissueHu {
                body: jitter(&mut rng, p.hu.body, 5.0),
                pancreas: jitter(&mut rng, p.hu.pancreas, 10.0),
                tumour: jitter(&mut rng, p.hu.tumour, 25.0),
            };
        }
        if index % 4 == 3 {
            for p in &mut spec.phases {
                p.description = format!("Abdomen {}mm", 2.5);
                if p.phase == Phase::Unenhanced {
                    p.contrast_agent = "NONE".into();
                }
            }
        }
        spec
    }

    /// A study at the size of a real abdominal CT: three phases of
    /// 512×512×300 voxels of 0.7×0.7×1 mm (a 358 mm field of view, 300 mm
    /// long), an elliptic body with ±12 HU noise, the pancreas and a 14 mm
    /// tumour near the middle; slices above and below the body are air.
    pub fn full_size() -> SynthSpec {
        let mut spec = SynthSpec::pannet();
        spec.name = "SYNTH_FULLSIZE_001".into();
        spec.dims = [512, 512, 300];
        spec.spacing = [0.7, 0.7, 1.0];
        spec.origin = [-178.85, -178.85, -149.5];
        spec.body_radii_mm = [165.0, 120.0];
        spec.pancreas_centre = [280.0, 240.0, 150.0];
        spec.pancreas_radii_mm = [45.0, 12.0, 20.0];
        spec.tumour_centre = [310.0, 240.0, 152.0];
        spec.tumour_radius_mm = 14.0;
        spec.noise_hu = 12.0;
        for p in &mut spec.phases {
            p.description = p.description.replace("2.5mm", "1mm");
        }
        spec
    }

    fn seed(&self) -> String {
        format!("ctrad synthetic study {}", self.name)
    }

    /// The CT series spec (UIDs and metadata) of phase `p`.
    pub fn series_spec(&self, p: &PhaseSpec) -> CtSeriesSpec {
        let mut s = CtSeriesSpec::from_seed(&self.seed(), p.series_number);
        s.patient_id = self.name.clone();
        s.patient_name = format!("Synthetic^{}", self.name);
        s.study_description = "CT PANCREAS MULTIPHASE (synthetic)".into();
        s.study_time = tm(self.bolus_start_s.saturating_sub(300));
        s.series_description = p.description.clone();
        s.contrast_agent = p.contrast_agent.clone();
        s.bolus_start_time = if p.delay_s.is_some() {
            tm(self.bolus_start_s)
        } else {
            String::new()
        };
        s.acquisition_time = tm(p.acquisition_s);
        if p.grid.other_frame_of_reference {
            s.frame_of_reference_uid = crate::io::dicom::write::uid_from_seed(&format!(
                "{}/frame-of-reference/{}",
                self.seed(),
                p.series_number
            ));
        }
        s
    }

    pub fn geometry(&self) -> Geometry {
        Geometry::new(self.dims, self.spacing, self.origin)
    }
}

/// Tiny deterministic generator (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in [lo, hi), rounded to 1/8 so values print exactly.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((lo + u * (hi - lo)) * 8.0).round() / 8.0
    }
}

/// The generated images and masks of a study.
#[derive(Debug, Clone)]
pub struct SynthStudy {
    /// One image per entry of [`SynthSpec::phases`], in that order, on the
    /// study grid (a phase's [`PhaseGrid::view`] gives its series).
    pub images: Vec<Volume<f32>>,
    pub body: Mask,
    /// Pancreas ellipsoid without the tumour.
    pub pancreas: Mask,
    pub tumour: Mask,
    /// Per phase, the pancreas and tumour where that phase shows them
    /// (moved by its [`PhaseGrid::shift_mm`]; the masks above when unmoved).
    pub phase_rois: Vec<(Mask, Mask)>,
}

/// Body, pancreas (without tumour) and tumour of `spec` on its grid, the
/// anatomy moved by `shift_mm`, tested at the voxel centres.
fn shapes(spec: &SynthSpec, shift_mm: [f64; 3]) -> (Mask, Mask, Mask) {
    let g = spec.geometry();
    let [nx, ny, nz] = g.dims;
    let mut body = Mask::filled(g.clone(), false);
    let mut pancreas = Mask::filled(g.clone(), false);
    let mut tumour = Mask::filled(g.clone(), false);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let t = tissue_at(spec, [x as f64, y as f64, z as f64], shift_mm);
                let i = g.index(x, y, z);
                body.data[i] = t != Tissue::Air;
                tumour.data[i] = t == Tissue::Tumour;
                pancreas.data[i] = t == Tissue::Pancreas;
            }
        }
    }
    (body, pancreas, tumour)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tissue {
    Air,
    Body,
    Pancreas,
    Tumour,
}

/// The tissue at the (fractional) voxel index `p` of the study grid, the
/// anatomy moved by `shift_mm`.
fn tissue_at(spec: &SynthSpec, p: [f64; 3], shift_mm: [f64; 3]) -> Tissue {
    let s = spec.spacing;
    let [nx, ny, _] = spec.dims;
    let cx = (nx as f64 - 1.0) / 2.0;
    let cy = (ny as f64 - 1.0) / 2.0;
    let sq = |d: f64| d * d;
    let (fx, fy, fz) = (
        p[0] - shift_mm[0] / s[0],
        p[1] - shift_mm[1] / s[1],
        p[2] - shift_mm[2] / s[2],
    );
    let in_body = sq((fx - cx) * s[0] / spec.body_radii_mm[0])
        + sq((fy - cy) * s[1] / spec.body_radii_mm[1])
        <= 1.0;
    let c = spec.pancreas_centre;
    let r = spec.pancreas_radii_mm;
    let in_pancreas = sq((fx - c[0]) * s[0] / r[0])
        + sq((fy - c[1]) * s[1] / r[1])
        + sq((fz - c[2]) * s[2] / r[2])
        <= 1.0;
    let t = spec.tumour_centre;
    let in_tumour = sq((fx - t[0]) * s[0]) + sq((fy - t[1]) * s[1]) + sq((fz - t[2]) * s[2])
        <= sq(spec.tumour_radius_mm);
    if in_tumour {
        Tissue::Tumour
    } else if in_pancreas {
        Tissue::Pancreas
    } else if in_body {
        Tissue::Body
    } else {
        Tissue::Air
    }
}

/// Build the images and masks of `spec`.
pub fn generate(spec: &SynthSpec) -> SynthStudy {
    let g = spec.geometry();
    let (body, pancreas, tumour) = shapes(spec, [0.0; 3]);
    let pattern = |mask: &Mask| -> Vec<f32> {
        let n = mask.count();
        let mut out = vec![0.0f32; mask.data.len()];
        for (seen, (i, _)) in mask.data.iter().enumerate().filter(|(_, &m)| m).enumerate() {
            out[i] = if seen + 1 == n && !n.is_multiple_of(2) {
                0.0
            } else if seen.is_multiple_of(2) {
                spec.pattern_hu
            } else {
                -spec.pattern_hu
            };
        }
        out
    };
    let mut phase_rois = Vec::with_capacity(spec.phases.len());
    let images = spec
        .phases
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let shift = p.grid.shift_mm;
            let moved;
            let (body, pancreas, tumour) = if shift == [0.0; 3] {
                (&body, &pancreas, &tumour)
            } else {
                moved = shapes(spec, shift);
                (&moved.0, &moved.1, &moved.2)
            };
            phase_rois.push((pancreas.clone(), tumour.clone()));
            let p_pattern = pattern(pancreas);
            let t_pattern = pattern(tumour);
            let noise = |i: usize| -> f32 {
                if spec.noise_hu <= 0.0 {
                    return 0.0;
                }
                let mut r = SplitMix((i as u64) << 2 | k as u64);
                let n = spec.noise_hu as u64;
                (r.below(2 * n + 1) as i64 - n as i64) as f32
            };
            let hu_of = |t: Tissue| match t {
                Tissue::Tumour => p.hu.tumour,
                Tissue::Pancreas => p.hu.pancreas,
                Tissue::Body => p.hu.body,
                Tissue::Air => AIR_HU,
            };
            let n = spec.supersample.max(1);
            // Partial volume: the mean tissue HU over n³ points of the voxel.
            let base = |i: usize| -> f32 {
                let [x, y, z] = g.coords(i);
                let mut sum = 0.0f64;
                for a in 0..n {
                    for b in 0..n {
                        for c in 0..n {
                            let off = |j: usize| (j as f64 + 0.5) / n as f64 - 0.5;
                            let q = [x as f64 + off(c), y as f64 + off(b), z as f64 + off(a)];
                            sum += hu_of(tissue_at(spec, q, shift)) as f64;
                        }
                    }
                }
                (sum / (n * n * n) as f64) as f32
            };
            let data = (0..g.len())
                .map(|i| {
                    let (hu, extra) = if tumour.data[i] {
                        (p.hu.tumour, t_pattern[i] + noise(i))
                    } else if pancreas.data[i] {
                        (p.hu.pancreas, p_pattern[i] + noise(i))
                    } else if body.data[i] {
                        (p.hu.body, noise(i))
                    } else {
                        (AIR_HU, 0.0)
                    };
                    if n == 1 {
                        hu + extra
                    } else {
                        base(i) + extra
                    }
                })
                .collect();
            Volume {
                geometry: g.clone(),
                data,
            }
        })
        .collect();
    SynthStudy {
        images,
        body,
        pancreas,
        tumour,
        phase_rois,
    }
}

/// Paths of a written study.
#[derive(Debug, Clone)]
pub struct WrittenStudy {
    pub dir: PathBuf,
    /// Folder of each series, in [`SynthSpec::phases`] order.
    pub series_dirs: Vec<PathBuf>,
    pub rtstruct: PathBuf,
    pub truth: PathBuf,
}

/// Write `spec` as a DICOM study into `dir`: `ct_<series number>/CT0001.dcm…`
/// per phase, `RS.dcm` (ROIs Tumour and Pancreas on the contoured phase) and
/// `truth.csv` (per series and ROI: voxel count and exact mean, min, max HU).
pub fn write_study(dir: &Path, spec: &SynthSpec) -> Result<WrittenStudy> {
    let study = generate(spec);
    let truth_text = truth_csv(spec, &study);
    let mut written = write_generated(dir, spec, study, StudyLayout::Native)?;
    written.truth = dir.join("truth.csv");
    write_bytes_atomic(&written.truth, truth_text.as_bytes())?;
    Ok(written)
}

/// How [`write_study_as`] writes a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudyLayout {
    /// The whole grid, native pixel data.
    Native,
    /// The whole grid, JPEG 2000 lossless pixel data.
    Jpeg2000,
    /// The box of the pancreas and tumour grown by `margin` voxels per axis
    /// (clamped to the grid), native pixel data: the same study as a
    /// cropped research data set would hold it.
    Cropped { margin: usize },
}

/// Write `spec` as [`write_study`] does (without `truth.csv`), in `layout`.
pub fn write_study_as(dir: &Path, spec: &SynthSpec, layout: StudyLayout) -> Result<WrittenStudy> {
    write_generated(dir, spec, generate(spec), layout)
}

/// Write the generated `study` of `spec` in `layout`.
fn write_generated(
    dir: &Path,
    spec: &SynthSpec,
    mut study: SynthStudy,
    layout: StudyLayout,
) -> Result<WrittenStudy> {
    let series_spec = |p: &PhaseSpec| {
        let mut s = spec.series_spec(p);
        s.jpeg2000 = layout == StudyLayout::Jpeg2000;
        s
    };
    if let StudyLayout::Cropped { margin } = layout {
        let (lo, hi) = study.pancreas.bounding_box().ok_or_else(|| {
            Error::Invalid(format!("synthetic study {} has no pancreas", spec.name))
        })?;
        let (tlo, thi) = study.tumour.bounding_box().unwrap_or((lo, hi));
        let last = spec.geometry().last();
        let lo: [usize; 3] = std::array::from_fn(|a| lo[a].min(tlo[a]).saturating_sub(margin));
        let hi: [usize; 3] = std::array::from_fn(|a| (hi[a].max(thi[a]) + margin).min(last[a]));
        for image in &mut study.images {
            *image = image.crop(lo, hi);
        }
        for mask in [&mut study.body, &mut study.pancreas, &mut study.tumour] {
            *mask = mask.crop(lo, hi);
        }
        for (pancreas, tumour) in &mut study.phase_rois {
            *pancreas = pancreas.crop(lo, hi);
            *tumour = tumour.crop(lo, hi);
        }
    }
    let mut series_dirs = Vec::new();
    for (p, image) in spec.phases.iter().zip(&study.images) {
        let sdir = dir.join(format!("ct_{}", p.series_number));
        write_ct_series(&sdir, &p.grid.view(image), &series_spec(p))?;
        series_dirs.push(sdir);
    }
    let contoured = spec
        .phases
        .iter()
        .position(|p| p.phase == spec.contoured_phase)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "synthetic study {} has no {} series to contour",
                spec.name, spec.contoured_phase
            ))
        })?;
    let rtstruct = dir.join("RS.dcm");
    let grid = &spec.phases[contoured].grid;
    let (pancreas, tumour) = &study.phase_rois[contoured];
    let (pancreas, tumour) = (grid.view(pancreas), grid.view(tumour));
    write_rtstruct(
        &rtstruct,
        &series_spec(&spec.phases[contoured]),
        &tumour.geometry,
        &[
            RtRoi {
                name: "Tumour",
                mask: &tumour,
                interpreted_type: "GTV",
                color: [255, 0, 0],
            },
            RtRoi {
                name: "Pancreas",
                mask: &pancreas,
                interpreted_type: "ORGAN",
                color: [0, 160, 255],
            },
        ],
    )?;
    Ok(WrittenStudy {
        dir: dir.to_path_buf(),
        series_dirs,
        rtstruct,
        truth: PathBuf::new(),
    })
}

/// Ground truth table: `series_number,description,phase,roi,voxels,mean_hu,min_hu,max_hu`.
pub fn truth_csv(spec: &SynthSpec, study: &SynthStudy) -> String {
    let mut out =
        String::from("series_number,description,phase,roi,voxels,mean_hu,min_hu,max_hu\n");
    for ((p, image), (pancreas, tumour)) in
        spec.phases.iter().zip(&study.images).zip(&study.phase_rois)
    {
        let image = p.grid.view(image);
        let (pancreas, tumour) = (p.grid.view(pancreas), p.grid.view(tumour));
        for (roi, mask) in [("Tumour", &tumour), ("Pancreas", &pancreas)] {
            let values: Vec<f64> = image
                .data
                .iter()
                .zip(&mask.data)
                .filter(|(_, &m)| m)
                .map(|(&v, _)| v as f64)
                .collect();
            let n = values.len();
            let mean = values.iter().sum::<f64>() / n.max(1) as f64;
            let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(
                out,
                "{},{},{},{roi},{n},{mean},{min},{max}",
                p.series_number,
                p.description,
                p.phase.as_str()
            );
        }
    }
    out
}

/// Write `n` cohort patients (see [`SynthSpec::cohort_member`]) into
/// `dir/<name>/` and return their folders.
pub fn write_cohort(dir: &Path, n: usize, seed: u64) -> Result<Vec<PathBuf>> {
    (0..n)
        .map(|i| {
            let spec = SynthSpec::cohort_member(seed, i);
            let d = dir.join(&spec.name);
            write_study(&d, &spec)?;
            Ok(d)
        })
        .collect()
}

/// One patient of a two-reader cohort ([`write_reader_cohort`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderCase {
    pub study_id: String,
    /// The outcome (1 = G2/G3 stand-in).
    pub grade_g2g3: u8,
    /// Portal-venous tumour HU: the truly informative quantity, the same for both readers.
    pub tumour_hu: f32,
    /// Tumour radius (mm) as reader 1 contours it (the truth) and as reader 2 does.
    pub radius_r1_mm: f64,
    pub radius_r2_mm: f64,
}

/// A cohort for reproducibility and selection examples: `n` portal-venous CT
/// studies in `dir/studies/<id>/`, each with an RTSTRUCT holding two readers'
/// tumour contours `Tumour_R1` and `Tumour_R2`, and `dir/clinical.csv`
/// (`study_id,grade_g2g3`).
///
/// * The outcome is Bernoulli(0.4).
/// * Informative and reproducible: the tumour HU is 115 + 35·outcome + U(−30, 30);
///   both readers' contours lie inside the tumour, so intensity features agree.
/// * Informative but unreliable: the true radius is 3.5 + 1.5·outcome + U(0, 1.5) mm
///   (reader 1), while reader 2 draws a sphere of U(0.6, 1)× that radius, so
///   volume-like features differ between readers.
pub fn write_reader_cohort(dir: &Path, n: usize, seed: u64) -> Result<Vec<ReaderCase>> {
    let mut rng = SplitMix(seed ^ 0x0005_eed0_f2ea_de25);
    let mut cases = Vec::with_capacity(n);
    let mut clinical = String::from("study_id,grade_g2g3\n");
    for i in 0..n {
        let mut spec = SynthSpec::cohort_member(seed, i);
        spec.name = format!("READERS_{seed}_{i:03}");
        spec.phases.retain(|p| p.phase == Phase::PortalVenous);
        let y = (rng.below(1000) < 400) as u8;
        let hu = (115.0 + 35.0 * y as f64 + rng.range(-30.0, 30.0)).round() as f32;
        let r1 = 3.5 + 1.5 * y as f64 + rng.range(0.0, 1.5);
        let r2 = r1 * rng.range(0.6, 1.0);
        for p in &mut spec.phases {
            p.description = "ABD PV 2.5mm".into();
            p.hu.tumour = hu;
        }
        spec.tumour_radius_mm = r1;
        let study = generate(&spec);
        let mut reader2 = spec.clone();
        reader2.tumour_radius_mm = r2;
        let tumour_r2 = generate(&reader2).tumour;
        let sdir = dir.join("studies").join(&spec.name);
        let p = &spec.phases[0];
        write_ct_series(
            &sdir.join(format!("ct_{}", p.series_number)),
            &study.images[0],
            &spec.series_spec(p),
        )?;
        write_rtstruct(
            &sdir.join("RS.dcm"),
            &spec.series_spec(p),
            &spec.geometry(),
            &[
                RtRoi {
                    name: "Tumour_R1",
                    mask: &study.tumour,
                    interpreted_type: "GTV",
                    color: [255, 0, 0],
                },
                RtRoi {
                    name: "Tumour_R2",
                    mask: &tumour_r2,
                    interpreted_type: "GTV",
                    color: [255, 160, 0],
                },
            ],
        )?;
        let _ = writeln!(clinical, "{},{y}", spec.name);
        cases.push(ReaderCase {
            study_id: spec.name.clone(),
            grade_g2g3: y,
            tumour_hu: hu,
            radius_r1_mm: r1,
            radius_r2_mm: r2,
        });
    }
    write_bytes_atomic(&dir.join("clinical.csv"), clinical.as_bytes())?;
    Ok(cases)
}

/// Write the committed example data: `root/studies/SYNTH_PANNET_001/`,
/// `root/phantom/` and `root/README.md`.
pub fn write_testdata(root: &Path) -> Result<WrittenStudy> {
    let spec = SynthSpec::pannet();
    let written = write_study(&root.join("studies").join("SYNTH_PANNET_001"), &spec)?;
    write_phantom(&root.join("phantom"))?;
    let study = generate(&spec);
    write_bytes_atomic(
        &root.join("README.md"),
        testdata_readme(&spec, &study).as_bytes(),
    )?;
    Ok(written)
}

fn testdata_readme(spec: &SynthSpec, study: &SynthStudy) -> String {
    let mut r = String::new();
    let [nx, ny, nz] = spec.dims;
    let [sx, sy, sz] = spec.spacing;
    let _ = writeln!(r, "# ctrad test data\n");
    let _ = writeln!(
        r,
        "Everything here is synthetic and generated by `cargo run --example make_testdata`\n\
         (code: `src/synth.rs`, `src/io/dicom/write.rs`). Do not edit by hand: a test\n\
         (`tests/synth_testdata.rs`) regenerates the files and requires them to be\n\
         byte-identical. All UIDs are derived from a fixed seed.\n"
    );
    let _ = writeln!(r, "## studies/SYNTH_PANNET_001/\n");
    let _ = writeln!(
        r,
        "A multi-phase pancreas CT study with a hypervascular tumour (PanNET-like).\n\
         Patient ID `{}`. Grid {nx}×{ny}×{nz} voxels of {sx}×{sy}×{sz} mm (axial, LPS,\n\
         identity orientation). Air (−1000 HU) surrounds an elliptic body of soft tissue;\n\
         inside is a pancreas ellipsoid holding a tumour sphere.\n",
        spec.name
    );
    let _ = writeln!(
        r,
        "| folder | SeriesNumber | SeriesDescription | ContrastBolusAgent | delay | phase |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for p in &spec.phases {
        let _ = writeln!(
            r,
            "| `ct_{n}/` | {n} | {d} | {a} | {t} | {ph} |",
            n = p.series_number,
            d = p.description,
            a = if p.contrast_agent.is_empty() {
                "(empty)"
            } else {
                &p.contrast_agent
            },
            t = p.delay_s.map_or("—".to_string(), |s| format!("{s} s")),
            ph = p.phase
        );
    }
    let contoured = spec
        .phases
        .iter()
        .find(|p| p.phase == spec.contoured_phase)
        .map_or(0, |p| p.series_number);
    let _ = writeln!(
        r,
        "\nEach series is one CT Image Storage file per slice (`CT0001.dcm` …), explicit VR\n\
         little endian, int16 pixels with RescaleSlope 1 and RescaleIntercept 0.\n\n\
         `RS.dcm` is an RTSTRUCT referencing series {contoured} (portal venous) with two ROIs:\n\
         `Tumour` ({} voxels, the sphere) and `Pancreas` ({} voxels, the ellipsoid *without*\n\
         the tumour). Contours run along voxel edges, so even-odd rasterisation at voxel\n\
         centres gives the masks back exactly; `Pancreas` has holes where the tumour is inside it.\n",
        study.tumour.count(),
        study.pancreas.count()
    );
    let _ = writeln!(
        r,
        "Tissue values: every pancreas and tumour voxel is its phase's HU plus a deterministic\n\
         zero-mean pattern (alternately +{k} and −{k} HU in storage order, 0 for a final odd\n\
         voxel), so ROI means are exact. `truth.csv` lists, per series and ROI, the voxel\n\
         count and the exact mean, minimum and maximum HU:\n",
        k = spec.pattern_hu
    );
    let _ = writeln!(r, "| series | phase | body HU | pancreas HU | tumour HU |");
    let _ = writeln!(r, "|---|---|---|---|---|");
    for p in &spec.phases {
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} |",
            p.series_number, p.phase, p.hu.body, p.hu.pancreas, p.hu.tumour
        );
    }
    let _ = writeln!(
        r,
        "\n`ctrad inspect testdata/studies/SYNTH_PANNET_001` should list three CT series classified as\n\
         unenhanced, arterial and portal venous (from the description keywords `NC`, `ART`,\n\
         `PV`; the contrast delays agree) and the RTSTRUCT linked to series {contoured}.\n"
    );
    let _ = writeln!(
        r,
        "## Cohorts\n\n\
         `ctrad::synth::write_cohort(dir, n, seed)` writes `n` varied patients (grid 32–48\n\
         voxels square, 10–14 slices, jittered shapes and HU; every fourth patient has\n\
         descriptions without phase keywords) for model tests;\n\
         `ctrad::synth::write_reader_cohort(dir, n, seed)` writes portal-venous studies with two\n\
         readers' tumour contours (`Tumour_R1`, `Tumour_R2`) and `clinical.csv`, with one\n\
         reproducible informative quantity (tumour HU) and one unreliable one (reader 2's\n\
         radius). Cohorts are generated in tests, not committed.\n"
    );
    let _ = writeln!(
        r,
        "## phantom/\n\n\
         `image.nii.gz` (int16 HU) and `mask.nii.gz` (uint8 labels: 1 = tumour ellipsoid\n\
         with a textured interior, 2 = a small sphere), 40×40×20 voxels of 1×1×2.5 mm,\n\
         written by the same generator (`synth::write_phantom`) for\n\
         single-image examples: `ctrad extract --image testdata/phantom/image.nii.gz\n\
         --mask testdata/phantom/mask.nii.gz --label 1 --params … -o out.csv`."
    );
    let _ = writeln!(
        r,
        "\n## stats_reference/\n\n\
         Not synthetic studies: small data sets and the reference values of pingouin\n\
         (`intraclass_corr`), dcurves (`dca`), scipy (Mann–Whitney U, Benjamini–Hochberg),\n\
         mrmr-selection (`mrmr_classif`) and scikit-learn (L1 logistic path), written by\n\
         `scripts/stats_reference.py testdata/stats_reference` in a virtual environment\n\
         (`pip install pingouin dcurves mrmr-selection scikit-learn`; the versions are in\n\
         `reference.json`). `tests/stats_reference.rs` compares ctrad against them without\n\
         Python. Rerun the script and commit its outputs to change a reference."
    );
    r
}

/// Write the single-image example phantom into `dir`: a 40×40×20 CT-like
/// volume (1×1×2.5 mm) with a textured "tumour" ellipsoid (label 1) and a
/// small sphere (label 2) in soft tissue, as `image.nii.gz` / `mask.nii.gz`.
pub fn write_phantom(dir: &Path) -> Result<()> {
    use crate::io::DataType;
    use crate::volume::Geometry;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let geometry = Geometry::new([40, 40, 20], [1.0, 1.0, 2.5], [-20.0, -20.0, -25.0]);
    let mut image = crate::volume::Volume::filled(geometry.clone(), 40.0f32);
    let mut mask = crate::volume::Volume::filled(geometry.clone(), 0.0f32);
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
    crate::io::nifti::write(&dir.join("image.nii.gz"), &image, DataType::I16)?;
    crate::io::nifti::write(&dir.join("mask.nii.gz"), &mask, DataType::U8)?;
    Ok(())
}
