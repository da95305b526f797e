"""Presenting a score report: a plain-text table for terminals and a PNG of the breakdowns."""

from __future__ import annotations

import io
from pathlib import Path

from clevrlite.errors import UsageError, needs_extra
from clevrlite.fsutil import write_bytes
from clevrlite.scoring.chain import ChainReport, format_chain_table
from clevrlite.scoring.entities import EntityReport, format_entity_table
from clevrlite.scoring.evaluate import Report

PLOT_NEEDS_MATPLOTLIB = needs_extra("--plot needs matplotlib", "report")


def format_table(report: "Report | EntityReport") -> str:
    """A plain-text summary for terminals: overall, OSE, breakdowns, and the missing ids."""
    if isinstance(report, EntityReport):
        return format_entity_table(report)
    if isinstance(report, ChainReport):
        return format_chain_table(report)
    lines = [
        f"split {report.split}, mode {report.mode}, precision {report.precision}",
        f"overall   {report.overall:6.1f}%  ({report.overall_cell.correct}/{report.n})",
        f"OSE       {report.ose:6.1f}%  ({report.out_of_scene}/{report.wrong_answers} "
        f"wrong answers out of scene)",
        f"missing {len(report.missing_ids)}, unparseable {report.unparseable}, "
        f"unknown ids {len(report.unknown_ids)}",
    ]
    if report.grounded:
        g = report.grounding()
        rule = ">" if g["iou_rule"] == "gt" else ">="
        lines += [f"boxes     Acc@0.5 (IoU {rule} 0.5) {g['acc_at_0.5']:.1f}% and mean IoU "
                  f"{g['mean_iou']:.3f} over {g['box_answers']} box answers; "
                  f"{g['malformed_boxes']} malformed",
                  f"textual bias {g['textual_bias']:.1f}% of absent objects answered; null "
                  f"decision P {g['null_precision']:.1f} R {g['null_recall']:.1f} F1 "
                  f"{g['null_f1']:.1f}"]
    sections = (("task", report.by_task), ("object count", report.by_object_count),
                ("pointer->target", report.by_pair),
                ("min linking size", report.by_min_linking_size),
                ("condition", report.by_condition), ("format", report.by_format))
    for title, cells in sections:
        if not cells:
            continue
        width = max([len(title)] + [len(key) for key in cells])
        lines += ["", f"{title:<{width}}  {'acc':>6}  {'n':>6}"]
        lines += [f"{key:<{width}}  {cell.accuracy:5.1f}%  {cell.total:>6}"
                  for key, cell in cells.items()]
    for label, ids in (("missing ids", report.missing_ids),
                       ("unknown ids (ignored)", report.unknown_ids)):
        if ids:
            lines += ["", f"{label} ({len(ids)}):"] + _wrap(ids)
    return "\n".join(lines)


def _wrap(ids: list[str], width: int = 96) -> list[str]:
    rows, row = [], ""
    for item in ids:
        if row and len(row) + 2 + len(item) > width:
            rows.append(row + ",")
            row = ""
        row = f"{row}, {item}" if row else f"  {item}"
    return rows + [row]


def plot_accuracy(report: "Report | EntityReport | ChainReport", path: str | Path) -> None:
    """Write a PNG of the breakdowns (needs matplotlib): accuracy (GMNER F1 for gmner) versus
    object count, one line per task, and beside it accuracy by condition where the suite has
    conditions (by hop count for chain)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(PLOT_NEEDS_MATPLOTLIB) from None
    out = Path(path)
    if not out.parent.is_dir():
        raise UsageError(f"--plot {str(out)!r}: directory {str(out.parent)!r} does not exist")
    side = "by condition"
    if isinstance(report, EntityReport):
        d = report.to_dict()
        lines = {"gmner (F1)": {int(k): v for k, v in d["by_object_count"].items()}}
        conditions, title = d["by_condition"], f"gmner ({report.split})"
    elif isinstance(report, ChainReport):
        d = report.to_dict()
        lines = {"all hops": {int(k): v for k, v in d["by_object_count"].items()}}
        conditions = {f"{k} hop{'s' if k != '1' else ''}": v for k, v in d["by_hops"].items()}
        title, side = f"chain, {report.mode}", "by hop count"
    else:
        lines = {task: {c: cell.accuracy for c, cell in cells.items()}
                 for task, cells in report.by_task_object_count.items()}
        conditions = {k: c.accuracy for k, c in report.by_condition.items()}
        title = f"{report.split}, {report.mode}"
    fig = Figure(figsize=(11 if conditions else 7, 4.5), dpi=120)
    ax = fig.add_subplot(1, 2 if conditions else 1, 1)
    for name, values in lines.items():
        counts = sorted(values)
        ax.plot(counts, [values[c] for c in counts], marker="o", label=name)
    ax.set_xticks(sorted({c for values in lines.values() for c in values}))
    ax.set_xlabel("objects in scene")
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"by object count ({title})")
    if lines:
        ax.legend()
    if conditions:
        bars = fig.add_subplot(1, 2, 2)
        bars.bar(list(conditions), list(conditions.values()), color="#5975A4")
        bars.set_ylim(0, 100)
        bars.set_ylabel("correct (%)")
        bars.set_title(side)
        bars.grid(True, axis="y", alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_bytes(out, buffer.getvalue())


__all__ = ["PLOT_NEEDS_MATPLOTLIB", "format_table", "plot_accuracy"]
