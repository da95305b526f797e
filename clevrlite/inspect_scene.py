"""`clevrlite inspect`: which values single out each object of a scene, and how to link it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from clevrlite.errors import UsageError
from clevrlite.solver import minimal_linking_sets, unique_values


def load_scene_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of a scene JSON file; one-line usage errors for unreadable files."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"scene file {str(path)!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"scene file {str(path)!r} is not readable JSON ({exc})") from None
    objects = data.get("objects") if isinstance(data, dict) else None
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise UsageError(f"scene file {str(path)!r} has no \"objects\" list; give a scene "
                         f"JSON written by clevrlite render or benchmark")
    return objects


def linking_for(task: str | None, pointer: str | None, target: str | None,
                attributes: Sequence[str]) -> list[str]:
    """The attributes linking sets are taken over: ``attributes`` as given, or for a task
    MATE's rule (what both modalities show, minus the target and what the text withholds)."""
    if task is None:
        return list(attributes)
    from clevrlite.bench.roles import CROSS_MODAL_TASKS, TASKS, linking_attributes

    if task not in TASKS:
        raise UsageError(f"--task {task!r} is not a task; use one of {', '.join(TASKS)}")
    if target is None or (task in CROSS_MODAL_TASKS and pointer is None):
        raise UsageError(f"--task {task} needs --target (and --pointer for cross-modal tasks): "
                         f"the rule drops the target and what the text withholds")
    return list(linking_attributes(task, pointer or "", target))


def describe(path: Path, attributes: Sequence[str], task: str | None = None,
             pointer: str | None = None, target: str | None = None) -> str:
    """A table: per object, its unique pointer values and its minimal linking sets (over
    ``attributes``, or by MATE's rule for ``task`` with ``pointer`` and ``target``)."""
    objects = load_scene_objects(path)
    unique_over = list(attributes)
    attributes = linking_for(task, pointer, target, attributes)
    missing = sorted({a for a in unique_over + attributes for o in objects if a not in o})
    if missing:
        raise UsageError(f"attribute {missing[0]!r} is not in every object of {str(path)!r}; "
                         f"choose from {', '.join(sorted(objects[0]))}")
    unique = {a: unique_values(objects, a) for a in unique_over}
    header = f"linking attributes: {', '.join(attributes) or '-'}"
    if task:
        header += (f" (MATE's rule for {task}: what both modalities show, minus the target "
                   f"and what the text withholds)")
    lines = [header]
    for i, obj in enumerate(objects):
        name = obj.get("name", f"Object_{i}")
        values = [f"{a}={obj[a]}" for a in unique_over if unique[a].get(_key(obj[a])) == i]
        sets = minimal_linking_sets(objects, i, attributes)
        linking = " | ".join("+".join(s) for s in sets) if sets else "none (coordinates only)"
        lines.append(f"{name}: unique {', '.join(values) or '-'}; minimal linking sets: "
                     f"{linking}")
    return "\n".join(lines)


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
