"""Reward throughput: clevrlite.scoring.rewards calls per second on one core.

Run from the repository root: ``python benchmarks/bench_rewards.py [--size 200]``. It builds a
small benchmark of 10-object scenes per suite (gmner, grounding, mate) in a temporary folder,
writes the oracle, lookalike, random and text-only baselines' predictions, and times each
suite's reward over every (completion, instance) pair, pinned to one CPU. The figure is the
best of several repeats (the hosts we measure on are shared and noisy); the target is 20,000
calls/s on gmner.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clevrlite.bench.build import BenchmarkOptions, build_benchmark  # noqa: E402
from clevrlite.scoring import rewards  # noqa: E402
from clevrlite.scoring.baselines import baseline_predictions  # noqa: E402
from clevrlite.bench.reader import load_instances  # noqa: E402

TARGET = 20000.0
KINDS = {"gmner": ("oracle", "lookalike", "random", "text-only"),
         "grounding": ("oracle", "lookalike", "random", "text-only"),
         "mate": ("oracle", "random", "text-only")}


def pairs_of(root: Path, kind: str) -> list[tuple[str, dict]]:
    instances = {i["id"]: i for split in load_instances(root).values() for i in split}
    return [(r["prediction"], instances[r["id"]]) for r in baseline_predictions(kind, root)]


def rate(function, pairs: list[tuple[str, dict]], repeat: int) -> tuple[float, float]:
    """(best, median) calls per second over ``repeat`` timed passes."""
    def run() -> None:
        for completion, instance in pairs:
            function(completion, instance)
    number = max(1, 2000 // len(pairs))
    times = timeit.repeat(run, number=number, repeat=repeat)
    calls = number * len(pairs)
    return calls / min(times), calls / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="instances per suite")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        built = {}
        for suite in KINDS:
            root = Path(tmp) / suite
            build_benchmark(BenchmarkOptions(out=root, suite=suite, size=args.size,
                                             unimodal_size=0 if suite != "gmner" else None,
                                             n_objects=(10, 10), workers=args.workers))
            built[suite] = root
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        function = {"gmner": rewards.gmner_reward, "grounding": rewards.grounding_reward,
                    "mate": rewards.mate_reward}
        print(f"reward calls per second, one core, 10-object scenes ({args.size} instances, "
              f"best and median of {args.repeat} passes)")
        for suite, kinds in KINDS.items():
            for kind in kinds:
                pairs = pairs_of(built[suite], kind)
                entities = (statistics.mean(len(i["entities"]) for _, i in pairs)
                            if suite == "gmner" else 1)
                best, median = rate(function[suite], pairs, args.repeat)
                flag = "" if suite != "gmner" else ("  ok" if best >= TARGET else "  BELOW TARGET")
                print(f"  {suite:9} {kind:10} {best:9.0f} best {median:9.0f} median "
                      f"({entities:.1f} entities){flag}")
        sample = pairs_of(built["gmner"], "lookalike")[0]
        print("sample reward parts:", json.dumps(rewards.gmner_reward(*sample).parts))


if __name__ == "__main__":
    main()
