"""The grounding suite (DESIGN 8): MATE's tasks with the object's box as an image-side attribute.

- data2img and img2img may ask for ``bbox``: the pointed object's box [x1, y1, x2, y2] in
  pixels of the image (x2, y2 exclusive), scored at IoU >= 0.5; img2img may point with it to
  ask for a colour ("the object inside [x1, y1, x2, y2]"). A box pointer of any other cell
  would give its answer away without the image (``BOX_GIVES_AWAY`` and ``roles``).
- Every scene's text lists one absent object that its image does not show
  (clevrlite.bench.lookalike). In data2img, a quarter of the questions point at it (answer
  null, condition ``absent``: no image object resembles it) and a quarter at it with a
  look-alike in the image (condition ``absent_lookalike``); the rest point at image objects
  (``grounded``), and there the absent object is a distractor that matches no image object.

No reader of the text alone can tell the conditions apart (clevrlite audit checks it). The
scenes turn the camera by a random angle (placement.turned), so a question's box cannot be
linked to listed coordinates through CLEVR's default camera. And an object's text profile (how
many listed objects equal it, or differ from it in one shown visible attribute) is the same in
every condition: a data2img target matches no other listed object and has none (absent) or
one (absent with a look-alike) one attribute away, and grounded targets have either, half and
half; the distractor of a grounded question is picked among objects that already match no
other, never edited to look absent.

Pointers are unique where they are read: image-side ones among the image's objects, text-side
ones among all the text's. Linking sets tell the target apart from the objects of the modality
it is looked up in: the image's for data2img and img2img, the text's otherwise.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from clevrlite.bench.construct import (MAX_ATTEMPTS, attribute_dicts, by_retry, choices_of,
                                       make_numbers_distinct, write_back)
from clevrlite.bench.construct import construct_example as mate_example
from clevrlite.bench.lookalike import (VISIBLE, differences, identifies_none, lookalikes,
                                      make_absent, profile)
from clevrlite.bench.mate import MateSuite
from clevrlite.bench.plan import COORDS_ONLY, InstanceSpec
from clevrlite.bench.prompts import conventions
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
# Cells no camera variation saves (benchmarks/RESULTS.md has the audit): a question's box alone
# shows how large an object looks, so which listed objects it can be (img2data), and its
# aspect shows the shape (img2img). Boxes stay answers, and a pointer where they give nothing
# away (img2img, the colour of the object inside a box).
BOX_GIVES_AWAY = (("img2img", "bbox", "shape"),)
# data2img questions cycle through these within each cell: half grounded, a quarter each absent
CONDITIONS = ("grounded", "absent", "grounded", "absent_lookalike")
ABSENT = ("absent", "absent_lookalike")
BOX_CONVENTIONS = (
    " Boxes are [x1, y1, x2, y2] in pixels of the image, from its top-left corner, with x2 and "
    "y2 exclusive. The description may list an object the image does not show.")


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
    positions of the target, the absent object and its look-alike (or None).

    No text profile tells the conditions apart (module docstring): the absent object is never
    made to look absent. Attributes are drawn and kept only when the target's profile fits its
    condition, and a distractor is picked among the objects that already match no other.
    """
    choices = choices_of(vocab)
    shown = shown_visible(spec.task, spec.pointer, spec.target)
    # How many listed objects a data2img target has one shown attribute away: none when it is
    # absent, one (its look-alike) when absent with a look-alike, either (half each) when
    # grounded.
    near = {"absent": 0, "absent_lookalike": 1}.get(spec.condition, int(rng.integers(2)))

    def attempt() -> dict[str, Any] | None:
        dicts = attribute_dicts(objects)
        make_numbers_distinct(dicts, vocab, rng, precision)
        n = len(dicts)
        if spec.task == "data2img":  # the target may be absent: its profile decides
            target = int(rng.integers(n))
            dicts = _unique_pointer(dicts, list(range(n)), target, spec.pointer, choices, rng)
            if not _fit_profile(dicts, target, shown, near, spec.pointer, choices, rng):
                return None
            free = _matching_none(dicts, shown, but=target)
            if not free:
                return None
            absent = target if spec.condition in ABSENT else free[int(rng.integers(len(free)))]
        else:
            free = _matching_none(dicts, shown)
            absent = free[int(rng.integers(len(free)))] if free else None
            if absent is None:
                return None
            drawn = [i for i in range(n) if i != absent]
            target = drawn[int(rng.integers(len(drawn)))]
            group = drawn if spec.pointer in IMAGE else list(range(n))
            dicts = _unique_pointer(dicts, group, target, spec.pointer, choices, rng)
        drawn = [i for i in range(n) if i != absent]
        among = drawn if looked_up_in_image(spec.task) else list(range(n))
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
        image = [dicts[i] for i in drawn]
        if not identifies_none(dicts[absent], image, shown):
            return None  # an edit made the absent object match an image object
        if spec.task == "data2img" and profile(dicts, target, shown) != (0, near):
            return None
        group = drawn if spec.pointer in IMAGE else list(range(n))
        if not _pointer_unique(dicts, group, target, spec.pointer, precision):
            return None  # a later edit broke an earlier rule
        for obj, d in zip(objects, dicts):
            write_back(obj, d, vocab)
        objects[absent].drawn = False
        close = lookalikes(dicts[absent], image, shown)
        return {"target": target, "absent": absent,
                "lookalike": drawn[close[0]] if spec.condition == "absent_lookalike" else None}

    return by_retry(objects, rng, vocab, attempt,
                    f"instance {spec.id} ({spec.cell}, {spec.condition}): no scene of "
                    f"{len(objects)} objects met the pointer, absent-object and linking "
                    f"rules in {MAX_ATTEMPTS} attempts; use a larger vocabulary")


def _fit_profile(dicts: list[dict], target: int, shown: tuple[str, ...], near: int,
                 pointer: str, choices: dict[str, list], rng: np.random.Generator,
                 steps: int = 40) -> bool:
    """Edit the other objects (never the target) until none equals the target on the shown
    visible attributes and exactly ``near`` differ from it in one; False if that takes too
    long. What happens depends on the target's wanted profile only, never on whether it will
    be drawn. A pointer the text shows stays unique: objects close to the target differ from
    it in the pointer, and other edits never give them its value."""
    me = dicts[target]
    others = [j for j in range(len(dicts)) if j != target]
    for _ in range(steps):
        distance = {j: differences(me, dicts[j], shown) for j in others}
        close = [j for j in others if distance[j] <= 1]
        if not [j for j in close if distance[j] == 0] and len(close) == near:
            return True
        if len(close) > near or any(distance[j] == 0 for j in close):
            j = close[int(rng.integers(len(close)))]
            a = shown[int(rng.integers(len(shown)))]
            options = [v for v in choices[a] if v != me[a] and v != dicts[j][a]]
            if options:
                dicts[j] = {**dicts[j], a: options[int(rng.integers(len(options)))]}
            continue
        far = [j for j in others if distance[j] >= 2]
        if not far:
            return False
        j = far[int(rng.integers(len(far)))]
        keep = pointer if pointer in shown else shown[int(rng.integers(len(shown)))]
        values = {a: me[a] for a in shown if a != keep}
        if dicts[j][keep] == me[keep]:
            options = [v for v in choices[keep] if v != me[keep]]
            if not options:
                return False
            values[keep] = options[int(rng.integers(len(options)))]
        dicts[j] = {**dicts[j], **values}
    return False


def _unique_pointer(dicts: list[dict], group: list[int], target: int, pointer: str,
                    choices: dict[str, list], rng: np.random.Generator) -> list[dict]:
    """``dicts`` with the target's value of a categorical pointer made unique in ``group``."""
    if pointer not in choices:
        return dicts
    edited = make_unique([dicts[i] for i in group], group.index(target), pointer,
                         choices[pointer], rng)
    out = list(dicts)
    for i, d in zip(group, edited):
        out[i] = d
    return out


def _matching_none(dicts: list[dict], shown: tuple[str, ...], but: int | None = None,
                   ) -> list[int]:
    """The objects no other listed object equals on every shown visible attribute: those that
    may be the absent one (``but`` left out)."""
    return [j for j in range(len(dicts)) if j != but and profile(dicts, j, shown)[0] == 0]


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
    max_extra_objects = 1
    baseline_kinds = MateSuite.baseline_kinds + ("lookalike",)
    ability = "visual grounding"
    takes_mate_options = False
    turns_world = True

    def roles(self, vocab: Vocabulary) -> Roles:
        """MATE's roles with ``bbox`` on the image side."""
        text = Roles.for_vocab(vocab).text
        dropped = tuple(("img2data", "bbox", t) for t in text) + BOX_GIVES_AWAY
        return Roles(image=IMAGE, text=text, dropped=dropped)

    def conditions(self, task: str) -> list[str]:
        """The conditions a task's cells take turns with."""
        return list(CONDITIONS) if task == "data2img" else ["grounded"]

    def balances_linking(self, task: str) -> bool:
        # A data2img target may be absent, and no linking set reaches an absent one: balancing
        # the grounded ones' sizes would tell the two apart from the text.
        return task != "data2img"

    def extra_objects(self, spec: InstanceSpec, seed: int) -> int:
        return 1  # the absent object

    def construct(self, spec: InstanceSpec, objects: list[SceneObject],
                  rng: np.random.Generator, ctx: BuildContext) -> dict[str, Any]:
        return construct(spec, objects, rng, ctx.vocab, ctx.options.precision)

    def construct_example(self, objects: list[SceneObject], rng: np.random.Generator,
                          ctx: BuildContext) -> None:
        construct_example(objects, rng, ctx.vocab, ctx.roles, ctx.options.precision)

    def example_scene(self, stem: str, data: dict[str, Any], kept: Any,
                      ctx: BuildContext) -> ExampleScene:
        views, drawn = self.views(data, ctx)
        return ExampleScene(stem, views, tuple(drawn))

    def views(self, data: dict[str, Any], ctx: BuildContext) -> tuple[list[dict], list[int]]:
        """Bench views with ``bbox``, and the positions of the objects the image shows."""
        views = [{**bench_view(o, ctx.options.coords), "bbox": o.get("bbox")}
                 for o in data["objects"]]
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

    def conventions(self, ctx: BuildContext) -> str:
        return conventions(ctx.options.coords) + BOX_CONVENTIONS

    def record(self, ctx: BuildContext, spec: InstanceSpec, data: dict[str, Any], chosen: Any,
               has_image: bool, examples: Sequence[ExampleScene]) -> dict[str, Any]:
        """MATE's fields plus condition, absent object and look-alike."""
        line = super().record(ctx, spec, data, chosen, has_image, examples)
        names = [o["name"] for o in data["objects"]]
        line["condition"] = spec.condition
        line["absent_object"] = names[chosen["absent"]]
        line["lookalike"] = None if chosen["lookalike"] is None else names[chosen["lookalike"]]
        return line

    def check(self, options: Any, records: Iterable[dict[str, Any]]) -> list[str]:
        return check_grounding(options.out, records, options.coords)

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
