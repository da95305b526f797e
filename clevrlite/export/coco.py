"""``--to coco``: COCO instance annotations of a render run (or a benchmark's scenes).

DEST/annotations/instances.json is COCO's instance format: ``images`` (id, file_name, width,
height), ``categories`` (one per shape, supercategory "shape"; ids fixed by the vocabulary:
clevrlite's default shapes always 1, 2, 3 in their vocabulary order, shapes a properties file
adds after them in its order, so a detector trained on one export scores on another) and one
annotation per object
the image shows, with its mask as compressed RLE (pycocotools' encoding of the instance mask),
``bbox`` as [x, y, width, height], ``area`` (its pixel count), ``iscrowd`` 0, and the object's
other attributes (name, color, material, size, 3d_coords, rotation, user attributes).
DEST/images/ holds the images (hard links where possible). Scenes are read one at a time and
the JSON streamed, so memory stays flat.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from clevrlite import __version__
from clevrlite.errors import UsageError, needs_extra
from clevrlite import fsutil
from clevrlite.scene import ANNOTATION_KEYS

NEEDS_COCO = needs_extra("--to coco needs pycocotools", "coco")


def _mask_api() -> Any:
    try:
        from pycocotools import mask
    except ImportError:
        raise UsageError(NEEDS_COCO) from None
    return mask


def _scene_files(src: Path) -> list[Path]:
    scenes = sorted((src / "scenes").glob("*.json")) if (src / "scenes").is_dir() else []
    if not scenes or not (src / "masks").is_dir():
        raise UsageError(f"{str(src)!r} has no scenes/ and masks/; give the --out folder of "
                         f"`clevrlite render` (or of `clevrlite benchmark`)")
    return scenes


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def category_ids(src: Path) -> dict[str, int]:
    """COCO category id of every shape: the default vocabulary's shapes first, in its order,
    then the run's other shapes in the order its vocabulary (manifest.json) lists them."""
    from clevrlite.vocab import load_vocabulary

    names = list(load_vocabulary().shapes)
    try:
        manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
        names += list(manifest["options"]["vocabulary"]["shapes"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # a run without a manifest: its scenes' shapes are added as they come
    return {name: k for k, name in enumerate(dict.fromkeys(names), 1)}


def export_coco(src: Path, dest: Path, split: str = "all") -> dict[str, int]:
    """Write COCO annotations of every rendered scene of ``src`` into the (empty) ``dest``."""
    rle = _mask_api()
    scenes = _scene_files(src)
    shapes = category_ids(src)
    images_dir = dest / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    (dest / "annotations").mkdir(exist_ok=True)
    counts = {"images": 0, "annotations": 0}
    image_rows: list[str] = []

    def annotations() -> Iterator[str]:
        next_id = 1
        for image_id, path in enumerate(scenes, 1):
            scene = json.loads(path.read_text(encoding="utf-8"))
            mask_path = src / "masks" / scene["mask_filename"]
            if not mask_path.is_file():
                continue  # a text-only benchmark scene
            mask = np.asarray(Image.open(mask_path))
            _link(src / "images" / scene["image_filename"], images_dir / scene["image_filename"])
            image_rows.append(json.dumps({"id": image_id, "file_name": scene["image_filename"],
                                          "width": scene["width"], "height": scene["height"]}))
            counts["images"] += 1
            for obj in scene["objects"]:
                binary = np.asfortranarray(mask == obj["mask_id"], dtype=np.uint8)
                area = int(binary.sum())
                if not obj.get("drawn", True) or not area:
                    continue
                encoded = rle.encode(binary)
                x1, y1, x2, y2 = obj["bbox"]
                category = shapes.setdefault(obj["shape"], len(shapes) + 1)
                extra = {k: v for k, v in obj.items()
                         if k not in ANNOTATION_KEYS and k not in ("shape", "pixel_coords")}
                yield json.dumps({
                    "id": next_id, "image_id": image_id, "category_id": category,
                    "segmentation": {"size": [int(s) for s in encoded["size"]],
                                     "counts": encoded["counts"].decode("ascii")},
                    "area": area, "bbox": [x1, y1, x2 - x1, y2 - y1], "iscrowd": 0,
                    "pixel_coords": obj.get("pixel_coords"), **extra}, ensure_ascii=False)
                next_id += 1
                counts["annotations"] += 1

    parts = dest / "annotations" / ".annotations.part"
    fsutil.write_lines(parts, annotations())  # streamed; images and categories come after
    info = {"description": f"clevrlite scenes from {src.name}",
            "version": f"clevrlite {__version__}", "year": 2026}

    def document() -> Iterator[str]:
        yield '{"info": ' + json.dumps(info) + ', "licenses": [], "images": ['
        yield ",\n".join(image_rows)
        yield '], "categories": ' + json.dumps(
            [{"id": i, "name": name, "supercategory": "shape"} for name, i in shapes.items()])
        yield ', "annotations": ['
        with open(parts, encoding="utf-8") as fh:
            first = True
            for line in fh:
                yield ("" if first else ",") + line.rstrip("\n")
                first = False
        yield "]}"

    fsutil.write_lines(dest / "annotations" / "instances.json", document())
    parts.unlink()
    return counts
