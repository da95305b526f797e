"""Judging one prediction against one instance: the single place where correct is decided.

The scorer (clevrlite.scoring.evaluate) sums these judgements over a benchmark and the rewards
(clevrlite.scoring.rewards) turn each into a number, so a reward of 1 always means "scored
correct". Three kinds of instance:

- a MATE answer: correct when the parsed answer matches the gold value (clevrlite.scoring.
  answers);
- a grounding answer: a box target is correct when its IoU with the gold box reaches 0.5
  (``iou_rule``: ``ge`` IoU >= 0.5, or ``gt`` IoU > 0.5; a list of boxes counts by its best),
  and null is correct exactly when the gold is null (the object is not in the image); other
  targets as MATE's;
- a GMNER answer: a list of {entity, type, box}; a predicted triple is correct when entity and
  type match (case-insensitive; keys too may be written in any case) and the region is right
  (both null, or the IoU rule), counted through a maximum one-to-one matching. With
  ``duplicates="first"`` only the first prediction for a span counts (the Twitter-GMNER
  release's H-Index keeps one per span); by default every prediction does. An instance is
  correct when every gold triple is matched and nothing else was predicted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from clevrlite.precision import DEFAULT, Precision
from clevrlite.scoring.answers import answers_match, extract_answer
from clevrlite.scoring.boxes import (_NUMBERS, IOU_THRESHOLD, MALFORMED, Boxes, is_null, iou,
                                     parse_box, region_right)
from clevrlite.scoring.matching import max_matching

DUPLICATES = ("count", "first")


@dataclass
class Single:
    """The judgement of a one-value answer (MATE and grounding suites)."""

    parsed: bool
    correct: bool
    value: Any = None
    predicted_null: bool = False
    iou: float | None = None  # box targets with a gold box and a valid predicted box
    malformed_box: bool = False


def judge_single(inst: dict[str, Any], raw: str, *, mode: str = "lenient",
                 precision: Precision | int | str = DEFAULT, box_format: str = "xyxy",
                 size: tuple[int, int] = (480, 320), iou_rule: str = "ge") -> Single:
    """Judge raw model output ``raw`` on a MATE or grounding instance."""
    parsed = extract_answer(raw, mode)
    if not parsed.ok:
        return Single(False, False)
    return judge_value(inst, parsed.value, mode=mode, precision=precision,
                       box_format=box_format, size=size, iou_rule=iou_rule)


def judge_value(inst: dict[str, Any], value: Any, *, mode: str = "lenient",
                precision: Precision | int | str = DEFAULT, box_format: str = "xyxy",
                size: tuple[int, int] = (480, 320), iou_rule: str = "ge") -> Single:
    """Judge an answer value already parsed from a model's output (see judge_single)."""
    gold = inst["answer"]
    null = is_null(value)
    if inst["target_attribute"] == "bbox":
        box = parse_box(value, box_format, *size)
        if box is MALFORMED:
            return Single(True, False, value, malformed_box=True)
        if gold is None or box is None:
            return Single(True, gold is None and box is None, value, predicted_null=box is None)
        overlap = iou(box, gold)
        return Single(True, region_right(overlap, iou_rule), value, iou=overlap)
    if gold is None:
        return Single(True, null, value, predicted_null=null)
    correct = not null and answers_match(value, gold, precision, mode)
    return Single(True, correct, value, predicted_null=null)


class Entities:
    """The judgement of a GMNER answer: counts that sum over a corpus.

    A plain class whose counts default to class attributes: one is made per reward call, and a
    dataclass with this many fields costs more to build than the judging itself.
    """

    predicted = 0
    gmner = 0  # matched triples: entity, type and region
    mner = 0  # entity and type
    eeg = 0  # entity and region
    named = 0  # gold entities matched by name alone
    hallucinated = 0  # predicted entities the passage does not name
    image_only = 0  # of those, objects the image shows but the passage never names
    malformed_boxes = 0
    absent_boxed = 0  # gold entities the image does not show, predicted with a box
    null_predicted = 0  # name-matched predictions with a null box
    null_right = 0  # of those, for a gold entity the image does not show
    iou_sum = 0.0  # IoU of the boxes predicted for name-matched gold boxes
    credit_sum = 0.0  # the same, each as min(1, IoU / threshold): the reward's soft grounding

    def __init__(self, parsed: bool, gold: int = 0, absent: int = 0,
                 by_condition: dict[str, list[int]] | None = None) -> None:
        self.parsed = parsed
        self.gold = gold
        self.absent = absent  # gold entities the image does not show
        self.by_condition = {} if by_condition is None else by_condition  # [matched, total]

    @property
    def correct(self) -> bool:
        return self.parsed and self.gmner == self.gold == self.predicted


def _norm(text: str) -> str:
    """Case-folded, with runs of whitespace as one space and none at the ends."""
    folded = text.casefold()
    if " " in folded or not folded.isprintable():
        return " ".join(folded.split())
    return folded


def _prediction(item: Any, box_format: str, size: tuple[int, int]) -> tuple:
    """(entity, type, box) of one predicted item, names normalised, box in pixels."""
    if type(item) is not dict:
        return (None, None, MALFORMED)
    if "entity" not in item:  # keys in another case or with spaces
        item = {str(k).strip().casefold(): v for k, v in item.items()}
    entity, kind = item.get("entity"), item.get("type")
    return (_norm(entity) if type(entity) is str else None,
            _norm(kind) if type(kind) is str else None,
            parse_box(item.get("box"), box_format, *size))


@dataclass(frozen=True)
class _Gold:
    """What judging needs of an instance's gold entities, prepared once per instance."""

    names: list[str]
    kinds: list[str]
    boxes: list[Any]
    conditions: list[str]
    totals: dict[str, int]  # gold entities per condition
    by_name: dict[str, list[int]]
    unique: bool  # no two gold entities share a name
    image_only: frozenset[str]
    exact: dict[str, int]  # gold entity as written -> position (skips normalising a copy)
    written_kinds: list[str]  # gold types as written


_GOLD: dict[int, tuple[Any, _Gold]] = {}  # id(entities list) -> (the list, its view)


def _gold(inst: dict[str, Any]) -> _Gold:
    """The prepared gold of ``inst`` (RL scores many completions of one instance)."""
    entities = inst["entities"]
    cached = _GOLD.get(id(entities))
    if cached is not None and cached[0] is entities:
        return cached[1]
    names = [_norm(e["entity"]) for e in entities]
    by_name: dict[str, list[int]] = {}
    for g, name in enumerate(names):
        by_name.setdefault(name, []).append(g)
    conditions = [e["condition"] for e in entities]
    view = _Gold(names, [_norm(e["type"]) for e in entities], [e["box"] for e in entities],
                 conditions, {c: conditions.count(c) for c in conditions}, by_name,
                 len(by_name) == len(names),
                 frozenset(_norm(n) for n in inst.get("image_only", ())),
                 {e["entity"]: k for k, e in enumerate(entities)},
                 [e["type"] for e in entities])
    if len(_GOLD) > 4096:
        _GOLD.clear()
    _GOLD[id(entities)] = (entities, view)  # the list is kept, so its id stays its own
    return view


def _overlap(pred_box: Any, gold_box: Any) -> float | None:
    """IoU of a valid predicted box with a gold box; None where either is null or malformed."""
    if gold_box is None or pred_box is None or pred_box is MALFORMED:
        return None
    return iou(pred_box, gold_box)


def judge_entities(inst: dict[str, Any], raw: str, *, box_format: str = "xyxy",
                   size: tuple[int, int] = (480, 320), iou_rule: str = "ge",
                   duplicates: str = "count") -> Entities:
    """Judge raw model output ``raw`` on a GMNER instance."""
    g = _gold(inst)
    result = Entities(False, gold=len(g.names), absent=g.boxes.count(None),
                      by_condition={c: [0, n] for c, n in g.totals.items()})
    parsed = extract_answer(raw, "lenient")
    if not parsed.ok or type(parsed.value) is not list:
        return result
    items = parsed.value if duplicates == "count" else _first_per_span(parsed.value)
    result.parsed, result.predicted = True, len(items)
    if g.unique and iou_rule == "ge":
        _count_unique(result, items, g, box_format, size)
    else:
        _count_matched(result, [_prediction(item, box_format, size) for item in items], g,
                       iou_rule)
    return result


def _first_per_span(items: list) -> list:
    """The predictions with every later one for an entity already predicted left out."""
    seen: set = set()
    kept = []
    for item in items:
        name = _prediction(item, "xyxy", (1, 1))[0]
        if name is not None and name in seen:
            continue
        seen.add(name)
        kept.append(item)
    return kept


def _region_right(box: Any, gold_box: Any, overlap: float | None, rule: str) -> bool:
    return box is None if gold_box is None else region_right(overlap, rule)


def _pair(result: Entities, box: Any, gold_box: Any, overlap: float | None) -> None:
    """Null decision and continuous grounding of a name-matched (prediction, gold) pair."""
    if box is None:
        result.null_predicted += 1
        result.null_right += gold_box is None
    elif gold_box is None:
        result.absent_boxed += 1
    if overlap is not None:
        result.iou_sum += overlap
        result.credit_sum += min(1.0, overlap / IOU_THRESHOLD)


def _count_unique(result: Entities, items: list, g: _Gold, box_format: str,
                  size: tuple[int, int]) -> None:
    """The counts when gold names are unique: every prediction has at most one candidate, so
    each maximum matching pairs a gold entity with its first fitting prediction (what
    max_matching does too), found in one pass. The hot path of RL rewards, hence the locals,
    the inlined IoU, and names copied as written looked up before any normalising."""
    named: set[int] = set()
    typed: set[int] = set()
    placed: set[int] = set()
    both: set[int] = set()
    by_name, boxes, kinds, only, exact = g.by_name, g.boxes, g.kinds, g.image_only, g.exact
    written = g.written_kinds
    malformed = image_only = hallucinated = null_predicted = null_right = absent_boxed = 0
    iou_sum = credit_sum = 0.0
    for item in items:
        k = None
        if type(item) is dict and "entity" in item:
            entity, kind, box = item["entity"], item.get("type"), item.get("box")
            if type(entity) is str:
                k = exact.get(entity)
            if k is None:
                name = _norm(entity) if type(entity) is str else None
                ks = by_name.get(name)
                k = ks[0] if ks else None
            if k is not None:
                kind_ok = kind == written[k] or type(kind) is str and _norm(kind) == kinds[k]
            if type(box) is list and len(box) == 4 and box_format == "xyxy" and \
                    {type(box[0]), type(box[1]), type(box[2]), type(box[3])} <= _NUMBERS and box[2] > box[0] and box[3] > box[1]:
                box = box if math.isfinite(box[0] + box[1] + box[2] + box[3]) else MALFORMED
            else:
                box = parse_box(box, box_format, *size)
        else:
            name, kind, box = _prediction(item, box_format, size)
            ks = by_name.get(name)
            if ks:
                k = ks[0]
                kind_ok = kind == kinds[k]
        if box is MALFORMED:
            malformed += 1
        if k is None:
            hallucinated += 1
            if type(item) is dict and "entity" in item:
                name = _norm(item["entity"]) if type(item["entity"]) is str else None
            image_only += name in only
            continue
        gold_box = boxes[k]
        if box is None:
            region_ok = gold_box is None
            if k not in named:
                null_predicted += 1
                null_right += region_ok
        elif box is MALFORMED or gold_box is None:
            region_ok = False
            if k not in named and gold_box is None:
                absent_boxed += 1
        else:
            if type(box) is Boxes:
                overlap = iou(box, gold_box)
            else:
                w = min(box[2], gold_box[2]) - max(box[0], gold_box[0])
                h = min(box[3], gold_box[3]) - max(box[1], gold_box[1])
                inter = w * h if w > 0 and h > 0 else 0.0
                overlap = inter / ((box[2] - box[0]) * (box[3] - box[1])
                                   + (gold_box[2] - gold_box[0]) * (gold_box[3] - gold_box[1])
                                   - inter)
            region_ok = overlap >= IOU_THRESHOLD
            if k not in named:
                iou_sum += overlap
                credit_sum += min(1.0, overlap / IOU_THRESHOLD)
        named.add(k)
        if kind_ok:
            typed.add(k)
            if region_ok and k not in both:
                both.add(k)
                result.by_condition[g.conditions[k]][0] += 1
        if region_ok:
            placed.add(k)
    result.malformed_boxes, result.image_only, result.hallucinated = (malformed, image_only,
                                                                      hallucinated)
    result.null_predicted, result.null_right, result.absent_boxed = (null_predicted, null_right,
                                                                     absent_boxed)
    result.iou_sum, result.credit_sum = iou_sum, credit_sum
    result.named, result.mner, result.eeg, result.gmner = (len(named), len(typed),
                                                           len(placed), len(both))


def _count_matched(result: Entities, preds: list[tuple], g: _Gold, rule: str = "ge") -> None:
    """The counts through maximum one-to-one matchings (gold names that repeat, or an IoU
    rule the one-pass count does not take)."""
    named, typed, placed, overlaps = [], [], [], []
    for name, kind, box in preds:
        result.malformed_boxes += box is MALFORMED
        result.image_only += name in g.image_only
        candidates = g.by_name.get(name, [])
        result.hallucinated += not candidates
        row = [_overlap(box, g.boxes[k]) for k in candidates]
        named.append(candidates)
        overlaps.append(row)
        typed.append([k for k in candidates if kind == g.kinds[k]])
        placed.append([k for k, o in zip(candidates, row)
                       if _region_right(box, g.boxes[k], o, rule)])
    both = [[k for k in row if k in placed[p]] for p, row in enumerate(typed)]
    triples = max_matching(both, len(g.names))
    result.gmner = len(triples)
    result.mner = len(max_matching(typed, len(g.names)))
    result.eeg = len(max_matching(placed, len(g.names)))
    for _, k in triples:
        result.by_condition[g.conditions[k]][0] += 1
    pairs = max_matching(named, len(g.names))
    result.named = len(pairs)
    for p, k in pairs:
        _pair(result, preds[p][2], g.boxes[k], overlaps[p][named[p].index(k)])


def f1(matched: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 in percent (0 where undefined)."""
    p = 100.0 * matched / predicted if predicted else 0.0
    r = 100.0 * matched / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


__all__ = ["Entities", "IOU_THRESHOLD", "Single", "f1", "judge_entities", "judge_single",
           "judge_value"]
