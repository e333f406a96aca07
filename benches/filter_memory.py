#!/usr/bin/env python3
"""Time and peak memory of every IBSI 2 filter on an abdominal-size CT volume.

Makes a 512 x 512 x 300 CT-like volume (0.78 x 0.78 x 1.5 mm, an elliptic
body of soft tissue with smooth texture in air, stored as int16 NIfTI), then
runs ``ctrad filter`` once per filter of the phase-2 set (the entries of
``pipelines/ibsi2/phase2/<id>_B.yaml``, 3D, and ``<id>_A.yaml``, 2D) on the
whole volume — no ROI crop, the worst case — in its own child process, and
prints wall time and peak RSS (``os.wait4``). The target is a peak RSS of at
most 1 GiB for any single filter.

Needs numpy to make the volume (the CI venv has it):

    cargo build --release
    target/ci-venv/bin/python benches/filter_memory.py            # every filter, 2D and 3D
    target/ci-venv/bin/python benches/filter_memory.py --filters 5 --dims 3D --threads 2
"""

import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIMS = (512, 512, 300)
SPACING = (0.78125, 0.78125, 1.5)


def write_volume(path: Path):
    """A CT-like int16 volume: air, an elliptic body with a smooth texture."""
    import numpy as np
    nx, ny, nz = DIMS
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, 4, 16)  # int16
    struct.pack_into("<8f", hdr, 76, 1.0, *SPACING, 1, 1, 1, 1)
    struct.pack_into("<f", hdr, 108, 352.0)  # vox_offset
    struct.pack_into("<ff", hdr, 112, 1.0, 0.0)  # scl_slope, scl_inter
    struct.pack_into("<b", hdr, 123, 2)  # xyzt_units: mm
    struct.pack_into("<hh", hdr, 252, 0, 1)  # qform 0, sform 1
    struct.pack_into("<4f", hdr, 280, SPACING[0], 0, 0, 0)
    struct.pack_into("<4f", hdr, 296, 0, SPACING[1], 0, 0)
    struct.pack_into("<4f", hdr, 312, 0, 0, SPACING[2], 0)
    hdr[344:348] = b"n+1\0"
    x = np.arange(nx)[None, :]
    y = np.arange(ny)[:, None]
    body = ((x - nx / 2) / 230.0) ** 2 + ((y - ny / 2) / 170.0) ** 2 <= 1
    with open(path, "wb") as f:
        f.write(hdr + b"\0\0\0\0")
        for z in range(nz):
            tex = 40 + 30 * np.sin(x / 9.0) * np.cos(y / 13.0 + z / 7.0)
            f.write(np.where(body, tex, -1000).astype("<i2").tobytes())


def filter_entries(fid: int, config: str) -> str:
    text = (REPO / f"pipelines/ibsi2/phase2/{fid}_{config}.yaml").read_text()
    m = re.search(r"^filters:\n((?:  .*\n?)+)", text, re.M)
    return "filters:\n" + m.group(1) if m else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filters", default="2,3,4,5,6,7,8,9")
    ap.add_argument("--dims", default="2D,3D")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctrad", type=Path, default=REPO / "target/release/ctrad")
    a = ap.parse_args()
    if not a.ctrad.exists():
        sys.exit(f"{a.ctrad} missing: run `cargo build --release` first")
    tmp = Path(tempfile.mkdtemp(prefix="ctrad-filter-memory-"))
    image = tmp / "abdomen.nii"
    t = time.perf_counter()
    write_volume(image)
    print(f"volume {DIMS} int16 written in {time.perf_counter() - t:.0f} s", flush=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    print(f"{'filter':<8} {'dims':<5} {'time':>9} {'peak RSS':>10}  name", flush=True)
    worst = 0.0
    for fid in [int(x) for x in a.filters.split(",")]:
        for dims in a.dims.split(","):
            entries = filter_entries(fid, "A" if dims == "2D" else "B")
            params = tmp / f"f{fid}_{dims}.yaml"
            params.write_text(entries)
            out = tmp / "map.nii"
            t = time.perf_counter()
            p = subprocess.Popen([str(a.ctrad), "filter", "--image", str(image), "--params", str(params),
                                  "-o", str(out)], env=env, stderr=subprocess.PIPE)
            _, status, ru = os.wait4(p.pid, 0)
            dt = time.perf_counter() - t
            err = p.stderr.read().decode().strip()
            if status != 0:
                sys.exit(f"filter {fid} {dims} failed: {err}")
            rss = ru.ru_maxrss / 1024.0
            worst = max(worst, rss)
            print(f"{fid:<8} {dims:<5} {dt:>8.1f}s {rss:>7.0f} MiB  {err.split(':')[0]}", flush=True)
            out.unlink(missing_ok=True)
    print(f"largest peak RSS: {worst:.0f} MiB (target ≤ 1024 MiB)")
    image.unlink()


if __name__ == "__main__":
    main()
