"""Reading a benchmark directory: what stats.json says of it, its instances, its scenes.

Scoring, baselines, exports and the model client read benchmarks through this module only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from clevrlite.bench.registry import DEFAULT, get_suite, suite_names
from clevrlite.bench.roles import shown_coords
from clevrlite.errors import UsageError

SPLIT_FILES = {"cross_modal": "cross_modal.jsonl", "unimodal": "unimodal.jsonl"}
# The keys every instance line has, by kind of answer (suites name theirs).
INSTANCE_KEYS = ("id", "scene_id", "task", "object_count", "pointer_attribute",
                 "target_attribute", "answer", "min_linking_size")
ENTITY_KEYS = ("id", "scene_id", "task", "object_count", "text", "entities", "answer")


def object_value(obj: dict[str, Any], attribute: str) -> Any:
    """An object's value of a benchmark attribute; "size" means the numeric scale."""
    if attribute == "size" and "scale" in obj:
        return obj["scale"]
    return obj.get(attribute)


@dataclass(frozen=True)
class BenchmarkInfo:
    """What stats.json says of a benchmark: suite, split files, image size, precision."""

    suite: str = DEFAULT  # its name; clevrlite.bench.registry.get_suite gives the suite
    splits: dict[str, str] = field(default_factory=lambda: dict(SPLIT_FILES))
    width: int = 480
    height: int = 320
    precision: Any = 2
    coords: str = "centre"  # how its texts show 3d_coords (benchmarks before wave 3: centre)
    seed: int | None = None


def benchmark_info(benchmark_dir: str | Path) -> BenchmarkInfo:
    """The benchmark's stats.json facts (MATE's defaults for a benchmark without them)."""
    path = Path(benchmark_dir) / "stats.json"
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return BenchmarkInfo()
    if not isinstance(stats, dict):
        return BenchmarkInfo()
    suite = stats.get("suite", DEFAULT)
    if suite not in suite_names():
        raise UsageError(f"{path}: unknown suite {suite!r}; rebuild the benchmark with this "
                         f"clevrlite version")
    return BenchmarkInfo(suite, dict(stats.get("splits") or SPLIT_FILES),
                         int(stats.get("width", 480)), int(stats.get("height", 320)),
                         stats.get("precision", 2), stats.get("coords", "centre"),
                         stats.get("seed"))


def fingerprint(benchmark_dir: str | Path) -> str:
    """The name of a benchmark that predictions files carry (``baseline``, ``predict`` and the
    human page write it; ``score`` and ``report`` check it): ``{suite}-seed{seed}-`` and 12 hex
    digits of the sha256 of its split files (names and bytes, in the order stats.json lists
    them). A copy, or a rebuild with the same options, has the same; a build that changes any
    instance has another."""
    root = Path(benchmark_dir)
    info = benchmark_info(root)
    digest = hashlib.sha256()
    for name, filename in info.splits.items():
        path = root / filename
        if not path.is_file():
            continue
        digest.update(f"{name}\0{filename}\0".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    seed = [f"seed{info.seed}"] if info.seed is not None else []
    return "-".join([info.suite, *seed, digest.hexdigest()[:12]])


def load_instances(benchmark_dir: str | Path, split: str = "all") -> dict[str, list[dict]]:
    """Instances of a benchmark split ("all": every split file present), keyed by split name."""
    root = Path(benchmark_dir)
    if not root.is_dir():
        raise UsageError(f"benchmark directory {str(root)!r} does not exist; give a folder "
                         f"that `clevrlite benchmark` wrote")
    info = benchmark_info(root)
    files = info.splits
    if split != "all" and split not in files:
        raise UsageError(f"the {info.suite} benchmark {str(root)!r} has no {split} split; use "
                         f"one of {', '.join(files)} or all")
    wanted = [split] if split in files else list(files)
    present = [name for name in wanted if (root / files[name]).is_file()]
    if not present:
        missing = root / files[wanted[0]]
        raise UsageError(f"benchmark file {str(missing)!r} does not exist; "
                         f"is {str(root)!r} a clevrlite benchmark directory?")
    keys = get_suite(info.suite).required_keys
    loaded = {name: _read_instances(root / files[name], keys) for name in present}
    seen: dict[str, str] = {}
    for name, instances in loaded.items():
        for inst in instances:
            if inst["id"] in seen:
                raise UsageError(f"{root}: instance id {inst['id']!r} occurs in both "
                                 f"{files[seen[inst['id']]]} and {files[name]}")
            seen[inst["id"]] = name
    return loaded


def _read_instances(path: Path, keys: tuple[str, ...]) -> list[dict]:
    instances, ids = [], set()
    for lineno, obj in json_lines(path):
        missing = [key for key in keys if key not in obj]
        if missing:
            raise UsageError(f"{path}:{lineno}: benchmark instance has no {missing[0]!r} key")
        if not isinstance(obj["object_count"], int) or isinstance(obj["object_count"], bool):
            raise UsageError(f"{path}:{lineno}: \"object_count\" must be an integer")
        obj["id"] = str(obj["id"])
        if obj["id"] in ids:
            raise UsageError(f"{path}:{lineno}: duplicate instance id {obj['id']!r}")
        ids.add(obj["id"])
        instances.append(obj)
    return instances


def json_lines(path: Path) -> Iterable[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines file."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"file {str(path)!r} does not exist; check the path") from None
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    with handle:
        try:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{path}:{lineno}: not a JSON line ({exc.msg} at column "
                                     f"{exc.colno}); the file must hold one JSON object per "
                                     f"line") from None
                if not isinstance(obj, dict):
                    raise UsageError(f"{path}:{lineno}: expected a JSON object, got "
                                     f"{type(obj).__name__}")
                yield lineno, obj
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not UTF-8 text; is it a JSON-lines file?") from None


class SceneCache:
    """Scene JSON files of a benchmark, read once each and only when needed."""

    def __init__(self, benchmark_dir: str | Path) -> None:
        self.root = Path(benchmark_dir)
        self.coords = benchmark_info(self.root).coords
        self._scenes: dict[str, dict] = {}

    def objects(self, scene_id: str) -> list[dict]:
        """The object dicts of a scene, ``3d_coords`` as the benchmark's texts show them."""
        if scene_id not in self._scenes:
            path = self.root / "scenes" / f"{scene_id}.json"
            try:
                scene = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise UsageError(f"scene file {str(path)!r} does not exist; the benchmark "
                                 f"directory is incomplete") from None
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read scene file {str(path)!r}: {exc}") from None
            if not isinstance(scene, dict) or not isinstance(scene.get("objects"), list):
                raise UsageError(f"scene file {str(path)!r} has no \"objects\" list")
            for obj in scene["objects"]:
                if isinstance(obj, dict) and isinstance(obj.get("3d_coords"), list):
                    obj["3d_coords"] = shown_coords(obj["3d_coords"], self.coords)
            self._scenes[scene_id] = scene
        return self._scenes[scene_id]["objects"]


__all__ = ["BenchmarkInfo", "SceneCache", "benchmark_info", "json_lines", "load_instances",
           "object_value"]
