"""``--to twitter-gmner``: a gmner benchmark in the layout of the Twitter-GMNER release.

The field's GMNER code (the H-Index release of Twitter-GMNER, E2E-GMNER, RiVEG) reads:

- ``txt/{train,dev,test}.txt``: CoNLL style, one block per tweet: a line ``IMGID:<id>``, then
  one ``token<TAB>tag`` line per token with BIO tags (``B-PER``, ``I-PER``, ``O``), then a blank
  line. Every line ends with a newline (their readers cut the last character off);
- ``xml/<id>.xml``: Pascal VOC, one ``<object>`` per grounded entity, named by the entity's
  surface string, with its ``<bndbox>`` in pixels (xmin, ymin, xmax, ymax); an image whose
  entities are all ungroundable has no XML, as in the release;
- ``images/<id>.jpg``: the images (the release's names end in .jpg; ours are PNG bytes under
  ``<id>.png`` too).

Their code knows Twitter's four entity types, so the shapes are written as those:
``types.json`` gives the mapping (the vocabulary's first four shapes, in order, as PER, LOC,
ORG and OTHER); a vocabulary with more than four shapes cannot be exported. A clevrlite
benchmark has one split: its instances are dealt into ``train.txt``, ``dev.txt`` and
``test.txt`` (80/10/10 by a hash of the instance id, the same in every export), since the
field's loaders read all three and must not train on what they test on; ``all.txt`` holds
every instance, to evaluate on the whole benchmark.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

from PIL import Image

from clevrlite import fsutil
from clevrlite.errors import UsageError
from clevrlite.export.source import instances, open_benchmark, split_files

TWITTER_TYPES = ("PER", "LOC", "ORG", "OTHER")
TOKEN = re.compile(r"\w+|[^\w\s]")
SHARES = (("train", 80), ("dev", 10), ("test", 10))  # percent of the instances


def type_names(shapes: list[str]) -> dict[str, str]:
    """Each shape's Twitter type, in vocabulary order; a usage error past four shapes."""
    if len(shapes) > len(TWITTER_TYPES):
        raise UsageError(f"--to twitter-gmner: the vocabulary has {len(shapes)} shapes, and "
                         f"Twitter-GMNER's code knows {len(TWITTER_TYPES)} entity types; "
                         f"export a benchmark with at most four shapes")
    return dict(zip(shapes, TWITTER_TYPES))


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) for every word and punctuation mark of a passage."""
    return [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def conll_block(inst: dict[str, Any], types: dict[str, str]) -> str:
    """One tweet's block: the IMGID line and a token and BIO tag per line (the blank line that
    ends it is the writer's)."""
    starts = {e["start"]: e for e in inst["entities"]}
    lines = [f"IMGID:{inst['id']}"]
    inside: tuple[str, int] | None = None
    for token, start, end in tokens(inst["text"]):
        entity = starts.get(start)
        if entity is not None:
            kind = types[entity["type"]]
            lines.append(f"{token}\tB-{kind}")
            inside = (kind, entity["end"]) if end < entity["end"] else None
        elif inside is not None and start < inside[1]:
            lines.append(f"{token}\tI-{inside[0]}")
            inside = inside if end < inside[1] else None
        else:
            lines.append(f"{token}\tO")
    return "\n".join(lines) + "\n"  # the writer ends it with the blank line


def voc_xml(inst: dict[str, Any], width: int, height: int) -> str | None:
    """The image's Pascal VOC annotation (None when no entity is grounded)."""
    grounded = [e for e in inst["entities"] if e["box"] is not None]
    if not grounded:
        return None
    objects = "".join(
        f"\t<object>\n\t\t<name>{e['entity']}</name>\n\t\t<pose>Unspecified</pose>\n"
        f"\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n\t\t<bndbox>\n"
        f"\t\t\t<xmin>{e['box'][0]}</xmin>\n\t\t\t<ymin>{e['box'][1]}</ymin>\n"
        f"\t\t\t<xmax>{e['box'][2]}</xmax>\n\t\t\t<ymax>{e['box'][3]}</ymax>\n"
        f"\t\t</bndbox>\n\t</object>\n" for e in grounded)
    return (f"<annotation>\n\t<folder>images</folder>\n\t<filename>{inst['id']}.jpg</filename>\n"
            f"\t<source>\n\t\t<database>clevrlite</database>\n\t</source>\n\t<size>\n"
            f"\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n"
            f"\t</size>\n\t<segmented>0</segmented>\n{objects}</annotation>\n")


def export_twitter_gmner(src: Path, dest: Path, split: str = "all") -> dict[str, int]:
    """Write the Twitter-GMNER layout of gmner benchmark ``src`` into the (empty) ``dest``."""
    info = open_benchmark(src)
    files = split_files(src, split)
    if "gmner" not in files:
        raise UsageError(f"--to twitter-gmner needs a gmner benchmark; {str(src)!r} is a "
                         f"{info.suite} benchmark (build one with --suite gmner)")
    stats = json.loads((src / "stats.json").read_text(encoding="utf-8"))
    types = type_names(list(stats["vocabulary"]["shapes"]))
    for folder in ("txt", "xml", "images"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[str]] = {name: [] for name, _ in SHARES}

    def blocks() -> Iterator[str]:
        for inst in instances(files["gmner"]):
            xml = voc_xml(inst, info.width, info.height)
            if xml is not None:
                fsutil.write_text(dest / "xml" / f"{inst['id']}.xml", xml)
            _images(src / inst["image"], dest / "images", inst["id"])
            block = conll_block(inst, types)
            parts[part_of(inst["id"])].append(block)
            yield block

    fsutil.write_lines(dest / "txt" / "all.txt", blocks())
    for name, blocks_of_part in parts.items():
        fsutil.write_lines(dest / "txt" / f"{name}.txt", blocks_of_part)
    fsutil.write_json(dest / "types.json", {kind: shape for shape, kind in types.items()},
                      indent=2)
    return {name: len(blocks_of_part) for name, blocks_of_part in parts.items()}


def part_of(instance_id: str) -> str:
    """Which of train, dev and test an instance goes to: a hash of its id, 80/10/10."""
    bucket = int(hashlib.sha256(instance_id.encode()).hexdigest(), 16) % 100
    for name, percent in SHARES:
        if bucket < percent:
            return name
        bucket -= percent
    return SHARES[-1][0]


def _images(png: Path, folder: Path, name: str) -> None:
    """The image as ``name.png`` (its bytes) and ``name.jpg`` (JPEG, as the release names)."""
    shutil.copyfile(png, folder / f"{name}.png")
    with Image.open(png) as image:
        image.convert("RGB").save(folder / f"{name}.jpg", quality=95)
