"""Choosing worked examples (shots): from other scenes by default, or from the same scene.

Examples from other scenes (the default) come from example scenes of the same object count,
each shown with its own image and text, so they teach the task and the answer format and tell
nothing about the question's scene.

Same-scene examples are MATE's way (``--same-scene-shots``, ``--preset mate``, and MATE's own
files). They never concern the target object or a twin of it, and the values of the target
attribute they reveal never leave a single possible answer: for attributes whose values are
distinct by nature (names, coordinates, rotations) no example uses that attribute at all; for a
categorical target, an example whose pointer is that attribute rules its value out (pointer
values are unique), so such examples are capped to leave at least two possible answers. They
still leak: a reader of the text alone can drop the example objects and guess among the rest
(the text-only-shots baseline measures it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from clevrlite.bench.roles import DISTINCT_BY_NATURE, Roles, linking_attributes
from clevrlite.precision import Precision
from clevrlite.solver import unique_values, value_key


@dataclass(frozen=True)
class Shot:
    """A worked example: an object of some scene, and a question about it."""

    object_index: int
    pointer: str
    target: str


def same_scene_candidates(views: Sequence[dict], target_index: int, task: str, pointer: str,
                          target: str, roles: Roles, precision: Precision) -> list[Shot]:
    """Every same-scene example that obeys the rules (module docstring), in a fixed order.

    In cross-modal tasks an example also never concerns a twin of the target (an object equal
    to it on every linking attribute), since ruling twins out would resolve by elimination
    the ambiguity that the linking attributes leave.
    """
    twins: set[int] = set()
    if task in ("img2data", "data2img"):
        link = linking_attributes(task, pointer, target)
        key = [value_key(views[target_index][a], precision) for a in link]
        twins = {i for i, v in enumerate(views)
                 if [value_key(v[a], precision) for a in link] == key}
    out = []
    for shot_pointer, shot_target in roles.pairs(task):
        if target in DISTINCT_BY_NATURE and target in (shot_pointer, shot_target):
            continue
        for index in unique_values(views, shot_pointer, precision=precision).values():
            if index != target_index and index not in twins:
                out.append(Shot(index, shot_pointer, shot_target))
    return out


def choose_same_scene(candidates: Sequence[Shot], count: int, rng: np.random.Generator,
                      target: str = "", target_values: int = 0) -> list[Shot] | None:
    """``count`` examples about distinct objects, or None if the scene has too few.

    At most ``target_values - 2`` of them may use the target attribute as their pointer, since
    each rules one of the target's ``target_values`` possible values out. The first valid
    choice in a random order of the candidates is taken, so whether a scene can offer its
    examples never depends on the draw.
    """
    budget = max(0, target_values - 2)
    free = {s.object_index for s in candidates if s.pointer != target}
    budgeted = {s.object_index for s in candidates if s.pointer == target} - free
    if len(free) + min(len(budgeted), budget) < count:
        return None  # too few objects, decided without trying every choice
    order = rng.permutation(len(candidates)).tolist()
    for combo in combinations(order, count):
        chosen = [candidates[k] for k in combo]
        if (len({s.object_index for s in chosen}) == count
                and sum(s.pointer == target for s in chosen) <= budget):
            return chosen
    return None


@dataclass(frozen=True)
class ExampleScene:
    """An example scene as examples are drawn from it: its stem, object views, and the
    positions of the objects its image shows (None: all of them)."""

    stem: str
    views: list[dict]
    drawn: tuple[int, ...] | None = None
    extra: Any = None  # what a suite keeps of the scene beyond its objects (gmner: a passage)


def choose_other_scenes(scenes: Sequence[ExampleScene], count: int, task: str, pointer: str,
                        target: str, roles: Roles, precision: Precision,
                        rng: np.random.Generator) -> list[tuple[int, Shot]]:
    """``count`` examples from distinct scenes of ``scenes``, as (scene position, shot) pairs.

    Each asks the question's own (pointer, target) pair about an object of the image whose
    pointer value is unique where the pointer is read (among the image's objects for an
    image-side pointer, among all for a text-side one); a scene without one falls back to the
    task's other pairs, in order. Fewer than ``count`` come back only if too few scenes offer
    any.
    """
    pairs = [(pointer, target)] + [p for p in roles.pairs(task) if p != (pointer, target)]
    chosen: list[tuple[int, Shot]] = []
    for k in rng.permutation(len(scenes)).tolist():
        if len(chosen) == count:
            break
        scene = scenes[k]
        drawn = list(range(len(scene.views))) if scene.drawn is None else list(scene.drawn)
        for shot_pointer, shot_target in pairs:
            among = drawn if shot_pointer in roles.image else list(range(len(scene.views)))
            unique = unique_values([scene.views[i] for i in among], shot_pointer,
                                   precision=precision).values()
            found = sorted(among[i] for i in unique if among[i] in drawn)
            if found:
                index = found[int(rng.integers(len(found)))]
                chosen.append((k, Shot(index, shot_pointer, shot_target)))
                break
    return chosen


def image_fields(data: dict[str, Any], shots: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """An instance's scene id and images: the examples' images first, its own last (the
    order its prompt numbers them)."""
    image = f"images/{data['image_filename']}"
    return {"scene_id": data["image_filename"].rsplit(".", 1)[0], "image": image,
            "images": [s["image"] for s in shots] + [image]}
