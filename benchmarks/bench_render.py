"""Render throughput: scenes/s, per-stage milliseconds and peak RSS, for `make bench`.

Runs `render_dataset` (the same code as `clevrlite render`, every annotation and all four text
formats) for 3, 10 and 30 objects with 1 and 2 workers, and prints one row per setting.
Options: --scenes N per setting, --leak N (RSS of one worker over N scenes), --benchmark N
(time `clevrlite benchmark --size N`).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clevrlite.pipeline import SceneMaker  # noqa: E402
from clevrlite.runs.dataset import RenderOptions, render_dataset, write_scene  # noqa: E402
from clevrlite.placement import PlacementOptions  # noqa: E402
from clevrlite.vocab import load_vocabulary  # noqa: E402

BLENDER_SECONDS_PER_IMAGE = 112.0  # CLEVR's generator, 480x320, 512 samples, on this 2-core machine (issue 18)


def peak_rss_mib(children: bool) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def throughput(spec: str, workers: int, scenes: int) -> None:
    """One row for object count ``spec`` (N or A..B): scenes/s, stage ms, peak RSS."""
    low, _, high = spec.partition("..")
    counts = (int(low), int(high or low))
    with tempfile.TemporaryDirectory() as tmp:
        options = RenderOptions(out=Path(tmp), count=scenes, workers=workers, seed=1,
                                placement=PlacementOptions(n_objects=counts))
        start = time.perf_counter()
        summary = render_dataset(options)
        secs = time.perf_counter() - start
    rate = scenes / secs
    stages = "  ".join(f"{k} {1000 * v / scenes:5.1f}"
                       for k, v in sorted(summary.stage_seconds.items()))
    size = f"{options.placement.width}x{options.placement.height}"
    print(f"{spec:>5} objects {size}  {workers} worker(s)  {rate:6.1f} scenes/s  "
          f"{rate * BLENDER_SECONDS_PER_IMAGE:6.0f}x Blender  | ms/scene per worker: {stages}  "
          f"| peak RSS {peak_rss_mib(workers > 1):.0f} MiB", flush=True)


def leak(scenes: int) -> None:
    """RSS of one in-process worker every scenes/10 scenes: flat means no leak."""
    os.environ.setdefault("LP_NUM_THREADS", "0")
    maker = SceneMaker(load_vocabulary(), PlacementOptions())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for sub in ("images", "masks", "scenes", "text"):
            (out / sub).mkdir()
        marks = []
        for index in range(scenes):
            scene, result = maker.make(index, 0)
            write_scene(out, scene, result, ("json", "yaml", "xml", "text"))
            for path in out.rglob("*.*"):
                path.unlink()
            if (index + 1) % max(1, scenes // 10) == 0:
                marks.append(f"{index + 1}:{peak_rss_mib(False):.0f}")
    maker.close()
    print("peak RSS (MiB) after N scenes: " + "  ".join(marks))


def benchmark(size: int, workers: int, suite: str) -> None:
    from clevrlite.bench.build import BenchmarkOptions, build_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        stats = build_benchmark(BenchmarkOptions(out=Path(tmp), size=size, workers=workers,
                                                 suite=suite))
        secs = time.perf_counter() - start
    counts = ", ".join(f"{n} {split}" for split, n in stats["counts"].items())
    print(f"benchmark --suite {suite} --size {size} ({counts}), {workers} workers: "
          f"{secs:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--objects", default="3..10,3,10,30",
                        help="comma-separated object counts, N or A..B")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--leak", type=int, default=0)
    parser.add_argument("--benchmark", type=int, default=0,
                        help="also time a benchmark build of this --size")
    parser.add_argument("--suites", default="mate", help="suites to build, comma-separated")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    for spec in args.objects.split(","):
        for workers in map(int, args.workers.split(",")):
            throughput(spec, workers, args.scenes)
    if args.leak:
        leak(args.leak)
    if args.benchmark:
        for suite in args.suites.split(","):
            benchmark(args.benchmark, os.cpu_count() or 1, suite)


if __name__ == "__main__":
    main()
