"""The report's tables, as HTML: every model side by side, each figure exactly what
`clevrlite score --json` prints for its file.

Each figure cell names where it comes from: ``data-key`` is its path in ``score --json``
(``by_task/img2data``, ``gmner/f1``), or ``split:NAME`` for a split's accuracy over all its
tasks, which is what ``score --split NAME --json`` prints as ``overall``: the sum of the
scorer's own per-task counts, for files that cover several splits. Tests compare every cell
with the scorer through these keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any, Sequence

from clevrlite.bench.suite import Split
from clevrlite.report.curves import breakdown_order
from clevrlite.report.models import Model
from clevrlite.scoring.chain import ChainReport
from clevrlite.scoring.entities import EntityReport

DASH = "—"


@dataclass(frozen=True)
class Column:
    """A table column: its heading and the figure's key in score --json."""

    heading: str
    key: str


def lookup(scores: dict[str, Any], key: str) -> Any:
    """The value at a path of a score --json dict, parts joined by "/" (None when absent)."""
    value: Any = scores
    for part in key.split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def split_accuracy(model: Model, split: Split) -> float | None:
    """Accuracy over a split's tasks from the scorer's per-task counts: what
    ``score --split NAME --json`` prints as overall (None when the file covers none)."""
    cells = [model.report.by_task[t] for t in split.tasks if t in model.report.by_task]
    total = sum(c.total for c in cells)
    return round(100.0 * sum(c.correct for c in cells) / total, 2) if total else None


def figure(model: Model, key: str, splits: Sequence[Split] = ()) -> Any:
    """The figure a cell shows for ``model``."""
    if key.startswith("split:"):
        wanted = key.split(":", 1)[1]
        split = next((s for s in splits if s.name == wanted), None)
        return split_accuracy(model, split) if split is not None else None
    return lookup(model.scores, key)


def _cell(model: Model, column: Column, splits: Sequence[Split]) -> str:
    value = figure(model, column.key, splits)
    shown = DASH if value is None else json.dumps(value)
    return (f'<td data-model="{escape(model.name)}" data-key="{escape(column.key)}" '
            f'data-value="{escape(json.dumps(value))}">{escape(shown)}</td>')


def model_label(model: Model) -> str:
    """A model's name as its table rows show it, with a badge when its file is partial."""
    badge = (f' <span class="badge partial" title="missing ids count as wrong, as score '
             f'counts them">partial: {model.answered} of {model.total} answered</span>'
             if model.partial else "")
    return (f'<span class="model-name" title="{escape(str(model.path))}">'
            f'{escape(model.name)}</span>{badge}')


def models_table(title: str, note: str, models: Sequence[Model], columns: Sequence[Column],
                 splits: Sequence[Split] = ()) -> str:
    """A table with a row per model and a column per figure."""
    head = "".join(f"<th>{escape(c.heading)}</th>" for c in columns)
    rows = "".join(f"<tr><th scope=\"row\">{model_label(m)}</th>"
                   + "".join(_cell(m, c, splits) for c in columns) + "</tr>" for m in models)
    return (f'<section class="table"><h3>{escape(title)}</h3>'
            + (f'<p class="note">{escape(note)}</p>' if note else "")
            + f'<table><thead><tr><th>model</th>{head}</tr></thead><tbody>{rows}</tbody>'
              f'</table></section>')


def breakdown_table(title: str, note: str, models: Sequence[Model], field: str,
                    heading: str) -> str:
    """A table with a row per key of the ``field`` breakdown and a column per model."""
    keys = breakdown_order(k for m in models for k in (m.scores.get(field) or {}))
    if not keys:
        return ""
    head = "".join(f"<th>{model_label(m)}</th>" for m in models)
    rows = "".join(
        f"<tr><th scope=\"row\">{escape(k)}</th>"
        + "".join(_cell(m, Column(k, f"{field}/{k}"), ()) for m in models) + "</tr>"
        for k in keys)
    return (f'<section class="table"><h3>{escape(title)}</h3>'
            + (f'<p class="note">{escape(note)}</p>' if note else "")
            + f'<table><thead><tr><th>{escape(heading)}</th>{head}</tr></thead>'
              f'<tbody>{rows}</tbody></table></section>')


def tables(models: Sequence[Model], splits: Sequence[Split]) -> str:
    """Every table for the models' suite, as one HTML fragment."""
    if isinstance(models[0].report, EntityReport):
        return _entity_tables(models)
    if isinstance(models[0].report, ChainReport):
        return _chain_tables(models)
    parts = []
    for split in splits:
        tasks = [t for t in split.tasks if any(t in m.scores["by_task"] for m in models)]
        if not tasks:
            continue
        name = split.name.replace("_", "-")
        columns = [Column(t, f"by_task/{t}") for t in tasks]
        columns.append(Column(f"{name} (all)", f"split:{split.name}"))
        parts.append(models_table(f"{name}: accuracy by task (%)",
                                  f"The {name} split; “{name} (all)” is the accuracy over all "
                                  f"its instances, as `score --split {split.name}` gives it.",
                                  models, columns, splits))
    covered = [s for s in splits if any(split_accuracy(m, s) is not None for m in models)]
    columns = [Column(f"{s.name.replace('_', '-')} (all)", f"split:{s.name}") for s in covered]
    columns += [Column("overall", "overall"), Column("OSE", "ose"), Column("n", "n"),
                Column("missing", "missing"), Column("unparseable", "unparseable")]
    parts.append(models_table(
        "Overall and out-of-scene errors",
        "Overall: every instance of the splits a file answers (missing ids count as wrong). "
        "OSE: the share of wrong answers that are no object's value in the scene (%).",
        models, columns, splits))
    if any(m.report.grounded for m in models):
        parts.append(models_table(
            "Boxes and absent objects",
            "Acc@0.5: box answers with IoU at the threshold; textual bias: absent objects "
            "answered with a value or a box (%); null P/R/F1: the decision that the object is "
            "not in the image.", models,
            [Column("Acc@0.5", "acc_at_0.5"), Column("mean IoU", "mean_iou"),
             Column("box answers", "box_answers"), Column("textual bias", "textual_bias"),
             Column("null P", "null_precision"), Column("null R", "null_recall"),
             Column("null F1", "null_f1"), Column("malformed boxes", "malformed_boxes")]))
        parts.append(breakdown_table("Accuracy by condition (%)", "", models, "by_condition",
                                     "condition"))
        parts.append(breakdown_table("Accuracy by scene format (%)", "", models, "by_format",
                                     "format"))
    parts.append(breakdown_table("Accuracy by object count (%)", "", models,
                                 "by_object_count", "objects"))
    parts.append(breakdown_table("Accuracy by pointer and target (%)", "", models, "by_pair",
                                 "pointer->target"))
    parts.append(breakdown_table(
        "Accuracy by smallest linking set (%)",
        "coords: only coordinates link the object; absent: the object is not in the image.",
        models, "by_min_linking_size", "linking set"))
    return "\n".join(p for p in parts if p)


def _entity_tables(models: Sequence[Model]) -> str:
    prf = [Column(f"{name.upper()} {part}", f"{name}/{key}") for name in ("gmner", "mner", "eeg")
           for part, key in (("P", "precision"), ("R", "recall"), ("F1", "f1"))]
    parts = [
        models_table("GMNER, MNER and EEG (%)",
                     "Micro-averaged over the corpus; a region is right at IoU 0.5 (the rule "
                     "score names); all right: instances whose every entity is matched and "
                     "nothing else predicted.", models,
                     [*prf, Column("mean IoU", "mean_iou"),
                      Column("all right", "instance_accuracy"), Column("n", "n"),
                      Column("missing", "missing"), Column("unparseable", "unparseable"),
                      Column("malformed boxes", "malformed_boxes")]),
        models_table("Textual and visual bias",
                     "Textual bias: absent entities given a box (%); null P/R/F1: the decision "
                     "that an entity is not in the image; hallucinated: predicted entities the "
                     "passage does not name.", models,
                     [Column("textual bias", "textual_bias/rate"),
                      Column("absent entities", "textual_bias/absent_entities"),
                      Column("given a box", "textual_bias/given_a_box"),
                      Column("null P", "textual_bias/null_precision"),
                      Column("null R", "textual_bias/null_recall"),
                      Column("null F1", "textual_bias/null_f1"),
                      Column("hallucinated", "visual_bias/hallucinated"),
                      Column("per instance", "visual_bias/per_instance"),
                      Column("image-only objects", "visual_bias/image_only")]),
        breakdown_table("GMNER F1 by object count (%)", "", models, "by_object_count",
                        "objects"),
        breakdown_table("Gold entities matched by condition (%)", "", models, "by_condition",
                        "condition"),
        breakdown_table("GMNER F1 by scene format (%)", "", models, "by_format", "format"),
    ]
    return "\n".join(p for p in parts if p)


def _chain_tables(models: Sequence[Model]) -> str:
    hops = breakdown_order(k for m in models for k in m.scores["by_hops"])
    parts = [
        models_table("Accuracy by hop count (%)",
                     "A question reaches its answer through 1, 2 or 3 hops, each resolved in "
                     "one modality (1 hop is MATE's task); overall: every instance of the file "
                     "(missing ids count as wrong).", models,
                     [*(Column(f"{k} hop{'s' if k != '1' else ''}", f"by_hops/{k}")
                        for k in hops),
                      Column("overall", "overall"), Column("n", "n"),
                      Column("missing", "missing"), Column("unparseable", "unparseable")]),
        breakdown_table("Accuracy by modality pattern (%)",
                        "I: a step resolved in the image, T: in the text; I&T: a pointer that "
                        "needs a value from each; I+T: an answer with a part from each.",
                        models, "by_pattern", "pattern"),
        breakdown_table("Accuracy by object count (%)", "", models, "by_object_count",
                        "objects"),
        breakdown_table("Accuracy by pointer and target (%)", "", models, "by_pair",
                        "pointer->target"),
        breakdown_table("Two-part answers: each part (%)",
                        "Accuracy of each attribute of the answers that have two; the whole "
                        "answer counts as right only when both are.", models, "by_attribute",
                        "attribute"),
        breakdown_table("Where a wrong reply first went wrong (count)",
                        "Wrong replies that name their objects (asked for with --cot), by the "
                        "first object on the way that is wrong: 1 the pointer's own object, 2 "
                        "the one the first relation reaches, and so on; “answer” when every object "
                        "is right but the answer is not.", models, "first_wrong_hop",
                        "first wrong"),
    ]
    return "\n".join(p for p in parts if p)


__all__ = ["Column", "figure", "lookup", "model_label", "split_accuracy", "tables"]
