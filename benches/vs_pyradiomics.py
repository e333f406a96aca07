#!/usr/bin/env python3
"""Side-by-side timing of ctrad and PyRadiomics on the STS CT studies.

Modes (``--mode``, default ``all``):

* ``nifti``  — NIfTI image + mask. ctrad: ``ctrad extract --image I --mask M``;
  PyRadiomics: its CLI ``pyradiomics I M --param P -o out.csv -f csv``.
* ``dicom``  — DICOM series + RTSTRUCT. ctrad reads both directly; the Python
  side loads the series with SimpleITK's ImageSeriesReader, rasterises the
  RTSTRUCT with rt-utils and runs PyRadiomics' extractor (one ``python`` process
  per study).
  With ``--uncompressed`` both tools read uncompressed ``.nii`` copies made in
  a temporary folder: the gap to the ``.nii.gz`` run is the cost of inflating
  the gzip stream, which both tools must do in full (ctrad with libdeflate,
  checking the CRC) and which bounds the ratio on compressed input.
* ``batch``  — ctrad's batch mode on all studies (DICOM + RTSTRUCT) with
  ``--jobs 1`` and ``--jobs 2``.

Every measurement is one child process, so process start-up (interpreter and
imports for Python) is included. Runs alternate (ctrad, python, ctrad, python,
…) so that drifting machine load hits both tools alike. Wall time comes from
``time.perf_counter`` around the child and peak RSS from ``os.wait4`` (the
child's own ``ru_maxrss``). Both tools run single-threaded: ``RAYON_NUM_THREADS=1``
for ctrad; PyRadiomics is single-threaded (its numpy/BLAS pools are pinned to 1).

Settings: native grid, label 1, fixed bin width 25 HU, 3D; classes shape,
firstorder, glcm, glrlm, glszm, gldm, ngtdm. By default ctrad runs
``pipelines/bench/pyradiomics_compat.yaml`` (``compat: pyradiomics``): the
same 107 features as PyRadiomics, by its definitions. With
``--ibsi`` it runs ``pipelines/bench/pyradiomics_equivalent.yaml``: the
equivalent IBSI families instead (more features, among them the exact Moran's
I and Geary's C).

The PyRadiomics virtualenv is created on first use (``pyradiomics-bhklab==3.1.4``
and, for the DICOM mode, ``rt-utils``) at ``--venv`` (default
``~/.cache/ctrad-bench/venv``, outside the repository); pass an existing venv to
reuse it.

``--set NAME`` (NIfTI mode): both tools run the parameter set
``pipelines/pyradiomics/NAME.yaml`` of the compatibility tests (``ct_example``:
PyRadiomics' CT example with 1 mm B-spline resampling, LoG and wavelet;
``filters_native``: every image type but LBP on the native grid); PyRadiomics
gets the file without ctrad's ``compat:`` line.

Example::

    cargo build --release
    python3 benches/vs_pyradiomics.py --reps 3
    python3 benches/vs_pyradiomics.py --venv /work/venv-pyrad --mode nifti --reps 5
    python3 benches/vs_pyradiomics.py --mode nifti --ibsi
    python3 benches/vs_pyradiomics.py --mode nifti --uncompressed
    python3 benches/vs_pyradiomics.py --mode nifti --set ct_example --reps 3
"""

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYRAD_PIN = "pyradiomics-bhklab==3.1.4"
IBSI_PARAMS = REPO / "pipelines/bench/pyradiomics_equivalent.yaml"
COMPAT_PARAMS = REPO / "pipelines/bench/pyradiomics_compat.yaml"
SINGLE_THREAD = {
    "RAYON_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "1",
}

# The Python DICOM pipeline, run as `python -c` once per study:
# argv = series_dir rtstruct params out_csv
DICOM_PY = r"""
import sys, csv
import numpy as np, SimpleITK as sitk
import warnings
import rt_utils.rtstruct_builder as rb
from rt_utils import RTStructBuilder
rb.warnings = warnings  # rt-utils 1.2.7 uses it without importing it
warnings.simplefilter('ignore')
from radiomics import featureextractor, setVerbosity
setVerbosity(40)
series, rs, params, out = sys.argv[1:5]
reader = sitk.ImageSeriesReader()
reader.SetFileNames(reader.GetGDCMSeriesFileNames(series))
image = reader.Execute()
# The test data's RTSTRUCT references SOP Instance UIDs other than the
# (re-identified) images', and rt-utils assigns contours to slices by UID only:
# warn on the mismatch, then point each contour at the slice at its z.
rt = RTStructBuilder.create_from(dicom_series_path=series, rt_struct_path=rs, warn_only=True)
zs = np.array([float(s.ImagePositionPatient[2]) for s in rt.series_data])
for rc in rt.ds.ROIContourSequence:
    for c in rc.ContourSequence:
        k = int(np.argmin(np.abs(zs - float(c.ContourData[2]))))
        c.ContourImageSequence[0].ReferencedSOPInstanceUID = rt.series_data[k].SOPInstanceUID
name = rt.get_roi_names()[0]
m = rt.get_roi_mask_by_name(name)
# rt-utils 1.2.7 allocates (Columns, Rows, slices) but fills it as [y, x, slice]
# (OpenCV order); take the square part that is filled correctly.
R, C = int(rt.series_data[0].Rows), int(rt.series_data[0].Columns)
h = min(R, C)
a = np.zeros((m.shape[2], R, C), np.uint8)
a[:, :h, :h] = np.transpose(m[:h, :h, :], (2, 0, 1))
m = a
mask = sitk.GetImageFromArray(m)
mask.CopyInformation(image)
fx = featureextractor.RadiomicsFeatureExtractor(params)
res = fx.execute(image, mask, label=1)
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    for k, v in res.items():
        w.writerow([k, v])
"""


def log(*a):
    print(*a, flush=True)


def run(cmd, env=None, cwd=None):
    """Run one child; return (seconds, peak RSS in MiB). Fails loudly."""
    e = dict(os.environ)
    e.update(SINGLE_THREAD)
    if env:
        e.update(env)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=e, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage (ru_maxrss in KiB on Linux).
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}\n{err[-3000:]}")
    return dt, ru.ru_maxrss / 1024.0


def ensure_venv(venv: Path, need_rtutils: bool) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        log(f"creating virtualenv {venv} ({PYRAD_PIN})")
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"])
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", PYRAD_PIN])
    if subprocess.call([str(py), "-c", "import radiomics"], stderr=subprocess.DEVNULL) != 0:
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", PYRAD_PIN])
    if need_rtutils and subprocess.call([str(py), "-c", "import rt_utils"], stderr=subprocess.DEVNULL) != 0:
        log(f"installing rt-utils into {venv}")
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", "rt-utils"])
    return py


def find_data(arg):
    cands = [arg] if arg else []
    if os.environ.get("CTRAD_TESTDATA"):
        cands.append(os.environ["CTRAD_TESTDATA"])
    cands += [REPO / "../shared/testdata", REPO / "../../shared/testdata", "/work/shared/testdata"]
    for c in cands:
        p = Path(c) / "sts_ct"
        if (p / "STS_001").is_dir():
            return p.resolve()
    sys.exit("STS test data not found: pass --data or set CTRAD_TESTDATA")


def fmt_row(name, a, b, ra, rb, label_a="ctrad", label_b="python"):
    return (f"  {name:<9} {label_a} {a * 1000:8.0f} ms  {label_b} {b:7.2f} s   "
            f"ratio {b / a:6.1f}×   RSS {ra:6.1f} / {rb:6.1f} MiB")


def compare(title, studies, reps, ctrad_cmd, py_cmd, label_b):
    """Alternate ctrad and the Python pipeline per study; report medians."""
    log(f"\n== {title}: {reps} alternating repetitions per study ==")
    ratios, all_a, all_b, rss_a, rss_b = [], [], [], [], []
    for s in studies:
        ta, tb, ra, rb = [], [], [], []
        for _ in range(reps):
            dt, rss = run(ctrad_cmd(s))
            ta.append(dt)
            ra.append(rss)
            dt, rss = run(py_cmd(s))
            tb.append(dt)
            rb.append(rss)
        ma, mb = statistics.median(ta), statistics.median(tb)
        ratios.append(mb / ma)
        all_a.append(ma)
        all_b.append(mb)
        rss_a.append(max(ra))
        rss_b.append(max(rb))
        log(fmt_row(s.name, ma, mb, max(ra), max(rb), label_b=label_b))
    log(f"  median per-study time: ctrad {statistics.median(all_a) * 1000:.0f} ms, "
        f"{label_b} {statistics.median(all_b):.2f} s")
    log(f"  median ratio ({label_b} / ctrad): {statistics.median(ratios):.1f}×  "
        f"(min {min(ratios):.1f}×, max {max(ratios):.1f}×)")
    log(f"  peak RSS: ctrad {max(rss_a):.1f} MiB, {label_b} {max(rss_b):.1f} MiB")
    return statistics.median(ratios)


def batch_scaling(ctrad, params, studies, reps, tmp):
    log(f"\n== batch: {len(studies)} studies (DICOM + RTSTRUCT), --jobs 1 vs --jobs 2, {reps} alternating repetitions ==")
    root = tmp / "studies"
    root.mkdir()
    for s in studies:
        os.symlink(s / "dicom", root / s.name)
    res = {1: [], 2: []}
    rss = {1: [], 2: []}
    for r in range(reps):
        for jobs in (1, 2):
            out = tmp / f"batch_j{jobs}_{r}" / "out.parquet"
            dt, m = run([ctrad, "extract", root, "--params", params, "-o", out,
                         "--jobs", str(jobs), "--quiet", "--force"],
                        env={"RAYON_NUM_THREADS": str(jobs)})
            res[jobs].append(dt)
            rss[jobs].append(m)
    t1, t2 = statistics.median(res[1]), statistics.median(res[2])
    log(f"  --jobs 1: {t1 * 1000:.1f} ms   peak RSS {max(rss[1]):.1f} MiB (one worker)")
    log(f"  --jobs 2: {t2 * 1000:.1f} ms   peak RSS {max(rss[2]):.1f} MiB ({max(rss[2]) / 2:.1f} MiB per worker)")
    log(f"  speed-up --jobs 2 / --jobs 1: {t1 / t2:.3f}×  (cores: {os.cpu_count()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["nifti", "dicom", "batch", "all"], default="all")
    ap.add_argument("--venv", type=Path, default=Path.home() / ".cache/ctrad-bench/venv",
                    help="PyRadiomics virtualenv: reused if it exists, else created")
    ap.add_argument("--ctrad", type=Path, default=REPO / "target/release/ctrad", help="ctrad binary")
    ap.add_argument("--data", help="test data root holding sts_ct/ (default: $CTRAD_TESTDATA or ../shared/testdata)")
    ap.add_argument("--studies", default="STS_001,STS_002,STS_003,STS_004,STS_005")
    ap.add_argument("--reps", type=int, default=3, help="alternating repetitions per study")
    ap.add_argument("--ibsi", action="store_true",
                    help="run ctrad's IBSI families instead of 'compat: pyradiomics' (the same features)")
    ap.add_argument("--uncompressed", action="store_true",
                    help="NIfTI mode on uncompressed .nii copies of the studies (both tools)")
    ap.add_argument("--compat", action="store_true", help=argparse.SUPPRESS)  # the default; kept for old command lines
    ap.add_argument("--params", type=Path, default=IBSI_PARAMS,
                    help="ctrad parameter file (default: the PyRadiomics-equivalent settings; "
                         "pipelines/bench/pyradiomics_compat.yaml unless --ibsi)")
    ap.add_argument("--set", help="parameter set of pipelines/pyradiomics/ for both tools (NIfTI mode)")
    args = ap.parse_args()

    if not args.ctrad.exists():
        sys.exit(f"{args.ctrad} not found: run `cargo build --release` first")
    data = find_data(args.data)
    studies = [data / s for s in args.studies.split(",")]
    modes = ["nifti", "dicom", "batch"] if args.mode == "all" else [args.mode]
    tmp = Path(tempfile.mkdtemp(prefix="ctrad-vs-pyrad-"))
    params = args.params
    if not args.ibsi and args.params == IBSI_PARAMS:
        params = COMPAT_PARAMS
    pyparams = REPO / "benches/pyradiomics_params.yaml"
    if args.set:
        params = REPO / "pipelines/pyradiomics" / f"{args.set}.yaml"
        pyparams = tmp / f"{args.set}_pyradiomics.yaml"
        # PyRadiomics validates its schema strictly: drop ctrad's own key.
        pyparams.write_text("".join(l for l in params.read_text().splitlines(True)
                                    if not l.startswith("compat:")))
    py = None
    if "nifti" in modes or "dicom" in modes:
        py = ensure_venv(args.venv, "dicom" in modes)
        ver = subprocess.run([str(py), "-c", "import radiomics; print(radiomics.__version__)"],
                             capture_output=True, text=True).stdout.strip()
        log(f"PyRadiomics {ver} in {args.venv}")
    log(f"ctrad {args.ctrad} with {params.relative_to(REPO) if params.is_relative_to(REPO) else params}; "
        f"data {data}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    ctrad = str(args.ctrad)
    try:
        if "nifti" in modes:
            pyrad_cli = str(args.venv / "bin" / "pyradiomics")
            nifti = {s: (s / "nifti/CT_image.nii.gz", s / "nifti/CT_mask.nii.gz") for s in studies}
            title = "NIfTI input"
            if args.uncompressed:
                title = "NIfTI input, uncompressed .nii copies"
                for s in studies:
                    copies = []
                    for src in nifti[s]:
                        dst = tmp / s.name / src.name.removesuffix(".gz")
                        dst.parent.mkdir(exist_ok=True)
                        # Streamed: a child's peak RSS (wait4) counts what it
                        # shares with this process at fork, so stay small.
                        with gzip.open(src, "rb") as f, open(dst, "wb") as g:
                            shutil.copyfileobj(f, g, 1 << 20)
                        copies.append(dst)
                    nifti[s] = tuple(copies)
            compare(
                title,
                studies,
                args.reps,
                lambda s: [ctrad, "extract", "--image", nifti[s][0],
                           "--mask", nifti[s][1], "--params", params,
                           "-o", tmp / f"{s.name}_ctrad.csv"],
                lambda s: [pyrad_cli, nifti[s][0], nifti[s][1],
                           "--param", pyparams, "-o", tmp / f"{s.name}_pyrad.csv", "-f", "csv"],
                "pyradiomics",
            )
        if "dicom" in modes:
            compare(
                "DICOM series + RTSTRUCT input",
                studies,
                args.reps,
                lambda s: [ctrad, "extract", "--image", s / "dicom/image",
                           "--mask", s / "dicom/mask/RS.dcm", "--params", params,
                           "-o", tmp / f"{s.name}_ctrad_dcm.csv"],
                lambda s: [str(py), "-c", DICOM_PY, s / "dicom/image", s / "dicom/mask/RS.dcm",
                           pyparams, tmp / f"{s.name}_py_dcm.csv"],
                "sitk+rt-utils+pyradiomics",
            )
        if "batch" in modes:
            batch_scaling(ctrad, params, studies, args.reps, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
