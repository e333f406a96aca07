#!/usr/bin/env python3
"""Real-size studies: does the cost follow the ROI, not the scan? (issue 23)

The synthetic full-size study (``cargo run --release --example make_fullsize``:
three phases of 512×512×300 voxels, tumour and pancreas ROIs in an RTSTRUCT)
is written three ways under ``--data`` (default ``target/fullsize``):
``native/`` (uncompressed DICOM, 454 MB), ``jpeg2000/`` (JPEG 2000 lossless)
and ``cropped/`` (the same study cropped to the ROIs plus 20 voxels, as
research data sets hold it). Every measurement is one child process
(``ctrad extract STUDIES --jobs 1``, a fresh output folder each time), runs
alternate so machine load hits all alike, and the script reports medians:

* ``read``: reading every byte of the native study's files once (warm cache);
* ``cropped`` and ``native`` with ``pipelines/studies/pannet_ct.yaml``;
* ``jpeg2000`` with ``pannet_ct.yaml`` (every slice decoded, for the
  whole-image diagnostics) and with ``pipelines/bench/pannet_ct_roi_slices.yaml``
  (``wholeImageDiagnostics: false``: only the slices around the ROIs);
* with ``--base BIN``, the same runs of another ctrad binary (e.g. an older
  build) for a before/after ratio.

Targets (issue 23): native ≤ 1.5 × (cropped + read); peak RSS ≤ 256 MiB;
JPEG 2000 with ROI slices ≥ 4× faster than decoding every slice.

Example::

    cargo build --release --bin ctrad --example make_fullsize
    python3 benches/full_size.py --reps 5
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
PANNET = REPO / "pipelines/studies/pannet_ct.yaml"
ROI_SLICES = REPO / "pipelines/bench/pannet_ct_roi_slices.yaml"


def run_child(cmd, env=None):
    """Wall seconds and peak RSS (MiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(map(str, cmd))}\n{err}")
    return wall, usage.ru_maxrss / 1024.0


def read_all(folder):
    """Seconds to read every byte of every file under `folder` once."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    buf = bytearray(1 << 20)
    t0 = time.perf_counter()
    total = 0
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                total += n
    return time.perf_counter() - t0, total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO / "target/fullsize")
    ap.add_argument("--bin", type=Path, default=REPO / "target/release/ctrad")
    ap.add_argument("--base", type=Path, help="another ctrad binary to run side by side")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--single-thread", action="store_true", help="RAYON_NUM_THREADS=1 as well")
    args = ap.parse_args()

    if not (args.data / "jpeg2000").exists() or not (args.data / "cropped").exists():
        subprocess.run(["cargo", "run", "--release", "--example", "make_fullsize", "--", str(args.data)],
                       cwd=REPO, check=True)
    env = dict(os.environ)
    if args.single_thread:
        env["RAYON_NUM_THREADS"] = "1"

    bins = [("new", args.bin)] + ([("base", args.base)] if args.base else [])
    cases = []
    for label, binary in bins:
        cases += [
            (f"{label} cropped", binary, "cropped", PANNET),
            (f"{label} native", binary, "native", PANNET),
            (f"{label} jpeg2000 all slices", binary, "jpeg2000", PANNET),
        ]
        if label == "new":
            cases.append((f"{label} jpeg2000 ROI slices", binary, "jpeg2000", ROI_SLICES))
    times = {c[0]: [] for c in cases}
    rss = {c[0]: [] for c in cases}
    reads = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            t, nbytes = read_all(args.data / "native")
            reads.append(t)
            for name, binary, layout, params in cases:
                out = Path(tmp) / f"{rep}-{name.replace(' ', '_')}" / "features.csv"
                cmd = [str(binary), "extract", str(args.data / layout), "--params", str(params),
                       "-o", str(out), "--jobs", "1", "-q"]
                w, m = run_child(cmd, env)
                times[name].append(w)
                rss[name].append(m)
            print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr)

    med = {k: statistics.median(v) for k, v in times.items()}
    read = statistics.median(reads)
    print(f"read all native files once: {read:.3f} s ({nbytes / 1e6:.0f} MB)")
    print(f"{'run':32} {'median s':>9} {'min s':>7} {'max RSS MiB':>12}")
    for name in times:
        print(f"{name:32} {med[name]:9.3f} {min(times[name]):7.3f} {max(rss[name]):12.1f}")
    budget = 1.5 * (med["new cropped"] + read)
    print(f"\nnative / (cropped + read) = {med['new native'] / (med['new cropped'] + read):.2f} "
          f"(target ≤ 1.5: native {med['new native']:.3f} s, budget {budget:.3f} s)")
    print(f"native peak RSS {max(rss['new native']):.0f} MiB (target ≤ 256)")
    j = med["new jpeg2000 all slices"] / med["new jpeg2000 ROI slices"]
    print(f"jpeg2000: all slices / ROI slices = {j:.1f}× (target ≥ 4)")
    if args.base:
        for what in ("cropped", "native", "jpeg2000 all slices"):
            print(f"base / new, {what}: {med['base ' + what] / med['new ' + what]:.1f}× time, "
                  f"{max(rss['base ' + what]) / max(rss['new ' + what]):.1f}× RSS")


if __name__ == "__main__":
    main()
