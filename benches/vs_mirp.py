#!/usr/bin/env python3
"""IBSI 2 phase 2, configuration B: ctrad against MIRP, the IBSI-2-compliant
reference implementation, filter by filter on the CT phantom.

Each filter of the phase-2 set (2 mean, 3 LoG, 4 Laws energy, 5 Gabor, 6 and 7
Daubechies 3, 8 and 9 Simoncelli) runs in one child process per tool:
resampling to 1 mm isotropic (cubic spline), re-segmentation [-1000, 400] HU,
the filter, and the 18 intensity statistics of the response map. ctrad runs
``ctrad extract --image --mask --params pipelines/ibsi2/phase2/<id>_B.yaml``;
MIRP runs ``mirp.extract_features`` with the same settings. Process start-up
(interpreter and imports for Python) is included; runs alternate (ctrad, MIRP,
ctrad, …); both run single-threaded (``RAYON_NUM_THREADS=1``; MIRP with
``num_cpus=1`` and its numeric libraries pinned to one thread). Wall time from
``time.perf_counter``, peak RSS from ``os.wait4``.

MIRP is installed on first use (PyPI ``mirp``) in a venv at ``--venv``
(default ``~/.cache/ctrad-bench/venv-mirp``, outside the repository).

    cargo build --release
    python3 benches/vs_mirp.py --reps 3
    python3 benches/vs_mirp.py --filters 3,5 --reps 1
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SINGLE_THREAD = {
    "RAYON_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "1",
}

# MIRP's settings per phase-2 filter (configuration B), as its own IBSI 2 tests set them.
MIRP_FILTERS = {
    2: dict(filter_kernels="mean", mean_filter_kernel_size=5),
    3: dict(filter_kernels="laplacian_of_gaussian", laplacian_of_gaussian_sigma=1.5,
            laplacian_of_gaussian_kernel_truncate=4.0),
    4: dict(filter_kernels="laws", laws_kernel="L5E5E5", laws_delta=7, laws_compute_energy=True,
            laws_rotation_invariance=True, laws_pooling_method="max"),
    5: dict(filter_kernels="gabor", gabor_sigma=5.0, gabor_lambda=2.0, gabor_gamma=1.5,
            gabor_theta=0.0, gabor_theta_step=22.5, gabor_response="modulus",
            gabor_rotation_invariance=True, gabor_pooling_method="mean"),
    6: dict(filter_kernels="separable_wavelet", separable_wavelet_families="db3",
            separable_wavelet_set="LLH", separable_wavelet_decomposition_level=1,
            separable_wavelet_rotation_invariance=True, separable_wavelet_pooling_method="mean"),
    7: dict(filter_kernels="separable_wavelet", separable_wavelet_families="db3",
            separable_wavelet_set="HHH", separable_wavelet_decomposition_level=2,
            separable_wavelet_rotation_invariance=True, separable_wavelet_pooling_method="mean"),
    8: dict(filter_kernels="nonseparable_wavelet", nonseparable_wavelet_families="simoncelli",
            nonseparable_wavelet_decomposition_level=1),
    9: dict(filter_kernels="nonseparable_wavelet", nonseparable_wavelet_families="simoncelli",
            nonseparable_wavelet_decomposition_level=2),
}

MIRP_PY = r"""
import sys, json, warnings
warnings.simplefilter('ignore')
from mirp import extract_features
image, mask, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out = extract_features(
    image=image, mask=mask, image_modality="CT", num_cpus=1,
    by_slice=False, new_spacing=1.0, spline_order=3, anti_aliasing=False,
    resegmentation_intensity_range=[-1000.0, 400.0],
    base_feature_families="none", response_map_feature_families="statistics",
    boundary_condition="mirror", **settings)
df = out[0]
cols = [c for c in df.columns if "stat_mean" in c]
print(cols[0] if cols else "", float(df[cols[0]].iloc[0]) if cols else "nan")
"""


def log(*a):
    print(*a, flush=True)


def run(cmd, env=None):
    e = dict(os.environ)
    e.update(SINGLE_THREAD)
    e.update(env or {})
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage (ru_maxrss in KiB on Linux).
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    out, err = p.stdout.read().decode(), p.stderr.read().decode()
    if status != 0:
        sys.exit(f"{cmd[0]} failed: {err[-2000:]}")
    return dt, ru.ru_maxrss / 1024.0, out


def ensure_venv(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        log(f"creating {venv} with mirp (once)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "mirp"], check=True)
    return py


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--filters", default="2,3,4,5,6,7,8,9")
    ap.add_argument("--venv", type=Path, default=Path.home() / ".cache/ctrad-bench/venv-mirp")
    ap.add_argument("--testdata", type=Path,
                    default=Path(os.environ.get("CTRAD_TESTDATA", REPO.parent / "shared/testdata")))
    ap.add_argument("--ctrad", type=Path, default=REPO / "target/release/ctrad")
    a = ap.parse_args()
    if not a.ctrad.exists():
        sys.exit(f"{a.ctrad} missing: run `cargo build --release` first")
    image = a.testdata / "ibsi1/ct_phantom/nifti/phantom.nii.gz"
    mask = a.testdata / "ibsi1/ct_phantom/nifti/mask.nii.gz"
    py = ensure_venv(a.venv)
    ids = [int(x) for x in a.filters.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="ctrad-vs-mirp-"))
    import json
    log(f"IBSI 2 phase 2 config B, CT phantom; {a.reps} alternating repetitions; single thread; "
        f"process start included; median wall time")
    log(f"{'filter':<10} {'ctrad':>10} {'MIRP':>10} {'ratio':>8}   {'RSS ctrad':>10} {'RSS MIRP':>10}")
    ratios = []
    for fid in ids:
        params = REPO / f"pipelines/ibsi2/phase2/{fid}_B.yaml"
        tc, tm, rc, rm = [], [], [], []
        for r in range(a.reps):
            dt, rss, _ = run([str(a.ctrad), "extract", "--image", str(image), "--mask", str(mask),
                              "--params", str(params), "-o", str(tmp / f"c{fid}_{r}.csv")])
            tc.append(dt)
            rc.append(rss)
            dt, rss, out = run([str(py), "-c", MIRP_PY, str(image), str(mask),
                                json.dumps(MIRP_FILTERS[fid])])
            tm.append(dt)
            rm.append(rss)
        c, m = statistics.median(tc), statistics.median(tm)
        ratios.append(m / c)
        log(f"{fid}.B{'':<7} {c:>9.3f}s {m:>9.2f}s {m / c:>7.1f}×   {max(rc):>7.1f} MiB {max(rm):>7.1f} MiB")
    log(f"median ratio over filters: {statistics.median(ratios):.1f}×  (min {min(ratios):.1f}×)")


if __name__ == "__main__":
    main()
