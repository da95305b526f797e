"""MATE's development files (``--mate-compat``, ``--preset mate``), which MATE's own code reads.

The layout and every field follow the team's MATE_FORMAT.md (facts read from MATE's code):
seven jsonl files under OUT/mate/ (mm_0shot, mm_1shot, mm_2shot, mm_2shot_cot for the
cross-modal split; um_0shot, um_1shot, um_2shot for the unimodal one) and the images flat in
OUT/mate/img/, named by ``example_id``, with MATE's all-zero placeholder for data2data.

MATE's files carry same-scene worked examples, since its prompts and its chain-of-thought
tooling look the example objects up in the line's own scene; clevrlite's own jsonl files take
examples from other scenes unless asked otherwise. Each line also carries ``id``, the
clevrlite instance id, which MATE's inference copies into its predictions files, so that
``clevrlite score`` reads those files as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from clevrlite import png
from clevrlite.bench.prompts import build_prompt
from clevrlite.bench.roles import Roles, shown_coords, withheld
from clevrlite import fsutil
from clevrlite.scene import ANNOTATION_KEYS
from clevrlite.precision import Precision
from clevrlite.serialize import rounded
from clevrlite.solver import unique_values

SETUPS = {  # file stem -> (split, shots, chain of thought)
    "mm_0shot": ("cross_modal", 0, False), "mm_1shot": ("cross_modal", 1, False),
    "mm_2shot": ("cross_modal", 2, False), "mm_2shot_cot": ("cross_modal", 2, True),
    "um_0shot": ("unimodal", 0, False), "um_1shot": ("unimodal", 1, False),
    "um_2shot": ("unimodal", 2, False),
}
SHOTS_NEEDED = 2
PLACEHOLDER_ID = "0" * 32  # MATE's image for data2data lines, which show no image
MATE_KEYS = ("name", "shape", "size", "material", "3d_coords", "rotation", "color")
SMALL_BELOW = 0.5  # MATE binarises numeric size: below this is small, else large


def example_id(scene_json: bytes) -> str:
    """MATE's id of a scene: the md5 of its scene file, 32 lowercase hex digits."""
    return hashlib.md5(scene_json).hexdigest()


def mate_scene(scene: dict[str, Any], image_name: str, precision: Precision,
               coords: str) -> dict[str, Any]:
    """A scene as MATE stores it: camera, image file, objects in MATE's key order with the
    values the prompt's text shows (size as its number, 3d_coords as ``coords`` shows them),
    then user attributes; lights and image size in ``metadata``."""
    objects = []
    for obj in scene["objects"]:
        view = {**obj, "size": obj["scale"], "3d_coords": shown_coords(obj["3d_coords"], coords)}
        extras = [k for k in obj if k not in MATE_KEYS and k != "scale"
                  and k not in ANNOTATION_KEYS]
        objects.append({k: rounded(view[k], precision) for k in (*MATE_KEYS, *extras)})
    lights = {f"Lamp_{l['name'].capitalize()}": l["location"] for l in scene["lights"]}
    return {"camera_location": scene["camera"]["location"], "image_filename": image_name,
            "objects": objects,
            "metadata": {"width": scene["width"], "height": scene["height"], **lights,
                         "clevrlite_scene": scene["image_filename"]}}


def key_attributes(objects: Sequence[dict], roles: Roles) -> dict[str, dict[str, list]]:
    """For each image- and text-side attribute, the values that occur exactly once."""
    def unique(attribute: str) -> list:
        index = sorted(unique_values(objects, attribute).values())
        return [objects[i][attribute] for i in index]
    return {"img": {a: unique(a) for a in roles.image},
            "data": {a: unique(a) for a in roles.text}}


def mate_linking_attributes(objects: Sequence[dict], gold: int, task: str, pointer: str,
                            target: str) -> list[dict[str, Any]]:
    """What MATE's ``get_linking_attributes(example, skip_coords=False)`` gives for a line.

    Size becomes small or large, name and rotation go, a cross-modal task drops what its text
    withholds; then every combination of the gold object's remaining attributes (in its key
    order, shortest first) that no other object matches on all of them.
    """
    hidden = withheld(task, pointer, target)

    def reduced(obj: dict) -> dict:
        out = {k: v for k, v in obj.items() if k not in ("name", "rotation", hidden)}
        if "size" in out:
            out["size"] = "small" if out["size"] < SMALL_BELOW else "large"
        return out

    views = [reduced(o) for o in objects]
    mine = views[gold]
    others = [v for i, v in enumerate(views) if i != gold]
    keys = list(mine)
    return [{k: mine[k] for k in combo}
            for r in range(1, len(keys) + 1) for combo in combinations(keys, r)
            if all(any(o[k] != mine[k] for k in combo) for o in others)]


def mate_line(record: dict[str, Any], scene: dict[str, Any], eid: str, shots: int, cot: bool,
              roles: Roles, fmt: str) -> dict[str, Any]:
    """One line of a MATE dev file for instance ``record`` and its MATE scene."""
    examples = record.get("_same_scene_shots", record["shots"])[:shots]
    pointer, target = record["pointer_attribute"], record["target_attribute"]
    gold = next(i for i, o in enumerate(scene["objects"]) if o["name"] == record["target_object"])
    return {
        "example_id": eid,
        "image": f"{PLACEHOLDER_ID if record['task'] == 'data2data' else eid}.png",
        "scene": scene,
        "key_attributes": key_attributes(scene["objects"], roles),
        "object_count": len(scene["objects"]),
        "pointer_attribute": {pointer: record["pointer_value"]},
        "target_attribute": {target: record["answer"]},
        "few_shot_attributes": [[s["pointer_attribute"], s["pointer_value"]] for s in examples],
        "scene_format": fmt,
        "input_str": build_prompt(task=record["task"], scene_text=record["scene_text"],
                                  fmt=fmt, pointer=pointer, target=target,
                                  question_text=record["question"],
                                  example_answer=record["answer"], shots=examples, cot=cot,
                                  choices=record["choices"]),
        "task": record["task"],
        "gold_reference": json.dumps({"answer": record["answer"]}),
        "linking_attributes": mate_linking_attributes(scene["objects"], gold, record["task"],
                                                      pointer, target),
        "id": record["id"],
    }


def write_mate_files(out: Path, records: dict[str, Iterable[dict[str, Any]]], roles: Roles,
                     fmt: str, precision: Precision, size: tuple[int, int],
                     coords: str) -> None:
    """Write OUT/mate/{setup}.jsonl for every setup and OUT/mate/img/, from each split's
    records (their scenes are read from OUT/scenes/)."""
    folder = out / "mate"
    images = folder / "img"
    images.mkdir(parents=True, exist_ok=True)
    _write_placeholder(images / f"{PLACEHOLDER_ID}.png", size)
    by_split: dict[str, list[tuple[dict, dict, str]]] = {}
    for split, lines in records.items():
        rows = by_split.setdefault(split, [])
        for record in lines:
            raw = (out / "scenes" / f"{record['scene_id']}.json").read_bytes()
            eid = example_id(raw)
            scene = mate_scene(json.loads(raw), f"{eid}.png", precision, coords)
            if record["image"] is not None:
                _link(out / record["image"], images / f"{eid}.png")
            rows.append((record, scene, eid))
    for stem, (split, shots, cot) in SETUPS.items():
        fsutil.write_lines(folder / f"{stem}.jsonl",
                           (json.dumps(mate_line(r, s, e, shots, cot, roles, fmt),
                                       ensure_ascii=False)
                            for r, s, e in by_split.get(split, [])))


def _link(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy where links are not possible)."""
    if target.exists():
        return
    tmp = fsutil.temp_name(target)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _write_placeholder(path: Path, size: tuple[int, int]) -> None:
    if not path.exists():
        width, height = size
        fsutil.write_bytes(path, png.encode(np.zeros((height, width, 3), np.uint8)))
