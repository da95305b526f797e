"""Time clevrlite.solver.minimal_linking_sets on random scenes and check the targets.

Run from the repository root: ``python benchmarks/bench_solver.py``. Scenes have small value
alphabets (so objects collide and linking sets have several members) plus a float and a
coordinate attribute compared at precision 2.
"""

from __future__ import annotations

import sys
import time
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clevrlite.solver import (  # noqa: E402
    constrain_linking,
    minimal_linking_sets,
    unique_values,
)

SEED = 117
SCENES = 200
CASES = [  # (objects, attributes, target in microseconds per call)
    (10, 6, 50.0),
    (100, 12, 5000.0),
]


def random_scene(rng: np.random.Generator, count: int, attributes: int, kind: str) -> list[dict]:
    """Random objects. ``categorical``: string values only, as the builder's linking attributes
    are. ``mixed``: the first attribute is a float and the second a coordinate list, compared
    at precision 2 (the slow path of value_key)."""
    objects = []
    for _ in range(count):
        obj = {}
        for a in range(attributes):
            if kind == "mixed" and a == 0:
                obj[f"attr{a}"] = round(float(rng.choice([0.35, 0.7]) + rng.normal(0, 1e-3)), 4)
            elif kind == "mixed" and a == 1:
                obj[f"attr{a}"] = [round(float(x), 3) for x in rng.integers(-1, 2, 2)]
            else:
                obj[f"attr{a}"] = f"v{int(rng.integers(2 + a % 4))}"
        objects.append(obj)
    return objects


def per_call_us(func, scenes: list, repeat: int = 5) -> float:
    """Best-of-``repeat`` mean CPU time of ``func(scene)`` over ``scenes``, in microseconds.

    CPU time rather than wall time, so other work on a shared machine inflates it less."""
    def run() -> None:
        for scene in scenes:
            func(scene)
    number = 1
    while timeit.timeit(run, number=number, timer=time.process_time) < 0.2:
        number *= 2
    best = min(timeit.repeat(run, number=number, repeat=repeat, timer=time.process_time))
    return best / (number * len(scenes)) * 1e6


CLEVR_CHOICES = {"shape": ["cube", "sphere", "cylinder"], "material": ["rubber", "metal"],
                 "size": ["large", "small"]}


def construct(rng: np.random.Generator) -> None:
    """One builder-like call: a random 10-object scene, target and difficulty."""
    objects = [{name: values[int(rng.integers(len(values)))]
                for name, values in CLEVR_CHOICES.items()} for _ in range(10)]
    size = [None, 1, 2, 3][int(rng.integers(4))]
    constrain_linking(objects, int(rng.integers(10)), list(CLEVR_CHOICES), size, CLEVR_CHOICES,
                      rng)


def main() -> int:
    rng = np.random.default_rng(SEED)
    print(f"microseconds per call (CPU time, best of 5), {SCENES} random scenes each, "
          f"seed {SEED}")
    all_met = True
    for kind in ("categorical", "mixed"):
        for count, attributes, target_us in CASES:
            names = [f"attr{a}" for a in range(attributes)]
            scenes = [(random_scene(rng, count, attributes, kind), int(rng.integers(count)))
                      for _ in range(SCENES)]
            linking = per_call_us(
                lambda s: minimal_linking_sets(s[0], s[1], names, precision=2), scenes)
            unique = per_call_us(lambda s: unique_values(s[0], names[1], precision=2), scenes)
            found = sum(bool(minimal_linking_sets(o, t, names, precision=2)) for o, t in scenes)
            met = linking <= target_us
            all_met &= met
            print(f"{kind:>11} {count:>3} objects x {attributes:>2} attributes: "
                  f"minimal_linking_sets {linking:8.1f} us "
                  f"(target <= {target_us:g}: {'met' if met else 'MISSED'}), "
                  f"unique_values {unique:6.1f} us, target linkable in {found}/{SCENES}")
    construction_ms = per_call_us(construct, [np.random.default_rng(seed) for seed in range(50)],
                                  repeat=3) / 1000
    print(f"constrain_linking, 10-object CLEVR scenes, random size in None/1/2/3: "
          f"{construction_ms:.2f} ms/call (no target)")
    print("all targets met" if all_met else "some targets missed")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
