"""Start-up: how soon a newcomer sees an image.

Runs the installed `clevrlite render` as a user would (a fresh process each time, on a warm
install) and times, from the command's start: the first finished PNG in images/ (polled every
5 ms), and the whole command, for `--count 1` and for `make demo`'s `--count 8`. Also times
`make demo` itself when a Makefile is at the repository root (after its first setup, so the
install step is a no-op). Prints min and median over --repeat runs.

Usage: python benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clevrlite_command() -> list[str]:
    script = Path(sys.prefix) / "bin" / "clevrlite"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "clevrlite.cli"]


def time_render(count: int, out: Path) -> tuple[float, float]:
    """Seconds to the first PNG in OUT/images and to the command's end."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.Popen([*clevrlite_command(), "render", "--count", str(count), "--quiet",
                             "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    first = None
    while proc.poll() is None:
        if first is None and any((out / "images").glob("*.png")):
            first = time.perf_counter() - start
        time.sleep(0.005)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"clevrlite render failed: {proc.stderr.read().decode().strip()}")
    return (first if first is not None else total), total


def time_make_demo() -> float:
    start = time.perf_counter()
    proc = subprocess.run(["make", "-s", "demo"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"make demo failed: {proc.stderr.strip()}")
    return time.perf_counter() - start


def summary(values: list[float]) -> str:
    return f"min {min(values):5.2f} s  median {statistics.median(values):5.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        time_render(1, Path(tmp) / "warm-up")  # page cache and bytecode, as on a warm install
        for count in (1, 8):
            runs = [time_render(count, Path(tmp) / "run") for _ in range(args.repeat)]
            print(f"render --count {count}: first image {summary([r[0] for r in runs])} | "
                  f"whole command {summary([r[1] for r in runs])}")
    if (REPO / "Makefile").is_file() and shutil.which("make"):
        time_make_demo()
        print(f"make demo (after setup): {summary([time_make_demo() for _ in range(args.repeat)])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
