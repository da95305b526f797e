"""The benchmark suites on the shared planner and builder: mate, grounding and gmner.

A suite says which splits and tasks it plans, how many objects a scene samples, how an
instance's scene is constructed and its line recorded, how its example scenes are made, and
which guarantees are checked again on the written files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from clevrlite.bench import gmner, grounding, mate
from clevrlite.bench.construct import construct as construct_mate
from clevrlite.bench.construct import construct_example
from clevrlite.bench.options import BenchmarkOptions
from clevrlite.bench.plan import InstanceSpec
from clevrlite.bench.presets import get_preset
from clevrlite.bench.roles import CROSS_MODAL_TASKS, UNIMODAL_TASKS, Roles, bench_view
from clevrlite.bench.shots import ExampleScene
from clevrlite.bench.validity import check_gmner, check_grounding
from clevrlite.errors import UsageError
from clevrlite.scene import SceneObject
from clevrlite.vocab import Vocabulary


@dataclass(frozen=True)
class Split:
    """A split of a suite: its name, file, id prefix and tasks."""

    name: str
    filename: str
    prefix: str
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class Suite:
    """What the builder needs to know of a suite (see the module docstring)."""

    name: str
    splits: tuple[Split, ...]
    roles: Callable[[Vocabulary], Roles]
    conditions: Callable[[str], list[str]] | None
    extra_objects: Callable[[InstanceSpec, int], int]  # objects beyond those drawn
    construct: Callable[..., Any]  # (spec, objects, rng, worker, options) -> chosen
    record: Callable[..., dict[str, Any]]
    example: Callable[..., Any]  # (objects, rng, worker, options) -> part to keep, or None
    example_scene: Callable[[str, dict[str, Any], Any], ExampleScene]
    check: Callable[[Path, Iterable[dict[str, Any]]], list[str]] | None = None


def _construct_mate(spec: InstanceSpec, objects: list[SceneObject], rng: np.random.Generator,
                    worker: Any, options: BenchmarkOptions) -> int:
    rule = getattr(get_preset(options.preset), "rule", None)
    return construct_mate(spec, objects, rng, worker.vocab, worker.roles,
                          options.solver_precision, options.examples_needed, rule)


def _record_mate(options, spec, data, target, vocab, has_image, examples):
    return mate.instance_record(options, spec, data, target, vocab, has_image, examples)


def _example_mate(objects, rng, worker, options) -> None:
    construct_example(objects, rng, worker.vocab, worker.roles, options.solver_precision)


def _example_scene_mate(stem: str, data: dict[str, Any], part: Any) -> ExampleScene:
    return ExampleScene(stem, [bench_view(o) for o in data["objects"]])


def _example_scene_grounding(stem: str, data: dict[str, Any], part: Any) -> ExampleScene:
    views, drawn = grounding.views_of(data)
    return ExampleScene(stem, views, tuple(drawn))


def _construct_grounding(spec, objects, rng, worker, options):
    return grounding.construct(spec, objects, rng, worker.vocab, options.solver_precision)


def _example_grounding(objects, rng, worker, options) -> None:
    grounding.construct_example(objects, rng, worker.vocab, worker.roles,
                                options.solver_precision)


def _construct_gmner(spec, objects, rng, worker, options):
    return gmner.construct(objects, gmner.absent_count(spec, options.seed), rng, worker.vocab,
                           options.solver_precision)


def _example_gmner(objects, rng, worker, options):
    return gmner.construct(objects, EXAMPLE_EXTRA["gmner"], rng, worker.vocab,
                           options.solver_precision)


def _example_scene_gmner(stem: str, data: dict[str, Any], part: Any) -> ExampleScene:
    return ExampleScene(stem, [], extra=gmner.example_item(stem, data, part))


MATE_SPLITS = (Split("cross_modal", "cross_modal.jsonl", "cm", CROSS_MODAL_TASKS),
               Split("unimodal", "unimodal.jsonl", "um", UNIMODAL_TASKS))

SUITES = {
    "mate": Suite("mate", MATE_SPLITS, Roles.for_vocab, None, lambda spec, seed: 0,
                  _construct_mate, _record_mate, _example_mate, _example_scene_mate),
    "grounding": Suite(
        "grounding",
        (Split("cross_modal", "cross_modal.jsonl", "gc", CROSS_MODAL_TASKS),
         Split("unimodal", "unimodal.jsonl", "gu", UNIMODAL_TASKS)),
        grounding.roles, grounding.conditions, lambda spec, seed: 1, _construct_grounding,
        grounding.record, _example_grounding, _example_scene_grounding, check_grounding),
    "gmner": Suite(
        "gmner", (Split("gmner", "gmner.jsonl", "gm", (gmner.TASK,)),),
        Roles.for_vocab, None, lambda spec, seed: gmner.absent_count(spec, seed),
        _construct_gmner, gmner.record, _example_gmner, _example_scene_gmner, check_gmner),
}
# Example scenes of a suite hold this many objects beyond the drawn ones.
EXAMPLE_EXTRA = {"mate": 0, "grounding": 1, "gmner": 1}


def get_suite(name: str) -> Suite:
    """The suite called ``name``; a usage error names the choices."""
    if name not in SUITES:
        raise UsageError(f"unknown suite {name!r}; use one of {', '.join(SUITES)}")
    return SUITES[name]


def suite_of_id(instance_id: str) -> str | None:
    """The suite an instance id belongs to, by its prefix (None when unknown)."""
    prefix = str(instance_id).split("_", 1)[0]
    return next((s.name for s in SUITES.values() for split in s.splits
                 if split.prefix == prefix), None)
