"""The report's curves: accuracy against object count (per task), against the minimal
linking-set size and against the attributes that link, the out-of-scene error rate, and for
the grounding and gmner suites their conditions and biases.

Every value comes from a model's scorer report (``Report.to_dict()`` or its cells), except
the linking-attribute curve, which the scorer has no breakdown for: it counts the scorer's own
per-instance outcomes over the instances an attribute can link (the attribute is in one of the
instance's minimal linking sets; "coords" where only coordinates link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from clevrlite.report.models import Model
from clevrlite.report.svg import Series, bar_chart, colour, line_chart
from clevrlite.scoring.chain import ChainReport
from clevrlite.scoring.entities import EntityReport

ATTRIBUTE_ORDER = ("color", "shape", "material", "size")


@dataclass(frozen=True)
class Curve:
    """One chart: its file name under curves/, a caption, and the SVG text."""

    filename: str
    caption: str
    svg: str


def _series(models: Sequence[Model], values: Iterable[dict[str, float | None]]) -> list[Series]:
    return [Series(m.name, colour(i), v) for i, (m, v) in enumerate(zip(models, values))]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def breakdown_order(keys: Iterable[str]) -> list[str]:
    """Keys as the scorer orders breakdowns: numbers first, numerically, then the rest in the
    order first seen."""
    seen = list(dict.fromkeys(keys))
    numeric = sorted((k for k in seen if k.lstrip("-").isdigit()), key=int)
    return numeric + [k for k in seen if not k.lstrip("-").isdigit()]


def linking_attribute_cells(instances: Sequence[dict[str, Any]],
                            outcomes: dict[str, str]) -> dict[str, list[int]]:
    """[correct, total] by linking attribute over the scored instances of ``outcomes``: an
    instance counts for every attribute in one of its minimal linking sets ("coords" when it
    has none); absent objects link nothing and are left out."""
    cells: dict[str, list[int]] = {}
    for inst in instances:
        outcome = outcomes.get(inst["id"])
        if outcome is None or "linking_sets" not in inst:
            continue
        if inst.get("condition") in ("absent", "absent_lookalike"):
            continue
        sets = inst.get("linking_sets") or []
        attributes = sorted({a for s in sets for a in s}) or ["coords"]
        for attribute in attributes:
            cell = cells.setdefault(attribute, [0, 0])
            cell[0] += outcome == "correct"
            cell[1] += 1
    rank = {a: i for i, a in enumerate(ATTRIBUTE_ORDER)}
    return dict(sorted(cells.items(), key=lambda kv: (
        kv[0] == "coords", rank.get(kv[0], len(rank)), kv[0])))


def curves(models: Sequence[Model], instances: Sequence[dict[str, Any]]) -> list[Curve]:
    """Every chart the report shows, for the suite the models were scored on."""
    if isinstance(models[0].report, EntityReport):
        return _entity_curves(models)
    if isinstance(models[0].report, ChainReport):
        return _chain_curves(models)
    out: list[Curve] = []
    tasks = list(dict.fromkeys(t for m in models for t in m.report.by_task_object_count))
    for task in tasks:
        values = [{str(n): round(c.accuracy, 2) for n, c in
                   m.report.by_task_object_count.get(task, {}).items()} for m in models]
        xs = breakdown_order(k for v in values for k in v)
        out.append(Curve(f"accuracy_by_object_count_{_safe(task)}.svg",
                         f"{task}: accuracy against the number of objects in the scene",
                         line_chart(f"{task}: accuracy by object count", "objects in scene",
                                    "accuracy (%)", xs, _series(models, values))))
    values = [m.scores["by_object_count"] for m in models]
    out.append(Curve("accuracy_by_object_count.svg",
                     "All tasks: accuracy against the number of objects",
                     line_chart("all tasks: accuracy by object count", "objects in scene",
                                "accuracy (%)", breakdown_order(k for v in values for k in v),
                                _series(models, values))))
    values = [m.scores["by_min_linking_size"] for m in models]
    out.append(Curve("accuracy_by_min_linking_size.svg",
                     "Accuracy against the size of the smallest linking set (coords: only "
                     "coordinates link; absent: the object is not in the image)",
                     bar_chart("accuracy by minimal linking-set size", "smallest linking set",
                               "accuracy (%)", breakdown_order(k for v in values for k in v),
                               _series(models, values))))
    cells = [linking_attribute_cells(instances, m.report.outcomes) for m in models]
    values = [{a: round(100.0 * c / n, 2) if n else 0.0 for a, (c, n) in cell.items()}
              for cell in cells]
    attributes = list(dict.fromkeys(a for cell in cells for a in cell))
    if attributes:
        out.append(Curve("accuracy_by_linking_attribute.svg",
                         "Accuracy of the instances each attribute can link (it is in one of "
                         "their minimal linking sets)",
                         bar_chart("accuracy by linking attribute", "attribute that links",
                                   "accuracy (%)", attributes, _series(models, values))))
    if any(m.scores.get("by_condition") for m in models):
        values = [m.scores.get("by_condition", {}) for m in models]
        out.append(Curve("accuracy_by_condition.svg",
                         "Accuracy by condition (grounded: the object is in the image)",
                         bar_chart("accuracy by condition", "condition", "accuracy (%)",
                                   breakdown_order(k for v in values for k in v),
                                   _series(models, values))))
    values = [{"out of scene": m.scores["ose"]} for m in models]
    out.append(Curve("out_of_scene_errors.svg",
                     "Out-of-scene errors: wrong answers that are no object's value",
                     bar_chart("out-of-scene error rate", "", "% of wrong answers",
                               ["out of scene"], _series(models, values))))
    return out


def _entity_curves(models: Sequence[Model]) -> list[Curve]:
    values = [m.scores["by_object_count"] for m in models]
    out = [Curve("gmner_f1_by_object_count.svg",
                 "GMNER F1 against the number of objects in the scene",
                 line_chart("GMNER F1 by object count", "objects in scene", "F1 (%)",
                            breakdown_order(k for v in values for k in v),
                            _series(models, values)))]
    values = [m.scores["by_condition"] for m in models]
    out.append(Curve("entities_matched_by_condition.svg",
                     "Gold entities matched, by condition",
                     bar_chart("entities matched by condition", "condition", "matched (%)",
                               breakdown_order(k for v in values for k in v),
                               _series(models, values))))
    values = [{"textual bias": m.scores["textual_bias"]["rate"]} for m in models]
    out.append(Curve("textual_bias.svg",
                     "Textual bias: absent entities given a box",
                     bar_chart("textual bias", "", "% of absent entities", ["textual bias"],
                               _series(models, values))))
    return out


def _chain_curves(models: Sequence[Model]) -> list[Curve]:
    out = []
    for field, filename, caption, title, axis, chart in (
            ("by_object_count", "accuracy_by_object_count.svg",
             "Accuracy against the number of objects in the scene",
             "accuracy by object count", "objects in scene", line_chart),
            ("by_hops", "accuracy_by_hops.svg", "Accuracy against the number of hops",
             "accuracy by hop count", "hops", bar_chart),
            ("by_pattern", "accuracy_by_pattern.svg",
             "Accuracy by modality pattern (I: image, T: text)",
             "accuracy by modality pattern", "pattern", bar_chart)):
        values = [m.scores[field] for m in models]
        out.append(Curve(filename, caption,
                         chart(title, axis, "accuracy (%)",
                               breakdown_order(k for v in values for k in v),
                               _series(models, values))))
    return out


__all__ = ["Curve", "breakdown_order", "curves", "linking_attribute_cells"]
