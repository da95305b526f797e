"""Scoring model predictions on a clevrlite benchmark (DESIGN section 6).

Answers are parsed and compared by clevrlite.scoring.answers (``lenient`` mode: the last
JSON-like object with an "answer" key, tolerant of fences, quotes and prose; ``mate`` mode:
MATE's ``main_eval.clean_prediction``, reproduced exactly) and judged one at a time by
clevrlite.scoring.judge. ``score`` reads a benchmark (clevrlite.bench.reader) and a
predictions file and returns a ``Report`` with the breakdowns and the out-of-scene error
(OSE); clevrlite.scoring.output presents it.

Comparison rules. lenient: strings match after trimming, collapsing inner whitespace and
case-folding; numbers (also given as strings, "0.7") and coordinate lists match after
``round(x, precision)`` with precision 2, and with precision "full" when the parsed floats are
equal (no tolerance: the text shows every digit, so copying it gives the identical double, and a
tolerance would hide exactly the copying errors "full" exists to measure). mate: exactly MATE's
rule, ``str(gold) == str(predicted).strip()`` on the Python values, with no rounding.

Unparseable predictions count as wrong and are counted separately; missing ids count as wrong
and are listed. OSE is the percent of wrong answers to the predictions given (unparseable ones
included, as MATE counts them; missing ids excluded) whose value equals no object's value of the
target attribute in the scene file, compared as in scoring (in mate mode the scene's values are
first rounded to the benchmark's precision, as its gold answers are). It is 0 when nothing is
wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clevrlite.bench.reader import (SceneCache, benchmark_info, fingerprint, json_lines,
                                    load_instances, object_value)
from clevrlite.bench.registry import get_suite, suite_of_id
from clevrlite.bench.suite import ScoreSettings, Suite
from clevrlite.errors import UsageError
from clevrlite.precision import Precision
from clevrlite.scoring.answers import answers_match, check_mode, round_value
from clevrlite.scoring.boxes import BOX_FORMATS, MALFORMED, iou, parse_box
from clevrlite.scoring.entities import EntityReport
from clevrlite.scoring.boxes import IOU_RULES, region_right
from clevrlite.scoring.judge import DUPLICATES, Single, f1, judge_single

TASK_ORDER = ("img2data", "data2img", "img2img", "data2data")


def read_predictions(path: str | Path) -> dict[str, str]:
    """Predictions by id from a JSON-lines file; any malformed line is a one-line UsageError.

    A null prediction (the model produced nothing) is kept as an empty, unparseable output.
    """
    path = Path(path)
    predictions: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, obj in json_lines(path):
        for key in ("id", "prediction"):
            if key not in obj:
                raise UsageError(f"{path}:{lineno}: no {key!r} key; each line must be "
                                 f"{{\"id\": ..., \"prediction\": \"raw model output\"}}")
        pid, text = obj["id"], obj["prediction"]
        if not isinstance(pid, (str, int)) or isinstance(pid, bool):
            raise UsageError(f"{path}:{lineno}: \"id\" must be a string; got {json.dumps(pid)}")
        if text is not None and not isinstance(text, str):
            raise UsageError(f"{path}:{lineno}: \"prediction\" must be the raw model output as "
                             f"a string; got {type(text).__name__}")
        pid = str(pid)
        if pid in predictions:
            raise UsageError(f"{path}:{lineno}: duplicate id {pid!r} (first on line "
                             f"{first_line[pid]}); keep one prediction per id")
        predictions[pid] = text or ""
        first_line[pid] = lineno
    if not predictions:
        raise UsageError(f"predictions file {str(path)!r} has no predictions")
    return predictions



# ---------------------------------------------------------------------------------- scoring

@dataclass
class Cell:
    """Correct and total counts of one breakdown cell."""

    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        """Accuracy in percent (0 for an empty cell)."""
        return 100.0 * self.correct / self.total if self.total else 0.0

    def add(self, correct: bool) -> None:
        self.correct += int(correct)
        self.total += 1


@dataclass
class Report:
    """Scores of one predictions file; ``to_dict`` is the ``--json`` contract."""

    mode: str
    split: str
    precision: Precision
    overall_cell: Cell = field(default_factory=Cell)
    by_task: dict[str, Cell] = field(default_factory=dict)
    by_object_count: dict[str, Cell] = field(default_factory=dict)
    by_pair: dict[str, Cell] = field(default_factory=dict)
    by_min_linking_size: dict[str, Cell] = field(default_factory=dict)
    by_task_object_count: dict[str, dict[int, Cell]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # correct|wrong|unparseable|missing
    missing_ids: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    unparseable: int = 0
    wrong_answers: int = 0  # wrong among given predictions, unparseable included
    out_of_scene: int = 0
    suite: str = "mate"
    grounded: bool = False  # boxes and absent objects (the grounding suite)
    box_format: str = "xyxy"
    iou_rule: str = "ge"
    size: tuple[int, int] = (480, 320)
    # grounding suite: conditions, formats, boxes and the null decision
    by_condition: dict[str, Cell] = field(default_factory=dict)
    by_format: dict[str, Cell] = field(default_factory=dict)
    boxes: Cell = field(default_factory=Cell)  # box answers with a gold box: Acc@0.5
    iou_sum: float = 0.0
    null_gold: int = 0  # given predictions whose gold is null (the object is absent)
    null_gold_boxed: int = 0  # of those, answered with a value or a box (textual bias)
    null_predicted: int = 0
    null_right: int = 0
    malformed_boxes: int = 0

    @property
    def n(self) -> int:
        """Instances scored, missing ones included."""
        return self.overall_cell.total

    @property
    def overall(self) -> float:
        """Overall accuracy in percent."""
        return self.overall_cell.accuracy

    @property
    def ose(self) -> float:
        """Out-of-scene error: percent of wrong answers equal to no object's value (0 if none)."""
        return 100.0 * self.out_of_scene / self.wrong_answers if self.wrong_answers else 0.0

    def grounding(self) -> dict[str, Any]:
        """The grounding suite's figures: boxes, textual bias, the null decision."""
        p, r, f = f1(self.null_right, self.null_predicted, self.null_gold)
        return {
            "acc_at_0.5": round(self.boxes.accuracy, 2),
            "mean_iou": round(self.iou_sum / self.boxes.total, 4) if self.boxes.total else 0.0,
            "box_answers": self.boxes.total, "iou_rule": self.iou_rule,
            "textual_bias": round(100.0 * self.null_gold_boxed / self.null_gold, 2)
            if self.null_gold else 0.0,
            "null_precision": round(p, 2), "null_recall": round(r, 2), "null_f1": round(f, 2),
            "malformed_boxes": self.malformed_boxes,
            "by_condition": {k: round(c.accuracy, 2) for k, c in self.by_condition.items()},
            "by_format": {k: round(c.accuracy, 2) for k, c in self.by_format.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output: accuracies in percent, rounded to two decimals."""
        def accuracies(cells: dict[str, Cell]) -> dict[str, float]:
            return {key: round(cell.accuracy, 2) for key, cell in cells.items()}
        extra = {"suite": self.suite, **self.grounding()} if self.grounded else {}
        return {
            "n": self.n,
            "missing": len(self.missing_ids),
            "overall": round(self.overall, 2),
            "by_task": accuracies(self.by_task),
            "by_object_count": accuracies(self.by_object_count),
            "by_pair": accuracies(self.by_pair),
            "by_min_linking_size": accuracies(self.by_min_linking_size),
            "ose": round(self.ose, 2),
            "unparseable": self.unparseable,
            "unknown": len(self.unknown_ids),
            "mode": self.mode,
            "split": self.split,
            **extra,
        }


def score(benchmark_dir: str | Path, predictions_path: str | Path, mode: str = "lenient",
          split: str = "auto", box_format: str = "xyxy", iou_rule: str = "ge",
          duplicates: str = "count") -> "Report | EntityReport":
    """Score a predictions file against a benchmark directory.

    ``split="auto"`` scores every split file that holds at least one predicted id. Ids missing
    from the predictions count as wrong; ids unknown to the benchmark are counted and ignored,
    unless no id is known at all (a predictions file for another benchmark, or another suite:
    UsageError). With an explicit split, predictions for the other split are ignored. The
    suite comes from stats.json; a gmner benchmark gives an EntityReport. ``box_format`` is
    how predicted boxes are written (clevrlite.scoring.boxes), ``iou_rule`` whether a region
    is right at IoU >= 0.5 (``ge``) or > 0.5 (``gt``), and ``duplicates`` whether every GMNER
    prediction counts or only the first for an entity (``first``).
    """
    check_mode(mode)
    if box_format not in BOX_FORMATS:
        raise UsageError(f"unknown box format {box_format!r}; use one of "
                         f"{', '.join(BOX_FORMATS)}")
    if iou_rule not in IOU_RULES:
        raise UsageError(f"unknown IoU rule {iou_rule!r}; use ge (IoU >= 0.5) or gt (> 0.5)")
    if duplicates not in DUPLICATES:
        raise UsageError(f"unknown duplicates rule {duplicates!r}; use count or first")
    pred_path = Path(predictions_path)
    if not pred_path.is_file():
        raise UsageError(f"predictions file {str(pred_path)!r} does not exist; check the path")
    info = benchmark_info(benchmark_dir)
    if split not in ("auto", "all", *info.splits):
        raise UsageError(f"the {info.suite} benchmark {str(benchmark_dir)!r} has no {split} "
                         f"split; use one of auto, {', '.join(info.splits)} or all")
    loaded = load_instances(benchmark_dir, "all")
    if split in info.splits and split not in loaded:
        load_instances(benchmark_dir, split)  # raises, naming the missing file
    predictions = read_predictions(pred_path)
    _refuse_other_benchmark(pred_path, benchmark_dir)
    known = {inst["id"] for instances in loaded.values() for inst in instances}
    unknown = [pid for pid in predictions if pid not in known]
    if len(unknown) == len(predictions):
        _refuse_other_suite(predictions, info.suite, pred_path, benchmark_dir)
        raise UsageError(f"none of the {len(predictions)} ids in {str(pred_path)!r} is in the "
                         f"benchmark {str(benchmark_dir)!r} (first: {unknown[0]!r}); "
                         f"wrong benchmark directory?")
    chosen = _choose_splits(loaded, predictions, split)
    instances = [inst for name in chosen for inst in loaded[name]]
    if not any(inst["id"] in predictions for inst in instances):
        raise UsageError(f"no id in {str(pred_path)!r} belongs to split {split!r} of "
                         f"{str(benchmark_dir)!r}; choose the split the predictions are for")
    settings = ScoreSettings(mode, "all" if len(chosen) > 1 else chosen[0], box_format,
                             (info.width, info.height), unknown,
                             _benchmark_precision(instances, Path(benchmark_dir)), iou_rule,
                             duplicates)
    return get_suite(info.suite).score(instances, predictions, settings,
                                       SceneCache(benchmark_dir))


def _refuse_other_benchmark(pred_path: Path, benchmark_dir: str | Path) -> None:
    """Predictions that name the benchmark they were made for (``baseline``, ``predict`` and
    the human page write its fingerprint on every line) are scored against that benchmark
    only: another benchmark of the same suite shares the ids but not the answers."""
    named = {str(obj["benchmark"]) for _, obj in json_lines(pred_path) if "benchmark" in obj}
    if not named:
        return
    expected = fingerprint(benchmark_dir)
    others = sorted(named - {expected})
    if others:
        raise UsageError(f"{str(pred_path)!r} was made for another benchmark ({others[0]}; "
                         f"{str(benchmark_dir)!r} is {expected}); score it against the "
                         f"benchmark it came from")


def score_values(suite: Suite, instances: list[dict], predictions: dict[str, str],
                 settings: ScoreSettings, scenes: SceneCache, grounded: bool = False) -> Report:
    """The report of one-value answers (the MATE and grounding suites); ``grounded`` adds the
    figures of boxes and absent objects."""
    report = Report(mode=settings.mode, split=settings.split, precision=settings.precision,
                    unknown_ids=settings.unknown, suite=suite.name, grounded=grounded,
                    box_format=settings.box_format, size=settings.size,
                    iou_rule=settings.iou_rule)
    for inst in instances:
        _score_instance(report, inst, predictions.get(inst["id"]), scenes)
    _sort_breakdowns(report)
    return report


def _refuse_other_suite(predictions: dict[str, str], suite: str, path: Path,
                        benchmark_dir: str | Path) -> None:
    """A one-line usage error when the predictions' ids belong to another suite."""
    found = {suite_of_id(pid) for pid in predictions} - {None}
    theirs = sorted(s.name for s in found if s.name != suite)
    if theirs:
        raise UsageError(f"{str(path)!r} holds predictions for the {theirs[0]} suite, but "
                         f"{str(benchmark_dir)!r} is a {suite} benchmark; score them against "
                         f"the {theirs[0]} benchmark they were made for")


def _choose_splits(loaded: dict[str, list[dict]], predictions: dict[str, str],
                   split: str) -> list[str]:
    if split in loaded:
        return [split]
    if split == "all":
        return list(loaded)
    return [name for name, insts in loaded.items() if any(i["id"] in predictions for i in insts)]


def _sort_breakdowns(report: Report) -> None:
    """Tasks in TASK_ORDER, counts and linking sizes numerically ("coords" last), pairs by name."""
    def numeric(key: str) -> tuple[int, int]:
        return (0, int(key)) if key.lstrip("-").isdigit() else (1, 0)
    task_rank = {task: i for i, task in enumerate(TASK_ORDER)}
    report.by_task = dict(sorted(report.by_task.items(),
                                 key=lambda kv: (task_rank.get(kv[0], len(task_rank)), kv[0])))
    report.by_object_count = dict(sorted(report.by_object_count.items(),
                                         key=lambda kv: numeric(kv[0])))
    report.by_pair = dict(sorted(report.by_pair.items()))
    report.by_min_linking_size = dict(sorted(report.by_min_linking_size.items(),
                                             key=lambda kv: numeric(kv[0])))
    order = ("grounded", "absent", "absent_lookalike")
    report.by_condition = dict(sorted(report.by_condition.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0])))
    report.by_task_object_count = {task: dict(sorted(report.by_task_object_count[task].items()))
                                   for task in report.by_task}


def _benchmark_precision(instances: list[dict], root: Path) -> Precision:
    """The instances' precision field; stats.json's when they have none; else 2."""
    values = {json.dumps(inst["precision"]) for inst in instances if "precision" in inst}
    if len(values) > 1:
        raise UsageError(f"benchmark {str(root)!r} mixes precisions {sorted(values)}; "
                         f"a benchmark has one precision")
    if values:
        return Precision.parse(json.loads(values.pop()))
    stats = root / "stats.json"
    try:
        return Precision.parse(json.loads(stats.read_text(encoding="utf-8")).get("precision", 2))
    except (OSError, ValueError, AttributeError):
        return Precision(2)


def _score_instance(report: Report, inst: dict, raw: str | None, scenes: SceneCache) -> None:
    if raw is None:
        outcome, correct = "missing", False
        report.missing_ids.append(inst["id"])
    else:
        judged = judge_single(inst, raw, mode=report.mode, precision=report.precision,
                              box_format=report.box_format, size=report.size,
                              iou_rule=report.iou_rule)
        correct = judged.correct
        outcome = "correct" if correct else ("wrong" if judged.parsed else "unparseable")
        if not correct:
            report.wrong_answers += 1
            report.unparseable += not judged.parsed
            if not judged.parsed or judged.malformed_box or (
                    not _in_scene(judged.value, inst, scenes, report)):
                report.out_of_scene += 1
        if report.grounded:
            _grounding_counts(report, inst, judged)
    report.outcomes[inst["id"]] = outcome
    pair = f"{inst['pointer_attribute']}->{inst['target_attribute']}"
    size = inst["min_linking_size"]
    linking = "coords" if size is None else str(size)
    if inst.get("condition") in ("absent", "absent_lookalike"):
        linking = "absent"
    report.overall_cell.add(correct)
    for cells, key in ((report.by_task, inst["task"]),
                       (report.by_object_count, str(inst["object_count"])),
                       (report.by_pair, pair), (report.by_min_linking_size, linking)):
        cells.setdefault(key, Cell()).add(correct)
    if report.grounded:
        for cells, key in ((report.by_condition, inst.get("condition") or "grounded"),
                           (report.by_format, inst.get("scene_format") or "image")):
            cells.setdefault(key, Cell()).add(correct)
    per_task = report.by_task_object_count.setdefault(inst["task"], {})
    per_task.setdefault(int(inst["object_count"]), Cell()).add(correct)


def _grounding_counts(report: Report, inst: dict, judged: Single) -> None:
    """Boxes, textual bias and the null decision of one judged grounding prediction."""
    gold = inst["answer"]
    report.malformed_boxes += judged.malformed_box
    if inst["target_attribute"] == "bbox" and gold is not None:
        report.boxes.add(judged.correct)
        report.iou_sum += judged.iou or 0.0
    if inst["task"] != "data2img":  # only data2img can point at an absent object
        return
    if gold is None:
        report.null_gold += 1
        report.null_gold_boxed += judged.parsed and not judged.predicted_null
    if judged.predicted_null:
        report.null_predicted += 1
        report.null_right += gold is None


def _in_scene(value: Any, inst: dict, scenes: SceneCache, report: Report) -> bool:
    """Whether the predicted value equals some object's value of the target attribute (a
    box: overlaps some object's box at IoU >= 0.5)."""
    attribute = inst["target_attribute"]
    box = parse_box(value, report.box_format, *report.size) if attribute == "bbox" else None
    for obj in scenes.objects(inst["scene_id"]):
        candidate = object_value(obj, attribute)
        if candidate is None:
            continue
        if attribute == "bbox":
            if box is not None and box is not MALFORMED and region_right(
                    iou(box, candidate), report.iou_rule):
                return True
            continue
        if report.mode == "mate":
            candidate = round_value(candidate, report.precision)
        if answers_match(value, candidate, report.precision, report.mode):
            return True
    return False


__all__ = ["Cell", "Report", "read_predictions", "score"]
