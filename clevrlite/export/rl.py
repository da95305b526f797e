"""``--to verl`` and ``--to trl``: datasets for RL trainers, with clevrlite's rewards.

verl (checked against verl 0.8's RLHFDataset and reward managers): parquet with
``data_source`` ("clevrlite/<suite>"), ``prompt`` (chat messages whose content holds one
``<image>`` placeholder per image, in image order, before the prompt text), ``images``,
``ability``, ``reward_model`` ({"style": "rule", "ground_truth": JSON}) and ``extra_info``.
Set ``custom_reward_function.path`` to clevrlite/scoring/rewards.py and ``name`` to
``verl_compute_score``.

TRL (checked against TRL 1.10's GRPOTrainer): a conversational ``prompt`` (a user message whose
content is one {"type": "image"} per image, then the text), ``images``, and the columns the
reward reads (``ground_truth``, ``suite``, ``id``). Pass ``reward_funcs=trl_reward``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from clevrlite.export.parquet import libraries, list_of, write_split
from clevrlite.export.source import (count, ground_truth, image_paths, image_record,
                                     instances, open_benchmark, split_files)
from clevrlite.bench.reader import BenchmarkInfo
from clevrlite.bench.registry import get_suite



def _verl_features() -> Any:
    datasets = libraries()[0]
    string = datasets.Value("string")
    return datasets.Features({
        "data_source": string,
        "prompt": list_of({"role": string, "content": string}),
        "images": list_of(datasets.Image()),
        "ability": string,
        "reward_model": {"style": string, "ground_truth": string},
        "extra_info": {"id": string, "split": string, "index": datasets.Value("int64"),
                       "suite": string, "task": string,
                       "object_count": datasets.Value("int32")},
    })


def _verl_row(src: Path, info: BenchmarkInfo, split: str, index: int,
              inst: dict[str, Any]) -> dict[str, Any]:
    images = image_paths(inst)
    return {
        "data_source": f"clevrlite/{info.suite}",
        "prompt": [{"role": "user", "content": "<image>" * len(images) + inst["prompt"]}],
        "images": [image_record(src, p) for p in images],
        "ability": get_suite(info.suite).ability,
        "reward_model": {"style": "rule", "ground_truth": ground_truth(inst, info)},
        "extra_info": {"id": inst["id"], "split": split, "index": index, "suite": info.suite,
                       "task": inst["task"], "object_count": inst["object_count"]},
    }


def _trl_features() -> Any:
    datasets = libraries()[0]
    string = datasets.Value("string")
    part = {"type": string, "text": string}
    return datasets.Features({
        "prompt": list_of({"role": string, "content": list_of(part)}),
        "images": list_of(datasets.Image()),
        "ground_truth": string, "suite": string, "id": string, "task": string,
    })


def _trl_row(src: Path, info: BenchmarkInfo, split: str, index: int,
             inst: dict[str, Any]) -> dict[str, Any]:
    images = image_paths(inst)
    content = [{"type": "image", "text": None} for _ in images]
    content.append({"type": "text", "text": inst["prompt"]})
    return {"prompt": [{"role": "user", "content": content}],
            "images": [image_record(src, p) for p in images],
            "ground_truth": ground_truth(inst, info), "suite": info.suite, "id": inst["id"],
            "task": inst["task"]}


def export_rl(kind: str, src: Path, dest: Path, split: str = "all") -> dict[str, int]:
    """Write the verl or trl dataset of benchmark ``src`` into the (empty) ``dest``."""
    info = open_benchmark(src)
    counts: Counter = Counter()
    features, make = (_verl_features(), _verl_row) if kind == "verl" else \
        (_trl_features(), _trl_row)
    for name, path in split_files(src, split).items():
        counts[name] = count(path)
        # one file per split, so that a command naming it trains on the whole split
        write_split(dest, name, enumerate(instances(path)), counts[name], features,
                    lambda pair, name=name: make(src, info, name, pair[0], pair[1]),
                    sharded=False)
    (dest / "README.md").write_text(
        f"# clevrlite {info.suite} benchmark for {kind}\n\n"
        + (__doc__.split("\n\n")[1 if kind == "verl" else 2]) + "\n", encoding="utf-8")
    return dict(counts)


def decode_ground_truth(value: Any) -> dict[str, Any]:
    """An exported ground truth (a JSON string, or already a dict) as a dict."""
    return json.loads(value) if isinstance(value, str) else dict(value)
