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
    args = ap.parse_args()
    ensure_radiomics(args.venv)

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
        feats = [(k, float(v)) for k, v in result.items() if k.startswith("original_")]
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


if __name__ == "__main__":
    main()
