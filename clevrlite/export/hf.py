"""``--to hf``: a Hugging Face dataset of parquet shards with a dataset card.

DEST/data/{split}-0000k-of-0000n.parquet holds every instance field; ``image`` (the question's
image) and ``images`` (every image the prompt shows, in order) are Image features. Fields whose
JSON type varies from line to line (answer, pointer_value, precision, shots), and a suite's
``json_fields`` (the chain suite's choices), are JSON strings;
``ground_truth`` is what clevrlite's judge needs. DEST/README.md is the card, whose ``configs``
let ``datasets.load_dataset(DEST)`` find the splits; ``load_dataset("parquet",
data_files=...)`` reads the shards directly.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from clevrlite import __version__
from clevrlite.export.parquet import libraries, list_of, write_split
from clevrlite.export.source import (count, ground_truth, image_paths, image_record,
                                     instances, open_benchmark, split_files)
from clevrlite import fsutil
from clevrlite.bench.reader import BenchmarkInfo
from clevrlite.bench.registry import get_suite

TEXT = ("id", "scene_id", "split", "task", "pointer_attribute", "target_attribute",
        "target_object", "scene_text", "scene_format", "question", "prompt", "rationale",
        "condition", "absent_object", "lookalike", "text", "ground_truth")
INTEGER = ("object_count", "min_linking_size", "hops")


def _as_json(info: BenchmarkInfo, name: str) -> bool:
    """Whether field ``name`` is stored as JSON text in this suite's tables."""
    return name in get_suite(info.suite).json_fields


def features(info: BenchmarkInfo, sample: dict[str, Any]) -> Any:
    """The datasets Features of a suite's rows (``sample`` says which optional fields exist)."""
    datasets = libraries()[0]
    value, string = datasets.Value, datasets.Value("string")
    columns: dict[str, Any] = {"id": string, "split": string, "image": datasets.Image(),
                               "images": list_of(datasets.Image())}
    for name in sample:
        if name in ("image", "images"):
            continue
        if _as_json(info, name):
            columns[name] = string
        elif name in TEXT:
            columns[name] = string
        elif name in INTEGER:
            columns[name] = value("int32")
        elif name in ("choices", "image_only"):
            columns[name] = list_of(string)
        elif name == "linking_sets":
            columns[name] = list_of(list_of(string))
        elif name == "entities":
            columns[name] = list_of({"entity": string, "start": value("int32"),
                                     "end": value("int32"), "type": string,
                                     "box": list_of(value("int32")), "condition": string,
                                     "lookalike": string})
        else:
            columns[name] = string  # JSON, and any field a later version adds
    columns["ground_truth"] = string
    return datasets.Features(columns)


def row(src: Path, info: BenchmarkInfo, split: str, inst: dict[str, Any],
        names: list[str]) -> dict[str, Any]:
    """One table row of an instance: images as bytes, varying fields as JSON."""
    out: dict[str, Any] = {"split": split, "ground_truth": ground_truth(inst, info)}
    for name in names:
        if name in ("split", "ground_truth"):
            continue
        if name == "image":
            out[name] = image_record(src, inst["image"]) if inst.get("image") else None
        elif name == "images":
            out[name] = [image_record(src, p) for p in image_paths(inst)]
        elif not _as_json(info, name) and (
                name in TEXT or name in INTEGER
                or name in ("choices", "image_only", "linking_sets", "entities")):
            out[name] = inst.get(name)
        elif _as_json(info, name) and inst.get(name) is None:
            out[name] = None  # a suite's JSON field that this instance leaves empty
        else:
            out[name] = json.dumps(inst.get(name), ensure_ascii=False)
    return out


def card(info: BenchmarkInfo, counts: Counter, stats: dict[str, Any]) -> str:
    """The dataset card: its configs (splits and files) and what the benchmark is."""
    configs = "\n".join(f"  - split: {split}\n    path: data/{split}-*.parquet"
                        for split in counts)
    sizes = ", ".join(f"{n} {split}" for split, n in counts.items())
    return f"""---
configs:
- config_name: default
  data_files:
{configs}
license: cc-by-4.0
tags:
- clevrlite
- synthetic
- {info.suite}
---
# clevrlite {info.suite} benchmark

Made by clevrlite {__version__} (seed {stats.get('seed')}, precision {stats.get('precision')},
format {stats.get('format')}, {stats.get('shots')} worked examples from
{stats.get('shot_source', 'other_scenes').replace('_', ' ')}): {sizes} instances.

Each row is one instance: `prompt` is what the model reads, `images` every image it shows in
prompt order (`image` the question's own), `answer` the gold answer as JSON. Score answers with
`clevrlite score` on the benchmark directory, or judge one with
`clevrlite.scoring.rewards.reward(completion, json.loads(row["ground_truth"]))`.
"""


def export_hf(src: Path, dest: Path, split: str = "all") -> dict[str, int]:
    """Write the hf dataset of benchmark ``src`` into the (empty) ``dest``."""
    info = open_benchmark(src)
    stats = json.loads((src / "stats.json").read_text(encoding="utf-8"))
    counts: Counter = Counter()
    folder = dest / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in split_files(src, split).items():
        counts[name] = count(path)
        first = next(instances(path), {})
        names = list(dict.fromkeys(["id", "split", "image", "images", *first]))
        feats = features(info, dict.fromkeys(names))
        write_split(folder, name, instances(path), counts[name], feats,
                    lambda inst, name=name, names=names: row(src, info, name, inst, names))
    fsutil.write_text(dest / "README.md", card(info, counts, stats))
    return dict(counts)
