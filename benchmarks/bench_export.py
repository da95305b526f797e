"""Export time and peak memory: ``clevrlite export`` of a benchmark, in a child process.

Run from the repository root: ``python benchmarks/bench_export.py --benchmark DIR`` (a
benchmark built before, e.g. the default 5,500-instance one), or ``--size N`` to build one
first. Each format runs as ``clevrlite export`` in its own process, whose wall time and peak
RSS are printed. The targets: hf of 5,500 instances with images in under 60 s and 500 MiB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of ``clevrlite`` with ``args`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "clevrlite.cli", *args], check=True,
                   stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, max(peak, before) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=None)
    parser.add_argument("--size", type=int, default=5500)
    parser.add_argument("--split", default="cross_modal")
    parser.add_argument("--formats", default="hf,verl,trl,vlmevalkit,lmms-eval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench = args.benchmark
        if bench is None:
            bench = Path(tmp) / "bench"
            secs, _ = run(["benchmark", "--size", str(args.size), "--out", str(bench), "-q",
                           "--workers", str(os.cpu_count() or 1)])
            print(f"built a {args.size}-instance benchmark in {secs:.0f} s")
        for fmt in args.formats.split(","):
            dest = Path(tmp) / f"out-{fmt}"
            secs, peak = run(["export", str(bench), "--to", fmt, "--split", args.split,
                              "--out", str(dest)])
            size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) / 2**20
            print(f"export --to {fmt:10} --split {args.split}: {secs:6.1f} s, peak RSS "
                  f"{peak:6.0f} MiB (max over the runs so far), {size:7.0f} MiB written")


if __name__ == "__main__":
    main()
