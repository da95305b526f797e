"""``--to vlmevalkit``: VLMEvalKit's custom-dataset TSV (checked against VLMEvalKit 0.2rc1).

DEST/CLEVRLITE_<SUITE>.tsv has VLMEvalKit's columns ``index`` (an integer), ``image`` (the
base64 PNG, or for multi-image prompts the list of them, which VLMEvalKit reads with
``toliststr``), ``question`` (the whole prompt) and ``answer``, plus clevrlite's ``id``,
``split``, ``task``, ``object_count`` and ``ground_truth``. Put the file in $LMUData and run
VLMEvalKit with ``--data CLEVRLITE_<SUITE>``: with no A/B columns it loads as a custom VQA
dataset. Text-only instances (data2data) carry an all-black placeholder image, as MATE's do,
since VLMEvalKit drops rows without one. Its predictions file keeps ``id`` and adds
``prediction``, which ``clevrlite score`` reads after a one-line conversion (README).
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import numpy as np

from clevrlite import png
from clevrlite.export.source import (ground_truth, image_paths, instances, open_benchmark,
                                     split_files)

COLUMNS = ("index", "image", "question", "answer", "id", "split", "task", "object_count",
           "ground_truth")


def dataset_name(suite: str) -> str:
    return f"CLEVRLITE_{suite.upper()}"


def export_vlmevalkit(src: Path, dest: Path, split: str = "all") -> dict[str, int]:
    """Write the TSV of benchmark ``src`` into the (empty) ``dest``, streaming."""
    info = open_benchmark(src)
    placeholder = base64.b64encode(png.encode(np.zeros((info.height, info.width, 3),
                                                       np.uint8))).decode("ascii")
    counts: dict[str, int] = {}
    path = dest / f"{dataset_name(info.suite)}.tsv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(COLUMNS)
        pairs = ((name, inst) for name, path in split_files(src, split).items()
                 for inst in instances(path))
        for index, (name, inst) in enumerate(pairs):
            encoded = [base64.b64encode((src / p).read_bytes()).decode("ascii")
                       for p in image_paths(inst)]
            image = encoded[0] if len(encoded) == 1 else str(encoded) if encoded else placeholder
            writer.writerow([index, image, inst["prompt"],
                             json.dumps(inst["answer"], ensure_ascii=False), inst["id"], name,
                             inst["task"], inst["object_count"], ground_truth(inst, info)])
            counts[name] = counts.get(name, 0) + 1
    return counts
