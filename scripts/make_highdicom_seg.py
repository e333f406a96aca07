#!/usr/bin/env python3
"""Write a DICOM SEG with an independent tool (highdicom) for ctrad's tests.

Usage: python3 scripts/make_highdicom_seg.py [OUT.dcm]
Needs: pip install highdicom (made with highdicom 0.28.2, pydicom 3.0.2).

The SEG references the portal-venous series of the bundled synthetic study
(testdata/studies/SYNTH_PANNET_001/ct_4) and holds two analytically defined
segments, which tests/dicom_seg_independent.rs recomputes and compares:
  1 "Sphere": voxel centres within 6 mm of voxel (20, 20, 6) (x, y, slice),
             using the series' 1 x 1 x 2.5 mm spacing;
  2 "Box":    x in 5..=12, y in 25..=33, slices 3..=5 only (partial coverage).
Empty frames are omitted, so the SEG covers only some slices.
"""
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT / "testdata/studies/SYNTH_PANNET_001/ct_4"
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "testdata/seg_highdicom/synth_pv_seg.dcm"


def main():
    images = [pydicom.dcmread(p) for p in sorted(SERIES.glob("*.dcm"))]
    images.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    rows, cols = images[0].Rows, images[0].Columns
    dx, dy = float(images[0].PixelSpacing[1]), float(images[0].PixelSpacing[0])
    dz = abs(float(images[1].ImagePositionPatient[2]) - float(images[0].ImagePositionPatient[2]))
    n = len(images)
    z, y, x = np.meshgrid(np.arange(n), np.arange(rows), np.arange(cols), indexing="ij")
    sphere = ((x - 20) * dx) ** 2 + ((y - 20) * dy) ** 2 + ((z - 6) * dz) ** 2 <= 36.0
    box = (x >= 5) & (x <= 12) & (y >= 25) & (y <= 33) & (z >= 3) & (z <= 5)
    labels = np.zeros((n, rows, cols), dtype=np.uint8)
    labels[sphere] = 1
    labels[box] = 2
    algo = hd.AlgorithmIdentificationSequence(
        name="analytic", version="1", family=hd.sr.CodedConcept("123109", "DCM", "Manual Processing")
    )
    def segment(number, label):
        return hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure"),
            segmented_property_type=hd.sr.CodedConcept("15776009", "SCT", "Pancreas"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
    seg = hd.seg.Segmentation(
        source_images=images,
        pixel_array=labels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment(1, "Sphere"), segment(2, "Box")],
        series_instance_uid="2.25.91552218271019021532779302231873240125",
        series_number=90,
        sop_instance_uid="2.25.91552218271019021532779302231873240126",
        instance_number=1,
        manufacturer="ctrad test data",
        manufacturer_model_name="make_highdicom_seg.py",
        software_versions=hd.__version__,
        device_serial_number="0",
        transfer_syntax_uid=ExplicitVRLittleEndian,
        omit_empty_frames=True,
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {seg.NumberOfFrames} frames; "
          f"sphere {int(sphere.sum())} voxels, box {int(box.sum())} voxels)")


if __name__ == "__main__":
    main()
