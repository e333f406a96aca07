#!/usr/bin/env python3
"""Compute PyRadiomics reference values for ctrad's compatibility tests.

Usage:
    scripts/pyradiomics_reference.py [--venv DIR] [--params FILE] [--cases STS_001,...]
                                     [--testdata DIR] [--out FILE]

Runs PyRadiomics (the pyradiomics-bhklab 3.1.4 build of PyRadiomics 3.1) with
a parameter file on the STS NIfTI pairs
``<testdata>/sts_ct/STS_00N/nifti/CT_image.nii.gz`` + ``CT_mask.nii.gz``
(label 1) and writes one CSV row per case: ``case`` then every
``original_<class>_<Feature>`` column, values at full precision (``repr``).

``--venv DIR``: when this interpreter cannot import radiomics, create a venv
at DIR (if missing), install ``pyradiomics-bhklab==3.1.4`` there and re-run
this script with it. The ctrad ``compat:`` key is stripped from the parameter
file before it is handed to PyRadiomics.

``--filters FILE``: instead of features, write PyRadiomics' image types
(LoG, Wavelet, Gradient, Square, SquareRoot, Logarithm, Exponential) of a
small synthetic volume as JSON, for ctrad's filter unit tests.

Defaults: --params pipelines/pyradiomics/default.yaml,
--testdata $CTRAD_TESTDATA or ../shared/testdata, cases STS_001..STS_005,
--out testdata/pyradiomics_reference/<params stem>.csv.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "pyradiomics-bhklab==3.1.4"


def ensure_radiomics(venv):
    try:
        import radiomics  # noqa: F401
        return
    except ImportError:
        pass
    if not venv:
        sys.exit("radiomics is not importable; pass --venv DIR to create a venv with " + PACKAGE)
    python = os.path.join(venv, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit("radiomics still not importable inside " + venv)
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([python, "-m", "pip", "install", PACKAGE])
    os.execv(python, [python] + sys.argv)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv")
    ap.add_argument("--params", default=os.path.join(ROOT, "pipelines/pyradiomics/default.yaml"))
    ap.add_argument("--testdata", default=os.environ.get("CTRAD_TESTDATA", os.path.join(ROOT, "../shared/testdata")))
    ap.add_argument("--cases", default="STS_001,STS_002,STS_003,STS_004,STS_005")
    ap.add_argument("--out")
    ap.add_argument("--filters")
    args = ap.parse_args()
    ensure_radiomics(args.venv)
    if args.filters:
        write_filter_fixture(args.filters)
        return

    import logging
    import radiomics
    from radiomics import featureextractor

    radiomics.setVerbosity(logging.ERROR)
    # Strip ctrad-only keys: PyRadiomics validates the schema strictly.
    lines = [l for l in open(args.params) if not l.startswith("compat:")]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.writelines(lines)
        params = f.name
    extractor = featureextractor.RadiomicsFeatureExtractor(params)
    os.unlink(params)

    out = args.out or os.path.join(
        ROOT, "testdata/pyradiomics_reference", os.path.splitext(os.path.basename(args.params))[0] + ".csv")
    rows = []
    header = None
    for case in args.cases.split(","):
        d = os.path.join(args.testdata, "sts_ct", case, "nifti")
        result = extractor.execute(os.path.join(d, "CT_image.nii.gz"), os.path.join(d, "CT_mask.nii.gz"))
        feats = [(k, float(v)) for k, v in result.items() if not k.startswith("diagnostics_")]
        names = [k for k, _ in feats]
        if header is None:
            header = names
        elif header != names:
            sys.exit("feature columns differ between cases")
        rows.append([case] + [repr(v) for _, v in feats])
        print(case, len(feats), "features", file=sys.stderr)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case"] + header)
        w.writerows(rows)
    print("wrote", out, "(PyRadiomics", radiomics.__version__ + ")", file=sys.stderr)


def write_filter_fixture(out):
    """PyRadiomics' image types of a small synthetic volume (odd sizes, to
    exercise the wavelet padding; anisotropic spacing), every value as the
    float64 repr of the image's pixel."""
    import json
    import numpy
    import SimpleITK as sitk
    from radiomics import imageoperations as io

    nx, ny, nz = 9, 8, 7
    z, y, x = numpy.mgrid[0:nz, 0:ny, 0:nx]
    # Deterministic integers in about [-1000, 1500]: a smooth part plus a hash.
    noise = (x * 7919 + y * 104729 + z * 1299709) % 977
    arr = (400 * numpy.sin(x / 2.0) + 300 * numpy.cos(y / 3.0) * z + noise - 300).round().astype(numpy.float32)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.8, 1.1, 2.5))
    mask = sitk.GetImageFromArray(numpy.ones(arr.shape, dtype=numpy.uint8))
    mask.CopyInformation(img)

    def flat(im):
        a = sitk.GetArrayFromImage(im)
        if a.dtype == numpy.float32:
            # The shortest decimal that reads back as this float32.
            values = [float(numpy.format_float_positional(v, unique=True)) for v in a.ravel()]
        else:
            values = [float(v) for v in a.ravel()]
        return {"dtype": str(a.dtype), "values": values}

    # A list, in PyRadiomics' order of the derived images.

    maps = []
    for name, gen in [
        ("log", io.getLoGImage(img, mask, sigma=[1.0, 2.5])),
        ("wavelet_coif1", io.getWaveletImage(img, mask)),
        ("wavelet_db2_start1", io.getWaveletImage(img, mask, wavelet="db2", start_level=1)),
        ("wavelet_haar_level2", io.getWaveletImage(img, mask, wavelet="haar", level=2)),
        ("gradient", io.getGradientImage(img, mask)),
        ("gradient_voxels", io.getGradientImage(img, mask, gradientUseSpacing=False)),
        ("square", io.getSquareImage(img, mask)),
        ("squareroot", io.getSquareRootImage(img, mask)),
        ("logarithm", io.getLogarithmImage(img, mask)),
        ("exponential", io.getExponentialImage(img, mask)),
    ]:
        for im, type_name, _ in gen:
            maps.append(dict(key=name + ":" + type_name, **flat(im)))
    # PyRadiomics' resampling of the volume with a box-shaped ROI.
    roi = numpy.zeros(arr.shape, dtype=numpy.uint8)
    roi[2:5, 2:6, 2:7] = 1
    roi_img = sitk.GetImageFromArray(roi)
    roi_img.CopyInformation(img)
    resampled = []
    for interp in ["sitkBSpline", "sitkLinear", "sitkNearestNeighbor"]:
        im, ma = io.resampleImage(img, roi_img, resampledPixelSpacing=[0.5, 0.7, 1.3],
                                  interpolator=interp, padDistance=2)
        resampled.append(dict(interpolator=interp, dims=list(im.GetSize()),
                              mask=[int(v) for v in sitk.GetArrayFromImage(ma).ravel()], **flat(im)))
    data = {
        "dims": [nx, ny, nz],
        "roi": [[2, 2, 2], [6, 5, 4]],
        "resampled": resampled,
        "spacing": list(img.GetSpacing()),
        "image": [float(v) for v in arr.ravel()],
        "maps": maps,
    }
    with open(out, "w") as f:
        json.dump(data, f)
    print("wrote", out, len(maps), "maps", file=sys.stderr)


if __name__ == "__main__":
    main()
