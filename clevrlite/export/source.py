"""What every exporter reads: a benchmark's instances, their images, and what judging needs.

Instances are streamed split by split from the jsonl files, images read one at a time, so an
export's memory does not grow with the benchmark. ``ground_truth`` is the part of an instance
that clevrlite.scoring.rewards needs to judge an answer, as one JSON string: exports carry it
so that a harness or trainer can score with clevrlite alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

from clevrlite.errors import UsageError
from clevrlite.bench.reader import BenchmarkInfo, benchmark_info
from clevrlite.bench.registry import get_suite



def open_benchmark(src: Path) -> BenchmarkInfo:
    """The benchmark at ``src``; a usage error when it is not one."""
    if not (src / "stats.json").is_file():
        raise UsageError(f"{str(src)!r} is not a clevrlite benchmark (no stats.json); build one "
                         f"with `clevrlite benchmark`, or use --to coco for a render run")
    return benchmark_info(src)


def split_files(src: Path, split: str = "all") -> dict[str, Path]:
    """The instance file of each split asked for ("all": every split the benchmark has)."""
    files = open_benchmark(src).splits
    if split != "all" and split not in files:
        raise UsageError(f"{str(src)!r} has no {split} split; use one of "
                         f"{', '.join(files)} or all")
    chosen = files if split == "all" else {split: files[split]}
    missing = [f for f in chosen.values() if not (src / f).is_file()]
    if missing:
        raise UsageError(f"benchmark file {str(src / missing[0])!r} does not exist; is the "
                         f"benchmark complete?")
    return {name: src / f for name, f in chosen.items()}


def count(path: Path) -> int:
    """Instances in a split file (its non-blank lines)."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def instances(path: Path) -> Iterator[dict[str, Any]]:
    """The instances of one split file, read a line at a time (memory stays flat)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def ground_truth(inst: dict[str, Any], info: BenchmarkInfo) -> str:
    """What judging an answer to ``inst`` needs, as JSON (with the image size for boxes)."""
    kept = {k: inst[k] for k in get_suite(info.suite).judged_keys if k in inst}
    kept["suite"] = info.suite
    kept["image_size"] = [info.width, info.height]
    return json.dumps(kept, ensure_ascii=False)


def image_paths(inst: dict[str, Any]) -> list[str]:
    """Every image the prompt shows, in prompt order."""
    images = inst.get("images")
    if images is None:
        images = [inst["image"]] if inst.get("image") else []
    return list(images)


def image_record(src: Path, relative: str) -> dict[str, Any]:
    """An image as Hugging Face's Image feature stores it: its bytes and its file name."""
    return {"bytes": (src / relative).read_bytes(), "path": Path(relative).name}


def prepare_dest(dest: Path, overwrite: bool) -> None:
    """Make ``dest`` an empty directory: refuse a non-empty one unless ``overwrite``."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"--out {str(dest)!r} is a file; give a directory")
    if dest.is_dir() and any(dest.iterdir()):
        if not overwrite:
            raise UsageError(f"--out {str(dest)!r} is not empty; choose another directory or "
                             f"add --overwrite to replace what is there")
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    dest.mkdir(parents=True, exist_ok=True)
