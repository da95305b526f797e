"""The grounding suites' guarantees, checked again on the files a build wrote (DESIGN 8).

Construction makes them hold; this reads the scene JSON, the instance lines and the final
masks back and checks each one independently of how it was made:
- a pointer (or a grounded mention's description) identifies exactly one image object;
- an absent object's description identifies none;
- a look-alike differs from it in exactly one visible attribute, and only the named one does;
- passage offsets slice the passage to the entity's name;
- every box equals the tight box of the object's pixels in the final mask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from PIL import Image

from clevrlite.bench.lookalike import VISIBLE, differences
from clevrlite.bench.roles import shown_coords
from clevrlite.errors import ClevrliteError
from clevrlite.precision import Precision
from clevrlite.solver import value_key

IMAGE_POINTERS = ("color", "shape", "bbox")


class ValidityError(ClevrliteError):
    """A written benchmark broke one of its suite's guarantees (a bug in clevrlite)."""


def mask_boxes(mask: np.ndarray) -> dict[int, list[int]]:
    """Tight box [x1, y1, x2, y2] (x2, y2 exclusive) of every mask id present (0 excluded)."""
    boxes = {}
    for mask_id in np.unique(mask):
        if mask_id == 0:
            continue
        ys, xs = np.nonzero(mask == mask_id)
        boxes[int(mask_id)] = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    return boxes


class _Scenes:
    """Scene files and mask boxes of a benchmark, read once each."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._cache: dict[str, tuple[dict, dict[int, list[int]]]] = {}

    def get(self, scene_id: str) -> tuple[dict, dict[int, list[int]] | None]:
        """A scene's JSON and its mask's boxes (None for a scene that was not rendered)."""
        if scene_id not in self._cache:
            data = json.loads((self.out / "scenes" / f"{scene_id}.json").read_text("utf-8"))
            path = self.out / "masks" / f"{scene_id}.png"
            boxes = mask_boxes(np.asarray(Image.open(path))) if path.is_file() else None
            self._cache = {scene_id: (data, boxes)}  # one scene at a time
        return self._cache[scene_id]


def _shown(obj: dict[str, Any], attribute: str, coords: str) -> Any:
    """An object's value of an attribute as the benchmark's texts and questions show it."""
    if attribute == "size":
        return obj["scale"]
    if attribute == "3d_coords":
        return shown_coords(obj["3d_coords"], coords)
    return obj[attribute]


def _visible(obj: dict[str, Any]) -> tuple:
    return tuple(obj[k] for k in VISIBLE)


def _check_scene_boxes(data: dict, boxes: dict[int, list[int]] | None,
                       where: str) -> list[str]:
    if boxes is None:  # a text-only scene
        return []
    problems = []
    for obj in data["objects"]:
        drawn = obj.get("drawn", True)
        box = boxes.get(obj["mask_id"])
        if drawn and obj["bbox"] != box:
            problems.append(f"{where}: {obj['name']}'s box {obj['bbox']} is not its mask's {box}")
        if not drawn and (box is not None or obj["bbox"] is not None):
            problems.append(f"{where}: absent {obj['name']} has pixels or a box")
    return problems


def _absent_problems(objects: list[dict], name: str, lookalike: str | None, where: str,
                     shown: tuple[str, ...] = VISIBLE, probe: bool = True) -> list[str]:
    """What breaks the absent-object rules; a distractor (``probe`` False) need only match
    no image object."""
    absent = next(o for o in objects if o["name"] == name)
    drawn = [o for o in objects if o.get("drawn", True)]
    near = [o["name"] for o in drawn if differences(absent, o, shown) == 1]
    problems = []
    if absent.get("drawn", True):
        problems.append(f"{where}: absent {name} is drawn")
    if any(differences(absent, o, shown) == 0 for o in drawn):
        problems.append(f"{where}: absent {name}'s description identifies an image object")
    if probe and near != ([lookalike] if lookalike else []):
        problems.append(f"{where}: {name}'s look-alikes are {near}, expected {lookalike}")
    return problems


def _with_scenes(out: Path, records: Iterable[dict[str, Any]],
                 ) -> Iterator[tuple[dict[str, Any], dict, dict[int, list[int]] | None, list[str]]]:
    """Each instance with its scene's JSON, its mask's boxes and what is wrong with those."""
    scenes = _Scenes(out)
    for inst in records:
        data, boxes = scenes.get(inst["scene_id"])
        yield inst, data, boxes, _check_scene_boxes(data, boxes, inst["id"])


def check_grounding(out: Path, records: Iterable[dict[str, Any]],
                    coords: str = "contact") -> list[str]:
    """Every broken guarantee of a grounding suite's instances (empty when none); ``coords``
    is how their texts show 3d_coords."""
    problems: list[str] = []
    for inst, data, boxes, box_problems in _with_scenes(out, records):
        where, objects = inst["id"], data["objects"]
        problems += box_problems
        undrawn = [o["name"] for o in objects if not o.get("drawn", True)]
        if undrawn != [inst["absent_object"]]:
            problems.append(f"{where}: absent objects {undrawn}, expected "
                            f"[{inst['absent_object']}]")
            continue
        pointer, target = inst["pointer_attribute"], inst["target_attribute"]
        hidden = {"img2data": pointer, "data2img": target}.get(inst["task"])
        shown = tuple(a for a in VISIBLE if a != hidden)
        probe = inst["condition"] in ("absent", "absent_lookalike")
        problems += _absent_problems(objects, inst["absent_object"], inst["lookalike"], where,
                                     shown, probe)
        group = [o for o in objects if o.get("drawn", True)] if pointer in IMAGE_POINTERS \
            else objects
        precision = Precision.parse(inst.get("precision", 2))  # as the text shows numbers
        values = [value_key(_shown(o, pointer, coords), precision) for o in group]
        key = value_key(inst["pointer_value"], precision)
        named = [o for o, v in zip(group, values) if v == key]
        if len(named) != 1 or named[0]["name"] != inst["target_object"]:
            problems.append(f"{where}: pointer {pointer}={inst['pointer_value']} names "
                            f"{[o['name'] for o in named]}")
            continue
        obj = named[0]
        if inst["condition"] in ("absent", "absent_lookalike"):
            if obj.get("drawn", True) or inst["answer"] is not None:
                problems.append(f"{where}: an absent question needs an absent target and null")
        elif target == "bbox" and inst["answer"] != (boxes or {}).get(obj["mask_id"]):
            problems.append(f"{where}: answer box {inst['answer']} is not the mask's")
    return problems


def check_gmner(out: Path, records: Iterable[dict[str, Any]]) -> list[str]:
    """Every broken guarantee of gmner instances (empty when none)."""
    problems: list[str] = []
    for inst, data, boxes, box_problems in _with_scenes(out, records):
        where, objects = inst["id"], data["objects"]
        by_name = {o["name"]: o for o in objects}
        drawn = [o for o in objects if o.get("drawn", True)]
        problems += box_problems
        for e in inst["entities"]:
            if inst["text"][e["start"]:e["end"]] != e["entity"]:
                problems.append(f"{where}: offsets {e['start']}:{e['end']} do not slice "
                                f"{e['entity']!r}")
            obj = by_name[e["entity"]]
            if e["type"] != obj["shape"]:
                problems.append(f"{where}: {e['entity']}'s type is not its shape")
            matches = [o["name"] for o in drawn if _visible(o) == _visible(obj)]
            if e["condition"] == "grounded":
                if matches != [e["entity"]] or e["box"] != boxes.get(obj["mask_id"]):
                    problems.append(f"{where}: grounded {e['entity']} matches {matches}, box "
                                    f"{e['box']}")
            else:
                problems += _absent_problems(objects, e["entity"], e["lookalike"], where)
                if e["box"] is not None:
                    problems.append(f"{where}: absent {e['entity']} has a box")
        mentioned = {e["entity"] for e in inst["entities"]}
        if not inst["image_only"] or sorted(inst["image_only"]) != sorted(
                o["name"] for o in drawn if o["name"] not in mentioned):
            problems.append(f"{where}: image_only is not the unmentioned image objects")
        if inst["answer"] != [{"entity": e["entity"], "type": e["type"], "box": e["box"]}
                              for e in inst["entities"]]:
            problems.append(f"{where}: the answer is not the entities")
    return problems


def require(problems: list[str], suite: str) -> None:
    """Raise ValidityError naming the first broken guarantee (and how many broke)."""
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidityError(f"{suite} benchmark failed its validity check: {problems[0]}{more}; "
                            f"this is a clevrlite bug, please report it")


def check_chain(out: Path, records: Iterable[dict[str, Any]],
                coords: str = "contact") -> list[str]:
    """Every broken guarantee of chain instances (empty when none), resolved again from the
    scene files: the pointer names one object (a conjunctive one: neither value alone), each
    relation leads to exactly one new object in the modality the pattern says, the answer is
    the last object's, and the text leaves out every image attribute the question reads."""
    from clevrlite import serialize
    from clevrlite.bench.chain import (IMAGE_ATTRS, IMAGE_RELATIONS, hops, pointed, quarter,
                                       walk)

    problems: list[str] = []
    for inst, data, _, box_problems in _with_scenes(out, records):
        where = inst["id"]
        problems += box_problems
        precision = Precision.parse(inst.get("precision", 2))
        views = [{**o, "size": o["scale"], "3d_coords": shown_coords(o["3d_coords"], coords)}
                 for o in data["objects"]]
        names = [v["name"] for v in views]
        pointer, value = inst["pointer_attribute"], inst["pointer_value"]
        start = pointed(views, pointer, value, precision)
        if start != [names.index(inst["chain"][0])]:
            problems.append(f"{where}: pointer {pointer}={value} names {start}")
            continue
        if "&" in pointer:
            attr = pointer.split("&")[0]
            alone = (sum(v[attr] == value[attr] for v in views),
                     sum(quarter(serialize.rounded(v["rotation"], precision)) ==
                         value["quarter"] for v in views))
            if min(alone) < 2:
                problems.append(f"{where}: one value of the conjunctive pointer names one "
                                f"object alone")
        chain = walk(views, start[0], inst["relations"], precision)
        if chain is None or [names[j] for j in chain] != inst["chain"]:
            problems.append(f"{where}: the relations lead to {chain}, not {inst['chain']}")
            continue
        steps = inst["task"].split(">")[1:-1]
        kinds = ["I" if r in IMAGE_RELATIONS else "T" for r in inst["relations"]]
        if kinds != steps or inst["hops"] != hops(inst["task"]):
            problems.append(f"{where}: relations {inst['relations']} do not fit {inst['task']}")
        last = views[chain[-1]]
        targets = inst["target_attribute"].split("+")
        want = {t: serialize.rounded(last[t], precision) for t in targets}
        if inst["answer"] != (want if len(targets) > 1 else want[targets[0]]):
            problems.append(f"{where}: the answer is not {inst['chain'][-1]}'s")
        shown = serialize.loads(inst["scene_text"], inst["scene_format"])["objects"][0]
        read_in_image = [pointer.split("&")[0], *targets] + [
            IMAGE_RELATIONS[r] for r in inst["relations"] if r in IMAGE_RELATIONS]
        leaked = [a for a in IMAGE_ATTRS if a in read_in_image and a in shown]
        if leaked:
            problems.append(f"{where}: the text shows {leaked}, which the question reads in "
                            f"the image")
    return problems
