"""The grounding suite (DESIGN 8): MATE's tasks with the object's box as an image-side attribute.

- data2img may ask for ``bbox``: the pointed object's box [x1, y1, x2, y2] in pixels of the
  image (x2, y2 exclusive), scored at IoU >= 0.5; img2data and img2img may point with it
  ("the object inside [x1, y1, x2, y2]").
- Every scene's text lists one absent object that its image does not show
  (clevrlite.bench.lookalike). In data2img, a quarter of the questions point at it (answer
  null, condition ``absent``: no image object resembles it) and a quarter at it with a
  look-alike in the image (condition ``absent_lookalike``); the rest point at image objects
  (``grounded``), and there the absent object is a distractor that matches no image object.

Pointers are unique where they are read: image-side ones among the image's objects, text-side
ones among all the text's. Linking sets tell the target apart from the objects of the modality
it is looked up in: the image's for data2img and img2img, the text's otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from clevrlite.bench.construct import (MAX_ATTEMPTS, attribute_dicts, by_retry, choices_of,
                                       make_numbers_distinct, write_back)
from clevrlite.bench.construct import construct_example as mate_example
from clevrlite.bench.lookalike import VISIBLE, identifies_none, lookalikes, make_absent
from clevrlite.bench.mate import MateSuite
from clevrlite.bench.plan import COORDS_ONLY, InstanceSpec
from clevrlite.bench.prompts import CONVENTIONS
from clevrlite.bench.roles import (CROSS_MODAL_TASKS, IMAGE_SIDE, UNIMODAL_TASKS, Roles,
                                   bench_view, linking_attributes, withheld)
from clevrlite.bench.shots import ExampleScene
from clevrlite.bench.suite import BuildContext, ScoreSettings, Split
from clevrlite.bench.validity import check_grounding
from clevrlite.precision import Precision
from clevrlite.scene import SceneObject
from clevrlite.solver import ConstructionError, constrain_linking, make_unique, unique_values
from clevrlite.vocab import Vocabulary

IMAGE = IMAGE_SIDE + ("bbox",)
# data2img questions cycle through these within each cell: half grounded, a quarter each absent
CONDITIONS = ("grounded", "absent", "grounded", "absent_lookalike")
ABSENT = ("absent", "absent_lookalike")
BOX_CONVENTIONS = (
    CONVENTIONS + " Boxes are [x1, y1, x2, y2] in pixels of the image, from its top-left "
    "corner, with x2 and y2 exclusive. The description may list an object the image does not "
    "show.")


def shown_visible(task: str, pointer: str, target: str) -> tuple[str, ...]:
    """The visible attributes an instance's text shows, which an absent object's description
    and its look-alike are judged on (the withheld one cannot tell them apart)."""
    return tuple(a for a in VISIBLE if a != withheld(task, pointer, target))


def looked_up_in_image(task: str) -> bool:
    """Whether a task finds its answer in the image (so links among the image's objects)."""
    return task in ("data2img", "img2img")


def construct(spec: InstanceSpec, objects: list[SceneObject], rng: np.random.Generator,
              vocab: Vocabulary, precision: Precision) -> dict[str, Any]:
    """Edit ``objects`` (the image's plus one absent) in place for ``spec``; returns the
    positions of the target, the absent object and its look-alike (or None)."""
    choices = choices_of(vocab)

    def attempt() -> dict[str, Any] | None:
        absent = int(rng.integers(len(objects)))
        drawn = [i for i in range(len(objects)) if i != absent]
        target = absent if spec.condition in ABSENT else drawn[int(rng.integers(len(drawn)))]
        dicts = attribute_dicts(objects)
        make_numbers_distinct(dicts, vocab, rng, precision)
        group = drawn if spec.pointer in IMAGE else list(range(len(dicts)))
        if spec.pointer in choices:
            edited = make_unique([dicts[i] for i in group], group.index(target), spec.pointer,
                                 choices[spec.pointer], rng)
            for i, d in zip(group, edited):
                dicts[i] = d
        among = drawn if looked_up_in_image(spec.task) else list(range(len(dicts)))
        if spec.linking is not None and target in among:
            goal = None if spec.linking == COORDS_ONLY else spec.linking
            try:
                edited = constrain_linking([dicts[i] for i in among], among.index(target),
                                           linking_attributes(spec.task, spec.pointer,
                                                              spec.target),
                                           goal, choices, rng,
                                           fixed=(spec.pointer, spec.target))
            except ConstructionError:
                return None
            for i, d in zip(among, edited):
                dicts[i] = d
        shown = shown_visible(spec.task, spec.pointer, spec.target)
        image = [dicts[i] for i in drawn]
        probe = spec.condition in ABSENT
        lookalike = spec.condition == "absent_lookalike"
        fixed = (spec.pointer,) if target == absent else ()
        if probe and not make_absent(dicts[absent], image, lookalike, vocab, rng, shown, fixed):
            return None
        if not probe and not identifies_none(dicts[absent], image, shown) and not make_absent(
                dicts[absent], image, False, vocab, rng, shown, fixed):
            return None  # a distractor must match no image object; one with no look-alike will
        if not _pointer_unique(dicts, group, target, spec.pointer, precision):
            return None  # a later edit broke an earlier rule
        for obj, d in zip(objects, dicts):
            write_back(obj, d, vocab)
        objects[absent].drawn = False
        near = lookalikes(dicts[absent], image, shown)
        return {"target": target, "absent": absent,
                "lookalike": drawn[near[0]] if lookalike else None}

    return by_retry(objects, rng, vocab, attempt,
                    f"instance {spec.id} ({spec.cell}, {spec.condition}): no scene of "
                    f"{len(objects)} objects met the pointer, absent-object and linking "
                    f"rules in {MAX_ATTEMPTS} attempts; use a larger vocabulary")


def _pointer_unique(dicts: list[dict], group: list[int], target: int, pointer: str,
                    precision: Precision) -> bool:
    if pointer not in dicts[target]:  # boxes and positions come later, and differ by nature
        return True
    unique = unique_values([dicts[i] for i in group], pointer, precision=precision)
    return group.index(target) in unique.values() if target in group else False


def construct_example(objects: list[SceneObject], rng: np.random.Generator, vocab: Vocabulary,
                      roles_: Roles, precision: Precision) -> None:
    """An example scene of the suite: one absent object, pointers unique on image objects."""
    for _ in range(MAX_ATTEMPTS):
        mate_example(objects, rng, vocab, roles_, precision)
        absent = int(rng.integers(len(objects)))
        dicts = attribute_dicts(objects)
        drawn = [dicts[i] for i in range(len(dicts)) if i != absent]
        if make_absent(dicts[absent], drawn, False, vocab, rng):
            write_back(objects[absent], dicts[absent], vocab)
            objects[absent].drawn = False
            return
    raise ConstructionError(f"no example scene of {len(objects)} objects could hold an absent "
                            f"object; use a larger vocabulary")


class GroundingSuite(MateSuite):
    """MATE's tasks with boxes and absent objects (module docstring)."""

    name = "grounding"
    splits = (Split("cross_modal", "cross_modal.jsonl", "gc", CROSS_MODAL_TASKS),
              Split("unimodal", "unimodal.jsonl", "gu", UNIMODAL_TASKS, "unimodal_size"))
    judged_keys = ("id", "task", "target_attribute", "answer", "precision", "condition")
    example_extra = 1
    baseline_kinds = MateSuite.baseline_kinds + ("lookalike",)
    ability = "visual grounding"
    takes_mate_options = False
    conventions = BOX_CONVENTIONS

    def roles(self, vocab: Vocabulary) -> Roles:
        """MATE's roles with ``bbox`` on the image side."""
        return Roles(image=IMAGE, text=Roles.for_vocab(vocab).text)

    def conditions(self, task: str) -> list[str]:
        """The conditions a task's cells take turns with."""
        return list(CONDITIONS) if task == "data2img" else ["grounded"]

    def extra_objects(self, spec: InstanceSpec, seed: int) -> int:
        return 1  # the absent object

    def construct(self, spec: InstanceSpec, objects: list[SceneObject],
                  rng: np.random.Generator, ctx: BuildContext) -> dict[str, Any]:
        return construct(spec, objects, rng, ctx.vocab, ctx.options.precision)

    def construct_example(self, objects: list[SceneObject], rng: np.random.Generator,
                          ctx: BuildContext) -> None:
        construct_example(objects, rng, ctx.vocab, ctx.roles, ctx.options.precision)

    def example_scene(self, stem: str, data: dict[str, Any], kept: Any) -> ExampleScene:
        views, drawn = self.views(data)
        return ExampleScene(stem, views, tuple(drawn))

    def views(self, data: dict[str, Any]) -> tuple[list[dict], list[int]]:
        """Bench views with ``bbox``, and the positions of the objects the image shows."""
        views = [{**bench_view(o), "bbox": o.get("bbox")} for o in data["objects"]]
        drawn = [i for i, o in enumerate(data["objects"]) if o.get("drawn", True)]
        return views, drawn

    def target(self, chosen: Any) -> int:
        return chosen["target"]

    def link_among(self, spec: InstanceSpec, views: list[dict], drawn: list[int]) -> list[int]:
        return drawn if looked_up_in_image(spec.task) else list(range(len(views)))

    def absent(self, spec: InstanceSpec) -> bool:
        return spec.condition in ABSENT

    def nullable(self, spec: InstanceSpec) -> bool:
        return spec.task == "data2img"

    def record(self, ctx: BuildContext, spec: InstanceSpec, data: dict[str, Any], chosen: Any,
               has_image: bool, examples: Sequence[ExampleScene]) -> dict[str, Any]:
        """MATE's fields plus condition, absent object and look-alike."""
        line = super().record(ctx, spec, data, chosen, has_image, examples)
        names = [o["name"] for o in data["objects"]]
        line["condition"] = spec.condition
        line["absent_object"] = names[chosen["absent"]]
        line["lookalike"] = None if chosen["lookalike"] is None else names[chosen["lookalike"]]
        return line

    def check(self, out: Path, records: Iterable[dict[str, Any]]) -> list[str]:
        return check_grounding(out, records)

    def score(self, instances: list[dict], predictions: dict[str, str],
              settings: ScoreSettings, scenes: Any) -> Any:
        from clevrlite.scoring.evaluate import score_values

        return score_values(self, instances, predictions, settings, scenes, grounded=True)

    def baseline(self, kind: str, inst: dict[str, Any], rng: Any, context: Any) -> Any:
        from clevrlite.scoring.grounding_baselines import grounding_answer

        return grounding_answer(kind, inst, rng, context.scenes,
                                lambda i, r: context.mate_answer(kind, i, r))

    def reward(self, completion: str, instance: dict[str, Any], **options: Any) -> Any:
        from clevrlite.scoring.rewards import grounding_reward

        return grounding_reward(completion, instance,
                                precision=Precision.parse(instance.get("precision", 2)), **options)
