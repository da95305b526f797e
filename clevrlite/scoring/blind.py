"""The blind readers of the validity audit: everything a prompt implies without its image.

A blind reader sees what a model sees except the image: the question, the scene text, the
worked examples, the benchmark's public conventions (the vocabulary, CLEVR's default camera,
how high each shape's centre rests, the image size). For every instance it can judge, a suite
gives an audit ``Unit``: the gold answer and how to score an answer, the answers of the rule
reader (geometry and counting), the answers of text-free reference policies, and the features
a learned probe (clevrlite.scoring.probe) reads. clevrlite.scoring.audit compares them.

The rule reader knows every shortcut found so far:
- a cube's centre rests at scale / sqrt(2), other shapes' at their own heights, so a centre's
  z tells shapes apart;
- with CLEVR's default camera, listed coordinates project to pixels: the object a question's
  box holds, and the box a listed object gets;
- an object a question may call absent has a text profile: how many listed objects are
  identical to it, or one shown attribute away, on the visible attributes the text shows;
- worked examples from the question's own scene never concern the target.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np

from clevrlite import serialize
from clevrlite.errors import ClevrliteError
from clevrlite.placement import CAMERA_HFOV_DEG, CAMERA_LOCATION
from clevrlite.precision import Precision
from clevrlite.scene import Camera
from clevrlite.vocab import Shape

VISIBLE = ("color", "shape", "material", "size")  # what an image shows of an object
NULLABLE_PHRASE = "or null when the object is not in the image"
FOOTPRINT_POINTS = 16  # points around an object's footprint circle when projecting its box


@dataclass
class Knowledge:
    """The public facts every reader has: vocabulary, image size, CLEVR's default camera."""

    vocabulary: dict[str, Any]
    width: int = 480
    height: int = 320

    @property
    def camera(self) -> Camera:
        return Camera(CAMERA_LOCATION, (0.0, 0.0, 0.0), CAMERA_HFOV_DEG, self.width,
                      self.height)

    def values(self, attribute: str) -> list[Any]:
        """The vocabulary's values of a categorical attribute (sizes as their scales)."""
        sections = {"color": "colors", "shape": "shapes", "material": "materials"}
        if attribute in sections:
            return list(self.vocabulary.get(sections[attribute], {}))
        if attribute == "size":
            return list(self.vocabulary.get("sizes", {}).values())
        spec = self.vocabulary.get("attributes", {}).get(attribute) or {}
        return list(spec.get("values") or [])

    def rest(self, shape: str) -> float:
        """How high a shape's centre rests above the floor, per unit of scale."""
        return _rest_factor(json.dumps(self.vocabulary.get("shapes", {}).get(shape) or
                                       {"primitive": shape}), shape)


@lru_cache(maxsize=64)
def _rest_factor(spec: str, name: str) -> float:
    from clevrlite.meshes import unit_mesh

    data = json.loads(spec)
    try:
        return float(unit_mesh(Shape(name, primitive=data.get("primitive"),
                                     mesh=data.get("mesh"))).rest_height)
    except (ClevrliteError, OSError, TypeError, ValueError):
        return 1.0  # a mesh file the reader cannot open: assume a sphere's


@dataclass
class Unit:
    """One judgeable answer of an instance, as the audit sees it."""

    id: str  # the instance id (and entity, for gmner mentions)
    cell: str  # the balance cell, "n|task|pointer->target"
    group: str  # instances pooled to fit the probe and pick a policy: "task|pointer->target"
    task: str
    truth: Any  # gold answer (a value, or for gmner mentions whether the entity is absent)
    score: Callable[[Any], float]  # 1.0 when an answer is right, else 0.0
    rules: list[Any]  # the rule reader's answers, equally likely (empty: it has none)
    uniform: list[Any] | None  # the text-free uniform guess among the scene's values
    kind: str  # "classify" (answer from a class) or "choose" (answer of a listed object)
    features: np.ndarray  # classify: (F,); choose: (candidates, F)
    options: list[Any] = field(default_factory=list)  # choose: each candidate's answer


def expected(guess: Sequence[Any], score: Callable[[Any], float]) -> float:
    """The expected score of answering uniformly among ``guess`` (0 when it is empty)."""
    if not guess:
        return 0.0
    return sum(score(g) for g in guess) / len(guess)


def parse_objects(inst: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects the instance's scene text lists (none without a text)."""
    text, fmt = inst.get("scene_text"), inst.get("scene_format")
    if not text:
        return []
    return [o for o in serialize.loads(text, fmt)["objects"] if isinstance(o, dict)]


def nullable(inst: dict[str, Any]) -> bool:
    """Whether the prompt says that null answers an object the image does not show."""
    return NULLABLE_PHRASE in (inst.get("prompt") or "")


# ---------------------------------------------------------------------------- text profile

def shown_visible(objects: Sequence[dict]) -> tuple[str, ...]:
    """The visible attributes the text shows."""
    return tuple(a for a in VISIBLE if objects and all(a in o for o in objects))


def profile(objects: Sequence[dict], index: int,
            attributes: Sequence[str]) -> tuple[int, int]:
    """(identical, one away): how many other listed objects equal ``objects[index]`` on every
    shown visible attribute, and how many differ in exactly one."""
    me = objects[index]
    same = near = 0
    for j, other in enumerate(objects):
        if j == index:
            continue
        differ = sum(other.get(a) != me.get(a) for a in attributes)
        same += differ == 0
        near += differ == 1
    return same, near


# ------------------------------------------------------------------------------ geometry

def centre_height(obj: dict, know: Knowledge) -> float:
    """The object's centre height: the z of its listed centre, else from its shape and size."""
    coords = obj.get("3d_coords") or [0.0, 0.0, 0.0]
    z = float(coords[2]) if len(coords) > 2 else 0.0
    if z > 0:
        return z
    scale = float(obj.get("size") or 0.5)
    return know.rest(obj["shape"]) * scale if "shape" in obj else scale


def projected_box(obj: dict, know: Knowledge) -> list[float] | None:
    """The box a listed object would get from CLEVR's default camera (None: no coordinates)."""
    coords = obj.get("3d_coords")
    if not coords or len(coords) < 2:
        return None
    x, y = float(coords[0]), float(coords[1])
    r, top = float(obj.get("size") or 0.5), 2.0 * centre_height(obj, know)
    angles = np.linspace(0.0, 2.0 * math.pi, FOOTPRINT_POINTS, endpoint=False)
    ring = np.column_stack([x + r * np.cos(angles), y + r * np.sin(angles)])
    points = np.vstack([np.column_stack([ring, np.zeros(len(ring))]),
                        np.column_stack([ring, np.full(len(ring), top)])])
    pix = know.camera.project(points)
    return [float(pix[:, 0].min()), float(pix[:, 1].min()), float(pix[:, 0].max()),
            float(pix[:, 1].max())]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def z_shapes(obj: dict, know: Knowledge, tolerance: float = 0.03) -> list[str]:
    """The shapes whose centre would rest at the listed centre's height (all when the text
    gives no height)."""
    shapes = know.values("shape")
    coords = obj.get("3d_coords") or []
    if len(coords) < 3 or not coords[2] or "size" not in obj:
        return shapes
    ratio = float(coords[2]) / float(obj["size"])
    fitting = [s for s in shapes if abs(know.rest(s) - ratio) <= tolerance]
    return fitting or shapes


def box_features(box: Any, know: Knowledge) -> list[float]:
    """What a question's box says by itself: place, size and aspect in the image."""
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        return [0.0] * 6
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    return [(x1 + x2) / 2 / know.width, (y1 + y2) / 2 / know.height, w / know.width,
            h / know.height, math.log(h / w), math.log(w * h / (know.width * know.height))]


# ------------------------------------------------------------------------- instance units

def object_features(objects: list[dict], index: int, know: Knowledge,
                    shown: tuple[str, ...]) -> list[float]:
    """What the text says of one listed object, as numbers a probe can weigh."""
    obj = objects[index]
    n = max(len(objects), 1)
    coords = obj.get("3d_coords") or []
    scale = float(obj.get("size") or 0.0)
    z = float(coords[2]) if len(coords) > 2 else 0.0
    same, near = profile(objects, index, shown)
    ratio = z / scale if scale else 0.0
    cube_like = float(any(abs(know.rest(s) - ratio) < 0.03 for s in ("cube",)
                          if "cube" in know.values("shape")))
    radius = math.hypot(float(coords[0]), float(coords[1])) if len(coords) >= 2 else 0.0
    return [1.0, ratio, cube_like, scale, float(obj.get("material") == "metal"), float(same),
            float(near), float(same == 0 and near <= 1), index / n, n / 10.0, radius / 3.0]


def single_unit(inst: dict[str, Any], know: Knowledge, precision: Precision,
                score: Callable[[Any], float]) -> Unit | None:
    """The audit unit of a one-answer instance (MATE and grounding suites); None for
    data2data, whose text is meant to answer it."""
    task, pointer, target = inst["task"], inst["pointer_attribute"], inst["target_attribute"]
    if task == "data2data":
        return None
    objects = parse_objects(inst)
    shown = shown_visible(objects)
    pair = f"{pointer}->{target}"
    unit = Unit(inst["id"], f"{inst['object_count']}|{task}|{pair}", f"{task}|{pair}", task,
                inst["answer"], score, [], None, "classify", np.zeros(0))
    question = box_features(inst["pointer_value"], know) if pointer == "bbox" else [0.0] * 6
    if task == "img2data":
        candidates = rule_out_examples(objects, inst, precision)
        unit.uniform = [o.get(target) for o in objects]
        unit.rules = [o.get(target) for o in _pointer_candidates(candidates, inst, know)]
        unit.kind = "choose"
        rows = []
        for j, obj in enumerate(objects):
            projected = projected_box(obj, know) if pointer == "bbox" else None
            fits = float(inst["pointer_value"] in z_shapes(obj, know)) if pointer == "shape" \
                else 0.0
            overlap = box_iou(projected, inst["pointer_value"]) if projected else 0.0
            rows.append(object_features(objects, j, know, shown) + [fits, overlap] + question)
        unit.features = np.asarray(rows, float)
        unit.options = [o.get(target) for o in objects]
        return unit
    index = _pointed(objects, inst, precision)
    mine = object_features(objects, index, know, shown) if index is not None \
        else [0.0] * 11
    unit.features = np.asarray(mine + question, float)
    if task == "data2img" and index is not None:
        unit.rules = _image_side_guess(objects, index, inst, know)
    elif task == "img2img":
        unit.rules = []
    return unit


def _pointed(objects: list[dict], inst: dict[str, Any], precision: Precision) -> int | None:
    """The listed object a text-side pointer names (None when the text does not say)."""
    from clevrlite.scoring.answers import answers_match

    pointer, value = inst["pointer_attribute"], inst["pointer_value"]
    found = [j for j, o in enumerate(objects)
             if pointer in o and answers_match(o[pointer], value, precision)]
    return found[0] if len(found) == 1 else None


def _image_side_guess(objects: list[dict], index: int, inst: dict[str, Any],
                      know: Knowledge) -> list[Any]:
    """The rule reader's answer to a data2img question about ``objects[index]``."""
    target, obj = inst["target_attribute"], objects[index]
    if nullable(inst):
        same, near = profile(objects, index, shown_visible(objects))
        if same == 0 and near <= 1:  # the profile every absent object has
            return [None]
    if target == "bbox":
        box = projected_box(obj, know)
        return [[round(v) for v in box]] if box else []
    if target == "shape":
        return z_shapes(obj, know)
    return know.values(target)


def _pointer_candidates(objects: list[dict], inst: dict[str, Any],
                        know: Knowledge) -> list[dict]:
    """The listed objects an image-side pointer may name, by what the text implies."""
    pointer, value = inst["pointer_attribute"], inst["pointer_value"]
    if pointer == "shape":
        fitting = [o for o in objects if value in z_shapes(o, know)]
        return fitting or objects
    if pointer == "bbox":
        scored = [(box_iou(b, value), o) for o in objects
                  if (b := projected_box(o, know)) is not None]
        best = max((s for s, _ in scored), default=0.0)
        return [o for s, o in scored if s == best] if best > 0 else objects
    return objects


def rule_out_examples(objects: list[dict], inst: dict[str, Any],
                      precision: Precision) -> list[dict]:
    """``objects`` without those that worked examples from the question's own scene pick out
    (such examples never concern the target); examples from other scenes say nothing about
    these objects. Never empty: when every object is ruled out, all stay."""
    from clevrlite.bench.reader import object_value
    from clevrlite.scoring.answers import answers_match

    remaining = list(objects)
    for shot in inst.get("shots") or []:
        if shot.get("scene_id", inst.get("scene_id")) != inst.get("scene_id"):
            continue
        for attribute, value in ((shot.get("target_attribute"), shot.get("answer")),
                                 (shot.get("pointer_attribute"), shot.get("pointer_value"))):
            found = [o for o in remaining if object_value(o, attribute) is not None
                     and answers_match(object_value(o, attribute), value, precision)]
            if len(found) == 1:
                remaining.remove(found[0])
                break
    return remaining or objects


# ---------------------------------------------------------------------------- gmner units

def mention_units(inst: dict[str, Any], know: Knowledge) -> list[Unit]:
    """One unit per mention of a gmner passage: is its entity absent from the image? The
    passage's descriptions are all a reader has."""
    import re

    from clevrlite.bench.gmner import SENTENCES

    entities = inst["entities"]
    described = [_description(inst["text"], e) for e in entities]
    shown = tuple(a for a in VISIBLE if all(a in d for d in described))
    templates = [re.compile(re.escape(t).replace(r"\{name\}", ".*").replace(r"\{desc\}", ".*"))
                 for t in SENTENCES]
    units = []
    for k, e in enumerate(entities):
        same, near = profile(described, k, shown)
        sentence = _sentence(inst["text"], e)
        template = next((t for t, rx in enumerate(templates) if rx.fullmatch(sentence)), -1)
        name_index = int(e["entity"].rsplit("_", 1)[-1]) if e["entity"][-1:].isdigit() else 0
        d = described[k]
        features = [1.0, float(same), float(near), len(entities) / 10.0, k / len(entities),
                    name_index / 10.0, float(d.get("material") == "metal"),
                    float(d.get("size") == "large")]
        features += [float(template == t) for t in range(len(SENTENCES))]
        features += [float(d.get("shape") == s) for s in know.values("shape")]
        features += [float(d.get("color") == c) for c in know.values("color")]
        absent = e["box"] is None
        units.append(Unit(f"{inst['id']}#{k}", f"{inst['object_count']}|gmner", "gmner",
                          "gmner", absent, lambda guess, gold=absent: float(guess == gold),
                          [same > 0], None, "classify", np.asarray(features, float)))
    return units


def _sentence(text: str, entity: dict[str, Any]) -> str:
    start = text.rfind(". ", 0, entity["start"])
    start = 0 if start < 0 else start + 2
    end = text.find(".", entity["end"])
    return text[start:end + 1 if end >= 0 else len(text)]


def _description(text: str, entity: dict[str, Any]) -> dict[str, Any]:
    """The visible attributes a passage states for an entity ("a large red metal cube")."""
    import re

    found = re.search(r"\ban? (\w+) (\w+) (\w+) (\w+)", _sentence(text, entity))
    if not found:
        return {}
    return dict(zip(("size", "color", "material", "shape"), found.groups()))
