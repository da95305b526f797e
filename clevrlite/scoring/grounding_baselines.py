"""Baselines of the grounding and gmner suites: oracle, text-only, lookalike and random.

- oracle: the gold answer (must score 100);
- text-only: what the text alone gives: null for every box and for every question that may
  point at an absent object, since null is the commonest answer there (gmner: every entity
  the passage names, with its stated type and a null box); other targets as MATE's text-only;
- lookalike: the textual-bias strategy with perfect perception. It grounds every mention to
  the image object that shares the most of its described visible attributes, and never
  answers null. It must score high on grounded mentions and fail on absent ones, look-alike
  ones above all, which shows that the probe measures what it claims;
- random: a uniform guess among the image's objects' boxes and null (other targets as MATE's
  random, with null among the choices where the object may be absent; gmner types from the
  vocabulary).
"""

from __future__ import annotations

import random
from typing import Any, Callable

from clevrlite.bench.lookalike import VISIBLE, differences
from clevrlite.bench.reader import SceneCache, object_value


def _drawn(scenes: SceneCache, inst: dict) -> list[dict]:
    return [o for o in scenes.objects(inst["scene_id"]) if o.get("drawn", True)]


def _described(scenes: SceneCache, inst: dict, name: str) -> dict:
    return next(o for o in scenes.objects(inst["scene_id"]) if o["name"] == name)


def _closest(obj: dict, drawn: list[dict], shown: tuple[str, ...]) -> dict:
    """The image object sharing most of ``obj``'s shown visible attributes (first on ties)."""
    return min(drawn, key=lambda d: differences(obj, d, shown))


def _shown(inst: dict) -> tuple[str, ...]:
    hidden = {"img2data": inst.get("pointer_attribute"),
              "data2img": inst.get("target_attribute")}.get(inst["task"])
    return tuple(a for a in VISIBLE if a != hidden)


def grounding_answer(kind: str, inst: dict, rng: random.Random, scenes: SceneCache,
                     mate_answer: Callable[[dict, random.Random], Any]) -> Any:
    """A grounding-suite baseline's answer; ``mate_answer`` answers as MATE's baseline of the
    same kind where the box and absent objects change nothing."""
    target = inst["target_attribute"]
    if kind == "lookalike":
        if inst["task"] != "data2img":
            return inst["answer"]
        described = _described(scenes, inst, inst["target_object"])
        return object_value(_closest(described, _drawn(scenes, inst), _shown(inst)), target)
    if kind in ("text-only", "text-only-shots") and (target == "bbox"
                                                      or inst["task"] == "data2img"):
        return None  # a box the text cannot give, or an object that may be absent: null
    if kind == "random" and (target == "bbox" or inst["task"] == "data2img"):
        if target == "bbox":
            return rng.choice([o["bbox"] for o in _drawn(scenes, inst)] + [None])
        return rng.choice([mate_answer(inst, rng), None])
    return mate_answer(inst, rng)


def gmner_answer(kind: str, inst: dict, rng: random.Random, scenes: SceneCache,
                 shapes: list[str]) -> list[dict]:
    """A gmner baseline's answer: one {entity, type, box} per entity the passage names."""
    if kind == "oracle":
        return inst["answer"]
    drawn = _drawn(scenes, inst)
    out = []
    for e in inst["entities"]:
        if kind == "text-only":
            box = None
        elif kind == "lookalike":
            box = _closest(_described(scenes, inst, e["entity"]), drawn, VISIBLE)["bbox"]
        else:
            box = rng.choice([o["bbox"] for o in drawn] + [None])
        kind_ = rng.choice(shapes) if kind == "random" else e["type"]
        out.append({"entity": e["entity"], "type": kind_, "box": box})
    return out
