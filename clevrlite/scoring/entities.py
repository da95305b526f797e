"""Scoring the gmner suite: GMNER, MNER and EEG precision, recall and F1, and both biases.

Counts come from clevrlite.scoring.judge.judge_entities, one instance at a time, and are
micro-averaged over the corpus:
- GMNER: entity, type and region (both null, or an IoU at the threshold: >= 0.5 by default,
  > 0.5 with ``iou_rule="gt"``); MNER: entity and type; EEG:
  entity and region; each through a maximum one-to-one matching;
- textual bias: the share of gold entities the image does not show that were given a box,
  with the precision, recall and F1 of the null decision (N-P, N-R, N-F1);
- visual bias: predicted entities the passage does not name (and how many of those are
  objects the image shows but the passage never names), in all and per instance;
- breakdowns by object count (GMNER F1), by condition (the share of gold entities of each
  condition matched) and by format.
- mean IoU: over the gold entities the image shows, the IoU of the box predicted for each
  (0 where none was, or its name was never predicted).
Missing predictions count their gold entities as missed. ``duplicates="first"`` keeps the
first prediction for each entity (the Twitter-GMNER release keeps one per span).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clevrlite.scoring.judge import Entities, f1, judge_entities

CONDITIONS = ("grounded", "absent", "absent_lookalike")
SUMS = ("predicted", "gold", "gmner", "mner", "eeg", "named", "hallucinated", "image_only",
        "malformed_boxes", "absent", "absent_boxed", "null_predicted", "null_right")


@dataclass
class EntityReport:
    """Scores of one predictions file on a gmner benchmark; ``to_dict`` is ``--json``."""

    split: str
    box_format: str = "xyxy"
    iou_rule: str = "ge"
    duplicates: str = "count"
    totals: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUMS, 0))
    iou_sum: float = 0.0
    by_object_count: dict[str, list[int]] = field(default_factory=dict)  # matched, pred, gold
    by_format: dict[str, list[int]] = field(default_factory=dict)
    by_condition: dict[str, list[int]] = field(default_factory=dict)  # matched, total
    outcomes: dict[str, str] = field(default_factory=dict)
    missing_ids: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    unparseable: int = 0
    instances: int = 0
    correct: int = 0
    suite: str = "gmner"

    def add(self, inst: dict[str, Any], judged: Entities | None) -> None:
        """Count one instance (``judged`` None: its prediction is missing)."""
        self.instances += 1
        if judged is None:
            self.missing_ids.append(inst["id"])
            judged = Entities(False, gold=len(inst["entities"]),
                              absent=sum(e["box"] is None for e in inst["entities"]))
            for e in inst["entities"]:
                judged.by_condition.setdefault(e["condition"], [0, 0])[1] += 1
            self.outcomes[inst["id"]] = "missing"
        else:
            self.unparseable += not judged.parsed
            self.outcomes[inst["id"]] = ("correct" if judged.correct else
                                         "wrong" if judged.parsed else "unparseable")
        self.correct += judged.correct
        for name in SUMS:
            self.totals[name] += getattr(judged, name)
        self.iou_sum += judged.iou_sum
        for cells, key in ((self.by_object_count, str(inst["object_count"])),
                           (self.by_format, inst.get("scene_format") or "text")):
            row = cells.setdefault(key, [0, 0, 0])
            row[0] += judged.gmner
            row[1] += judged.predicted
            row[2] += judged.gold
        for condition, (matched, total) in judged.by_condition.items():
            row = self.by_condition.setdefault(condition, [0, 0])
            row[0] += matched
            row[1] += total

    def scores(self, matched: str) -> dict[str, float]:
        p, r, f = f1(int(self.totals[matched]), int(self.totals["predicted"]),
                     int(self.totals["gold"]))
        return {"precision": round(p, 2), "recall": round(r, 2), "f1": round(f, 2)}

    def to_dict(self) -> dict[str, Any]:
        t = self.totals
        n_p, n_r, n_f = f1(int(t["null_right"]), int(t["null_predicted"]), int(t["absent"]))
        grounded = t["gold"] - t["absent"]
        return {
            "suite": self.suite, "split": self.split, "n": self.instances,
            "missing": len(self.missing_ids), "unparseable": self.unparseable,
            "unknown": len(self.unknown_ids), "box_format": self.box_format,
            "instance_accuracy": round(100.0 * self.correct / self.instances, 2)
            if self.instances else 0.0,
            "gmner": self.scores("gmner"), "mner": self.scores("mner"),
            "eeg": self.scores("eeg"),
            "mean_iou": round(self.iou_sum / grounded, 4) if grounded else 0.0,
            "iou_rule": self.iou_rule, "duplicates": self.duplicates,
            "textual_bias": {
                "rate": round(100.0 * t["absent_boxed"] / t["absent"], 2) if t["absent"] else 0.0,
                "absent_entities": int(t["absent"]), "given_a_box": int(t["absent_boxed"]),
                "null_precision": round(n_p, 2), "null_recall": round(n_r, 2),
                "null_f1": round(n_f, 2)},
            "visual_bias": {
                "hallucinated": int(t["hallucinated"]),
                "per_instance": round(t["hallucinated"] / self.instances, 4)
                if self.instances else 0.0,
                "image_only": int(t["image_only"])},
            "malformed_boxes": int(t["malformed_boxes"]),
            "by_object_count": {k: round(f1(*v)[2], 2) for k, v in
                                sorted(self.by_object_count.items(), key=lambda kv: int(kv[0]))},
            "by_condition": {k: round(100.0 * m / n, 2) if n else 0.0
                             for k, (m, n) in sorted(self.by_condition.items(),
                                                      key=lambda kv: _rank(kv[0]))},
            "by_format": {k: round(f1(*v)[2], 2) for k, v in sorted(self.by_format.items())},
        }


def _rank(condition: str) -> int:
    return CONDITIONS.index(condition) if condition in CONDITIONS else len(CONDITIONS)


def score_entities(instances: list[dict], predictions: dict[str, str], split: str,
                   box_format: str, size: tuple[int, int], unknown: list[str],
                   iou_rule: str = "ge", duplicates: str = "count") -> EntityReport:
    """The report of ``predictions`` on gmner ``instances``."""
    report = EntityReport(split=split, box_format=box_format, iou_rule=iou_rule,
                          duplicates=duplicates, unknown_ids=unknown)
    for inst in instances:
        raw = predictions.get(inst["id"])
        report.add(inst, None if raw is None else judge_entities(
            inst, raw, box_format=box_format, size=size, iou_rule=iou_rule,
            duplicates=duplicates))
    return report


def format_entity_table(report: EntityReport) -> str:
    """A plain-text summary for terminals."""
    d = report.to_dict()
    lines = [f"suite gmner, split {d['split']}, boxes {d['box_format']}, a region is right at "
             f"IoU {'>' if d['iou_rule'] == 'gt' else '>='} 0.5, duplicate predictions "
             f"{'after the first dropped' if d['duplicates'] == 'first' else 'counted'}",
             f"instances {d['n']}, all right {d['instance_accuracy']:.1f}%, missing "
             f"{d['missing']}, unparseable {d['unparseable']}, malformed boxes "
             f"{d['malformed_boxes']}", "", f"{'':8}{'P':>8}{'R':>8}{'F1':>8}"]
    for name in ("gmner", "mner", "eeg"):
        s = d[name]
        lines.append(f"{name.upper():8}{s['precision']:8.1f}{s['recall']:8.1f}{s['f1']:8.1f}")
    tb, vb = d["textual_bias"], d["visual_bias"]
    lines += ["", f"mean IoU      {d['mean_iou']:.3f} over the entities the image shows",
              f"textual bias  {tb['rate']:.1f}% of {tb['absent_entities']} absent entities "
              f"given a box; null decision P {tb['null_precision']:.1f} R "
              f"{tb['null_recall']:.1f} F1 {tb['null_f1']:.1f}",
              f"visual bias   {vb['hallucinated']} entities the passage does not name "
              f"({vb['per_instance']:.3f} per instance, {vb['image_only']} image-only objects)"]
    for title, cells, unit in (("object count", d["by_object_count"], "GMNER F1"),
                               ("condition", d["by_condition"], "matched %"),
                               ("format", d["by_format"], "GMNER F1")):
        lines += ["", f"{title:<18}{unit:>10}"]
        lines += [f"{k:<18}{v:10.1f}" for k, v in cells.items()]
    return "\n".join(lines)


__all__ = ["EntityReport", "format_entity_table", "score_entities"]
