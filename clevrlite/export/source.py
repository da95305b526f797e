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

from clevrlite import fsutil
from clevrlite.errors import UsageError
from clevrlite.bench.reader import BenchmarkInfo, benchmark_info
from clevrlite.bench.registry import get_suite

MARKER = ".clevrlite-export"  # in every --out an export wrote: --overwrite replaces only these



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
    """Make ``dest`` an empty directory marked as an export: refuse a non-empty one unless
    ``overwrite`` and an earlier export wrote it (fsutil.check_replaceable)."""
    fsutil.check_replaceable(dest, overwrite, MARKER, "export")
    clear(dest)
    dest.mkdir(parents=True, exist_ok=True)
    fsutil.write_text(dest / MARKER, "clevrlite export\n")


def clear(dest: Path) -> None:
    """Remove everything in ``dest`` (an export of ours, or one that failed half-way)."""
    for child in dest.iterdir() if dest.is_dir() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
