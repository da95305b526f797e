"""Ray against local workers: the same render run, scenes per second, and Ray's start-up time.

Run from the repository root: ``python benchmarks/bench_ray.py [--scenes 2000]``. Each run
is ``clevrlite render`` in its own process with the same options and seed (one worker per
core), timed from the command's start to its end, so both include their start-up; the two
outputs are compared byte for byte. The target: Ray's overhead under 10% at 2,000 scenes.
Ray's start-up is timed apart: ``ray.init`` on this machine, and a first actor's answer.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def render(out: Path, scenes: int, workers: int, executor: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "clevrlite.cli", "render", "--count", str(scenes),
                    "--workers", str(workers), "--executor", executor, "--out", str(out),
                    "--quiet"], check=True)
    return time.perf_counter() - start


def same(a: Path, b: Path) -> bool:
    compare = filecmp.dircmp(a, b)
    stack = [compare]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.diff_files or c.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return False
        stack.extend(c.subdirs.values())
    return True


def startup() -> tuple[float, float]:
    """Seconds for ray.init, then for a first actor to answer."""
    code = ("import time, ray; t = time.perf_counter(); "
            "ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False); "
            "a = time.perf_counter() - t; "
            "A = ray.remote(num_cpus=1)(type('A', (), {'ping': lambda self: 1})); "
            "ray.get(A.remote().ping.remote()); print(a, time.perf_counter() - t - a)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    init, actor = startup()
    print(f"Ray start-up: ray.init {init:.1f} s, first actor's answer {actor:.1f} s more")
    with tempfile.TemporaryDirectory() as tmp:
        local = render(Path(tmp) / "local", args.scenes, args.workers, "local")
        distributed = render(Path(tmp) / "ray", args.scenes, args.workers, "ray")
        identical = same(Path(tmp) / "local", Path(tmp) / "ray")
    rate_local, rate_ray = args.scenes / local, args.scenes / distributed
    print(f"{args.scenes} scenes, {args.workers} workers: local {local:.1f} s "
          f"({rate_local:.1f} scenes/s), ray {distributed:.1f} s ({rate_ray:.1f} scenes/s); "
          f"Ray's overhead {100.0 * (distributed - local) / local:+.1f}%; "
          f"outputs {'byte-identical' if identical else 'DIFFER'}")


if __name__ == "__main__":
    main()
