"""``--to lmms-eval``: an lmms-eval task folder (lmms-eval 0.7's YAML task format).

DEST/clevrlite_<suite>/ holds the data as Hugging Face parquet (data/), one task YAML per split
(task ``clevrlite_<suite>_<split>``) and utils.py, whose hooks come from
clevrlite.export.lmms_hooks. The YAML names its data relative to DEST (``datasets`` resolves
it against the working directory), so the folder still works after it moves: run
``cd DEST && lmms-eval --include_path clevrlite_<suite> --tasks clevrlite_<suite>_<split> ...``.
"""

from __future__ import annotations

from pathlib import Path

from clevrlite.bench.registry import get_suite
from clevrlite.export.hf import export_hf
from clevrlite.export.source import open_benchmark

UTILS = '''"""Hooks of the clevrlite task, from clevrlite (pip install -e . in its clone)."""

from clevrlite.export.lmms_hooks import (aggregate_f1, aggregate_mean, doc_to_target,
                                         doc_to_text, doc_to_visual, process_results)

__all__ = ["aggregate_f1", "aggregate_mean", "doc_to_target", "doc_to_text", "doc_to_visual",
           "process_results"]
'''


def task_yaml(task: str, data: str, split: str, corpus_f1: bool) -> str:
    """One task's YAML: the split's parquet shards, the hooks, clevrlite's metrics (with the
    corpus F1 where the suite has one)."""
    f1 = ("  - metric: clevrlite_gmner_f1\n    aggregation: !function utils.aggregate_f1\n"
          "    higher_is_better: true\n") if corpus_f1 else ""
    return f"""task: {task}
dataset_path: parquet
dataset_kwargs:
  data_files:
    {split}: {data}/{split}-*.parquet
test_split: {split}
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: !function utils.doc_to_target
generation_kwargs:
  max_new_tokens: {1024 if corpus_f1 else 512}
  temperature: 0
  do_sample: false
process_results: !function utils.process_results
metric_list:
  - metric: clevrlite_accuracy
    aggregation: !function utils.aggregate_mean
    higher_is_better: true
  - metric: clevrlite_reward
    aggregation: !function utils.aggregate_mean
    higher_is_better: true
{f1}lmms_eval_specific_kwargs:
  default:
    pre_prompt: ""
    post_prompt: ""
metadata:
  - version: 1.0
"""


def export_lmms_eval(src: Path, dest: Path, split: str = "all") -> dict[str, int]:
    """Write the task folder of benchmark ``src`` into the (empty) ``dest``."""
    info = open_benchmark(src)
    folder = dest / f"clevrlite_{info.suite}"
    counts = export_hf(src, folder, split)
    data = f"{folder.name}/data"  # relative to DEST (module docstring)
    for name in counts:
        task = f"clevrlite_{info.suite}_{name}"
        (folder / f"{task}.yaml").write_text(task_yaml(task, data, name,
                                                       get_suite(info.suite).corpus_f1),
                                             encoding="utf-8")
    (folder / "utils.py").write_text(UTILS, encoding="utf-8")
    return counts
