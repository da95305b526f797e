"""MATE-compatible dev files (`--mate-compat`), so MATE's own tooling reads our benchmarks.

MATE ships one jsonl file per prompting setup: mm_0shot, mm_1shot, mm_2shot, mm_2shot_cot for
the cross-modal split and um_0shot, um_1shot, um_2shot for the unimodal one, each line with its
field names. The prompts are rebuilt from our instance records with the first k examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from clevrlite.runs import fsutil
from clevrlite.bench.prompts import build_prompt

SETUPS = {  # file stem -> (split, shots, chain of thought)
    "mm_0shot": ("cross_modal", 0, False), "mm_1shot": ("cross_modal", 1, False),
    "mm_2shot": ("cross_modal", 2, False), "mm_2shot_cot": ("cross_modal", 2, True),
    "um_0shot": ("unimodal", 0, False), "um_1shot": ("unimodal", 1, False),
    "um_2shot": ("unimodal", 2, False),
}
SHOTS_NEEDED = 2


def mate_line(record: dict[str, Any], shots: int, cot: bool) -> dict[str, Any]:
    """One line of a MATE dev file for our instance ``record``."""
    examples = record["shots"][:shots]
    return {
        "example_id": record["id"],
        "image": record["image"],
        "scene": record["scene_text"],
        "key_attributes": record["linking_sets"][0] if record["linking_sets"] else ["3d_coords"],
        "object_count": record["object_count"],
        "target_attribute": record["target_attribute"],
        "pointer_attribute": record["pointer_attribute"],
        "few_shot_attributes": [[s["pointer_attribute"], s["target_attribute"]]
                                for s in examples],
        "scene_format": record["scene_format"],
        "input_str": build_prompt(task=record["task"], scene_text=record["scene_text"],
                                  fmt=record["scene_format"] or "json",
                                  pointer=record["pointer_attribute"],
                                  target=record["target_attribute"],
                                  question_text=record["question"],
                                  example_answer=record["answer"], shots=examples, cot=cot),
        "task": record["task"],
        "gold_reference": record["answer"],
    }


def write_mate_files(out: Path, records: dict[str, Iterable[dict[str, Any]]]) -> None:
    """Write OUT/mate/{setup}.jsonl for every setup, from the records of each split."""
    folder = out / "mate"
    folder.mkdir(exist_ok=True)
    by_split = {split: list(lines) for split, lines in records.items()}
    for stem, (split, shots, cot) in SETUPS.items():
        fsutil.write_lines(folder / f"{stem}.jsonl",
                           (json.dumps(mate_line(r, shots, cot), ensure_ascii=False)
                            for r in by_split[split]))
