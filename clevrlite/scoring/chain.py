"""Scoring, baselines and audit units of the chain suite (clevrlite.bench.chain).

An answer is one value, or for two targets an object of two (``{"shape": ..., "rotation":
...}``, keys in any case), judged per attribute and as a whole. A chain-of-thought reply also
names the objects it went through (``"objects": ["Object_3", "Object_4"]``): the report says at
which hop a wrong answer first left the gold chain. Accuracy is broken down by hop count,
pattern (the modalities of the steps), object count and (pointer, target).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clevrlite.bench.chain import (IMAGE_ATTRS, IMAGE_RELATIONS, TEXT_ATTRS, pointed, quarter,
                                   resolve)
from clevrlite.precision import Precision
from clevrlite.scoring.answers import answers_match, extract_answer
from clevrlite.scoring.boxes import is_null
from clevrlite.scoring.evaluate import Cell

_OBJECTS = re.compile(r'"objects"\s*:\s*\[([^\]]*)\]')


@dataclass
class ChainJudged:
    """One judged answer: parsed or not, right or not, per attribute, and the first hop at
    which the named objects left the gold chain (None: none named, or all right)."""

    parsed: bool
    correct: bool
    attributes: dict[str, bool] = field(default_factory=dict)
    first_wrong: int | None = None


def _value(answer: Any, attribute: str) -> Any:
    if not isinstance(answer, dict):
        return None
    lowered = {str(k).strip().casefold(): v for k, v in answer.items()}
    return lowered.get(attribute)


def judge_chain(inst: dict[str, Any], raw: str, *, mode: str = "lenient",
                precision: Precision | int | str = 2) -> ChainJudged:
    """Judge raw model output ``raw`` on a chain instance."""
    targets = inst["target_attribute"].split("+")
    parsed = extract_answer(raw, mode)
    if not parsed.ok:
        return ChainJudged(False, False, dict.fromkeys(targets, False))
    value, gold = parsed.value, inst["answer"]
    if len(targets) == 1:
        right = {targets[0]: not is_null(value) and answers_match(value, gold, precision, mode)}
    else:
        right = {t: _value(value, t) is not None
                 and answers_match(_value(value, t), gold[t], precision, mode) for t in targets}
    correct = all(right.values())
    return ChainJudged(True, correct, right, None if correct else _first_wrong(raw, inst))


def _first_wrong(raw: str, inst: dict[str, Any]) -> int | None:
    """The 1-based hop whose object the reply names wrongly (hop count + 1: every object
    right, the answer wrong); None when the reply names no objects."""
    found = _OBJECTS.findall(raw)
    if not found:
        return None
    try:
        named = json.loads("[" + found[-1] + "]")
    except ValueError:
        return None
    for k, gold in enumerate(inst["chain"]):
        if k >= len(named) or str(named[k]).strip().casefold() != gold.casefold():
            return k + 1
    return len(inst["chain"]) + 1


@dataclass
class ChainReport:
    """Scores of one predictions file on a chain benchmark; ``to_dict`` is ``--json``."""

    split: str
    mode: str
    overall: Cell = field(default_factory=Cell)
    by_hops: dict[str, Cell] = field(default_factory=dict)
    by_pattern: dict[str, Cell] = field(default_factory=dict)
    by_object_count: dict[str, Cell] = field(default_factory=dict)
    by_pair: dict[str, Cell] = field(default_factory=dict)
    by_attribute: dict[str, Cell] = field(default_factory=dict)  # two-target answers
    # wrong replies that name their objects, by the first one wrong: "1" the pointer's own
    # object, "2" the one the first relation reaches, ...; "answer" when every object is right
    first_wrong_hop: dict[str, int] = field(default_factory=dict)
    longest: int = 0  # the longest chain seen (objects), for first_wrong_hop's zero counts
    outcomes: dict[str, str] = field(default_factory=dict)
    missing_ids: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    unparseable: int = 0
    suite: str = "chain"

    @property
    def n(self) -> int:
        return self.overall.total

    def add(self, inst: dict[str, Any], judged: ChainJudged | None) -> None:
        if judged is None:
            self.missing_ids.append(inst["id"])
            self.outcomes[inst["id"]] = "missing"
            correct = False
        else:
            self.unparseable += not judged.parsed
            correct = judged.correct
            self.outcomes[inst["id"]] = ("correct" if correct else "wrong" if judged.parsed
                                         else "unparseable")
            if "+" in inst["target_attribute"]:
                for attr, ok in judged.attributes.items():
                    self.by_attribute.setdefault(attr, Cell()).add(ok)
            self.longest = max(self.longest, len(inst["chain"]))
            if judged.first_wrong is not None:
                key = str(judged.first_wrong) if judged.first_wrong <= len(inst["chain"]) \
                    else "answer"
                self.first_wrong_hop[key] = self.first_wrong_hop.get(key, 0) + 1
        self.overall.add(correct)
        for cells, key in ((self.by_hops, str(inst["hops"])), (self.by_pattern, inst["task"]),
                           (self.by_object_count, str(inst["object_count"])),
                           (self.by_pair, f"{inst['pointer_attribute']}->"
                                          f"{inst['target_attribute']}")):
            cells.setdefault(key, Cell()).add(correct)

    def to_dict(self) -> dict[str, Any]:
        def accuracies(cells: dict[str, Cell], numeric: bool = False) -> dict[str, float]:
            keys = sorted(cells, key=lambda k: (int(k) if numeric else 0, k))
            return {k: round(cells[k].accuracy, 2) for k in keys}
        return {"suite": self.suite, "split": self.split, "mode": self.mode, "n": self.n,
                "missing": len(self.missing_ids), "unparseable": self.unparseable,
                "unknown": len(self.unknown_ids), "overall": round(self.overall.accuracy, 2),
                "by_hops": accuracies(self.by_hops, True),
                "by_pattern": accuracies(self.by_pattern),
                "by_object_count": accuracies(self.by_object_count, True),
                "by_pair": accuracies(self.by_pair),
                "by_attribute": accuracies(self.by_attribute),
                "first_wrong_hop": self._first_wrong()}

    def _first_wrong(self) -> dict[str, int]:
        """first_wrong_hop with a count (0 too) for every object of the longest chain, or
        nothing when no reply named its objects."""
        if not self.first_wrong_hop:
            return {}
        keys = [str(k) for k in range(1, self.longest + 1)] + ["answer"]
        return {k: self.first_wrong_hop.get(k, 0) for k in keys}


def _step_name(key: str) -> str:
    """How a first_wrong_hop key reads: object 1 is the pointer's, object k the one the
    question's (k-1)th relation reaches."""
    if key == "answer":
        return "the answer (every object right)"
    return "object 1 (the pointer's own)" if key == "1" else f"object {key} on the way"


def score_chain(instances: list[dict], predictions: dict[str, str], settings: Any) -> ChainReport:
    """The report of ``predictions`` on chain ``instances``."""
    report = ChainReport(settings.split, settings.mode, unknown_ids=settings.unknown)
    for inst in instances:
        raw = predictions.get(inst["id"])
        report.add(inst, None if raw is None else judge_chain(
            inst, raw, mode=settings.mode, precision=inst.get("precision", 2)))
    return report


def format_chain_table(report: ChainReport) -> str:
    """A plain-text summary for terminals."""
    d = report.to_dict()
    lines = [f"suite chain, split {d['split']}, mode {d['mode']}",
             f"overall   {d['overall']:6.1f}%  ({report.overall.correct}/{d['n']})",
             f"missing {d['missing']}, unparseable {d['unparseable']}, unknown ids "
             f"{d['unknown']}"]
    for title, cells in (("hops", d["by_hops"]), ("pattern", d["by_pattern"]),
                         ("object count", d["by_object_count"]),
                         ("attribute (two targets)", d["by_attribute"])):
        if cells:
            lines += ["", f"{title:<24}{'acc':>7}"]
            lines += [f"{k:<24}{v:6.1f}%" for k, v in cells.items()]
    if d["first_wrong_hop"]:
        lines += ["", "wrong replies that name their objects, by the first one wrong:"]
        lines += [f"  {_step_name(k)}: {v}" for k, v in d["first_wrong_hop"].items()]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ baselines

def _objects(inst: dict[str, Any], context: Any) -> list[dict]:
    """The scene's objects as the text states them (size as scale), from its scene file."""
    return [{**o, "size": o["scale"]} for o in context.scenes.objects(inst["scene_id"])]


def _answer_of(obj: dict, targets: list[str], precision: Precision) -> Any:
    from clevrlite.serialize import rounded

    if len(targets) == 1:
        return rounded(obj[targets[0]], precision)
    return {t: rounded(obj[t], precision) for t in targets}


def baseline_answer(kind: str, inst: dict[str, Any], rng: random.Random, context: Any) -> Any:
    """The chain suite's baselines: oracle, random, text-only, blind, first-hop (the answer
    about the pointer's own object, with perfect perception: it catches chains whose hops can
    be skipped) and no-conjunction (perfect perception, but one of a conjunctive pointer's two
    values only)."""
    targets = inst["target_attribute"].split("+")
    precision = Precision.parse(inst.get("precision", 2))
    if kind == "oracle":
        return inst["answer"]
    if kind == "blind":
        return context.mate_answer("blind", inst, rng)
    objects = _objects(inst, context)
    by_name = {o["name"]: o for o in objects}
    if kind == "first-hop":
        return _answer_of(by_name[inst["chain"][0]], targets, precision)
    if kind == "no-conjunction":
        if "&" not in inst["pointer_attribute"]:
            return inst["answer"]
        attr = inst["pointer_attribute"].split("&")[0]
        value = inst["pointer_value"]
        use = rng.choice((attr, "quarter"))
        found = [o for o in objects if (o[attr] == value[attr] if use == attr else
                                        quarter(o["rotation"]) == value["quarter"])]
        return _answer_of(rng.choice(found), targets, precision)
    guesses = text_only_guesses(inst, context.vocab.values)
    if kind == "text-only":
        return rng.choice(guesses)
    return _random_answer(targets, objects, rng, context, precision)


def _random_answer(targets: list[str], objects: list[dict], rng: random.Random, context: Any,
                   precision: Precision) -> Any:
    values = {}
    for t in targets:
        values[t] = context.vocab.draw(t, rng) if t in IMAGE_ATTRS else \
            _answer_of(rng.choice(objects), [t], precision)
    return values[targets[0]] if len(targets) == 1 else values


def text_only_guesses(inst: dict[str, Any], vocabulary_values: Any) -> list[Any]:
    """Every answer a reader of the text alone cannot tell from the gold one: it follows
    each step the text resolves, and spreads over all objects where a step needs the image."""
    from clevrlite.scoring.blind import parse_objects
    from clevrlite.serialize import rounded

    precision = Precision.parse(inst.get("precision", 2))
    listed = parse_objects(inst)
    pointer, value = inst["pointer_attribute"], inst["pointer_value"]
    if "&" in pointer:
        here = [j for j, o in enumerate(listed)
                if quarter(o["rotation"]) == value["quarter"]] or list(range(len(listed)))
    elif pointer in TEXT_ATTRS:
        here = pointed(listed, pointer, value, precision) or list(range(len(listed)))
    else:
        here = list(range(len(listed)))
    for relation in inst["relations"]:
        if relation in IMAGE_RELATIONS:
            here = list(range(len(listed)))
        else:
            here = [nxt for j in here if (nxt := resolve(listed, j, relation, precision))
                    is not None] or list(range(len(listed)))
    targets = inst["target_attribute"].split("+")
    options: list[dict] = [{}]
    for t in targets:
        seen = [rounded(listed[j][t], precision) for j in here] if t in TEXT_ATTRS \
            else vocabulary_values(t)
        options = [{**o, t: v} for o in options for v in seen]
    return [o[targets[0]] for o in options] if len(targets) == 1 else options


# likely_answers draws the withheld attributes in batches of BATCH until KEPT draws hold the
# question as written (or MAX_DRAWS were drawn: a question that rarely holds by chance), and
# answers whose count is within TIE of the most frequent one count as equally likely.
BATCH = 20_000
KEPT = 2_000
MAX_DRAWS = 400_000
TIE = 0.1


def likely_answers(inst: dict[str, Any], vocabulary_values: Any) -> list[Any]:
    """The answers the strongest reader of the text alone finds most likely (its chance).

    It draws what the text withholds (each listed object's colour, and its shape where the
    text leaves it out) uniformly and independently, keeps the draws in which the question
    holds as written (every reference names exactly one object, a conjunctive pointer's
    values are not unique alone, no step comes back to an object already on the chain) and
    counts the answers they lead to. That is the logic of the question without the image:
    the other object with the same colour as Object_2 is not Object_2, and if "the sphere"
    names one object the others are not spheres. An independent adversary's reader built this
    way scored 4 points over text_only_guesses on 5,500 chain questions. Where the text
    contradicts the question (a pointer value no listed object or vocabulary has) it falls
    back to text_only_guesses."""
    from clevrlite.scoring.blind import parse_objects
    from clevrlite.serialize import rounded

    precision = Precision.parse(inst.get("precision", 2))
    listed = parse_objects(inst)
    values = {attr: list(vocabulary_values(attr)) for attr in IMAGE_ATTRS}
    pointer, value = inst["pointer_attribute"], inst["pointer_value"]
    image_value = value[pointer.split("&")[0]] if "&" in pointer else value
    if not listed or (pointer in TEXT_ATTRS and not pointed(listed, pointer, value, precision)) \
            or (pointer not in TEXT_ATTRS and image_value not in values[pointer.split("&")[0]]):
        return text_only_guesses(inst, vocabulary_values)
    targets = inst["target_attribute"].split("+")
    radices = [len(values[t]) if t in IMAGE_ATTRS else len(listed) for t in targets]
    counts = np.zeros(int(np.prod(radices)), np.int64)
    rng = np.random.default_rng(_seed_of(inst["id"]))
    text = _TextSide(inst, listed, values, precision)
    drawn = 0
    while counts.sum() < KEPT and drawn < MAX_DRAWS:
        counts += np.bincount(_kept_answers(inst, text, values, rng), minlength=counts.size)
        drawn += BATCH
    if not counts.any():
        return text_only_guesses(inst, vocabulary_values)
    answers = []
    for k in np.flatnonzero(counts >= (1.0 - TIE) * counts.max()).tolist():
        parts = {}
        for t, radix in zip(reversed(targets), reversed(radices)):
            k, code = divmod(k, radix)
            parts[t] = values[t][code] if t in IMAGE_ATTRS else rounded(listed[code][t], precision)
        answers.append(parts[targets[0]] if len(targets) == 1 else
                       {t: parts[t] for t in targets})
    return answers


class _TextSide:
    """What likely_answers reads from the text once per question: the listed attributes the
    text shows (coded), the objects its pointer names and where its text relations lead."""

    def __init__(self, inst: dict[str, Any], listed: list[dict], values: dict[str, list],
                 precision: Precision) -> None:
        from clevrlite.serialize import rounded

        self.n = len(listed)
        self.shown = {attr: np.array([values[attr].index(o[attr]) if o[attr] in values[attr]
                                      else -1 for o in listed])
                      for attr in IMAGE_ATTRS if all(attr in o for o in listed)}
        pointer, value = inst["pointer_attribute"], inst["pointer_value"]
        self.start = pointed(listed, pointer, value, precision)[0] \
            if pointer in TEXT_ATTRS else None
        self.in_quarter = np.array([quarter(rounded(o["rotation"], precision))
                                    == value["quarter"] for o in listed]) \
            if "&" in pointer else None
        self.steps = {r: np.array([-1 if (j := resolve(listed, k, r, precision)) is None
                                   else j for k in range(self.n)])
                      for r in inst["relations"] if r not in IMAGE_RELATIONS}


def _kept_answers(inst: dict[str, Any], text: _TextSide, values: dict[str, list],
                  rng: np.random.Generator) -> np.ndarray:
    """One batch of likely_answers: the answer (coded in mixed radix over the targets) of
    every draw in which the question holds."""
    n, rows = text.n, np.arange(BATCH)
    codes = {attr: np.broadcast_to(text.shown[attr], (BATCH, n)) if attr in text.shown
             else rng.integers(0, len(values[attr]), (BATCH, n)) for attr in IMAGE_ATTRS}
    ok = np.ones(BATCH, bool)
    pointer, value = inst["pointer_attribute"], inst["pointer_value"]
    if text.start is not None:
        start = np.full(BATCH, text.start)
    else:
        attr = pointer.split("&")[0]
        named = codes[attr] == values[attr].index(value[attr] if "&" in pointer else value)
        if text.in_quarter is not None:
            ok &= named.sum(1) >= 2  # the image's value alone names several objects
            named = named & text.in_quarter
        ok &= named.sum(1) == 1
        start = named.argmax(1)
    chain = [start]
    for relation in inst["relations"]:
        here = chain[-1]
        if relation in IMAGE_RELATIONS:
            same = codes[IMAGE_RELATIONS[relation]]
            partners = same == same[rows, here][:, None]
            partners[rows, here] = False
            ok &= partners.sum(1) == 1
            step = partners.argmax(1)
        else:
            step = text.steps[relation][here]
            ok &= step >= 0
            step = np.maximum(step, 0)
        for earlier in chain:
            ok &= step != earlier
        chain.append(step)
    end = chain[-1]
    key = np.zeros(BATCH, np.int64)
    for t in inst["target_attribute"].split("+"):
        radix, part = (len(values[t]), codes[t][rows, end]) if t in IMAGE_ATTRS else (n, end)
        key = key * radix + part
    return key[ok]


def _seed_of(instance_id: str) -> int:
    return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:8], "little")


# ------------------------------------------------------------------------- audit units

def audit_units(inst: dict[str, Any], know: Any) -> list[Any]:
    """One audit unit per instance: the whole answer, judged as the scorer judges it.

    Chance here is the text's own logic (``likely_answers``): it reads what the text is meant
    to give (the text half of a conjunctive pointer, the hops the text resolves, the text half
    of a two-part answer) and takes every withheld value as equally likely a priori, with
    only what the question's wording implies about them. Against a text-free guess, those
    patterns would fail by design (the rotation quarter alone leaves a few listed objects); a
    blind reader that beats this chance has found that the withheld values are not as likely
    as each other given the text: a way to the image's half without it."""
    from clevrlite.scoring.blind import Unit, object_features, parse_objects, shown_visible

    precision = Precision.parse(inst.get("precision", 2))
    listed = parse_objects(inst)
    targets = inst["target_attribute"].split("+")
    pattern = inst["task"]

    def score(answer: Any) -> float:
        raw = json.dumps({"answer": answer}, ensure_ascii=False)
        return float(judge_chain(inst, raw, precision=precision).correct)

    guesses = likely_answers(inst, know.values)
    shown = shown_visible(listed)
    rows = [object_features(listed, j, know, shown) + _relation_features(listed, j, inst)
            for j in range(len(listed))]
    unit = Unit(inst["id"], f"{inst['object_count']}|{pattern}|{inst['pointer_attribute']}->"
                f"{inst['target_attribute']}", f"{pattern}|{inst['pointer_attribute']}->"
                f"{inst['target_attribute']}", pattern, inst["answer"], score, guesses, None,
                "classify", np.zeros(0))
    unit.uniform = guesses
    if len(targets) == 1 and targets[0] in TEXT_ATTRS:
        unit.kind, unit.features = "choose", np.asarray(rows, float)
        unit.options = [o.get(targets[0]) for o in listed]
    else:
        start = _text_start(listed, inst, precision)
        unit.features = np.asarray((rows[start] if start is not None else [0.0] * len(rows[0]))
                                   + [float(len(listed))], float)
    return [unit]


def _text_start(listed: list[dict], inst: dict[str, Any], precision: Precision) -> int | None:
    pointer = inst["pointer_attribute"]
    if pointer not in TEXT_ATTRS:
        return None
    found = pointed(listed, pointer, inst["pointer_value"], precision)
    return found[0] if len(found) == 1 else None


def _relation_features(listed: list[dict], j: int, inst: dict[str, Any]) -> list[float]:
    """Where an object sits for the text relations: first or last in the list, its quarter
    turn and whether it shares it with another object."""
    q = quarter(listed[j]["rotation"]) if "rotation" in listed[j] else 0
    sharing = sum(quarter(o["rotation"]) == q for o in listed if "rotation" in o) - 1
    return [float(j == 0), float(j == len(listed) - 1), float(sharing == 1),
            *(float(q == k) for k in range(4)), float(len(inst["relations"]))]


__all__ = ["ChainJudged", "ChainReport", "audit_units", "baseline_answer", "format_chain_table",
           "judge_chain", "likely_answers", "score_chain", "text_only_guesses"]
