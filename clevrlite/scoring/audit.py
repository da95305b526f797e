"""The validity audit (DESIGN 11): can a benchmark be answered without its image?

For every judgeable answer (clevrlite.scoring.blind.Unit) the audit compares two policies that
never look at the image:
- the reference (chance): the best policy that links nothing across the modalities, which
  knows the answer space: a constant answer (the commonest gold answer) or a uniform guess
  among the values the scene lists (for the chain suite, among those left after the steps
  the text itself resolves: clevrlite.scoring.chain.audit_units);
- the blind reader: the best of the reference, the rule reader (every known shortcut: shape
  from a centre's height, boxes through CLEVR's default camera, absent-object profiles, worked
  examples from the question's scene) and a learned text-only probe (clevrlite.scoring.probe).

Instances are split in two halves by a hash of their id; every choice (the constant, the probe's
weights, which policy is best in a group) is made on one half and scored on the other, then the
other way round, so no figure is scored on the data that chose it. The gap is the blind
reader's accuracy minus the reference's, per cell and per task, with a 95% interval from the
paired differences. A task whose gap exceeds ``THRESHOLD`` points fails the audit: a reader of
the text alone would beat chance there.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from clevrlite.bench.reader import benchmark_info, load_instances
from clevrlite.bench.registry import get_suite
from clevrlite.errors import UsageError
from clevrlite.scoring.blind import Knowledge, Unit, expected
from clevrlite.scoring.probe import Chooser, Classifier

THRESHOLD = 3.0  # points of accuracy a blind reader may gain over chance, per task
MIN_TO_FIT = 12  # a group needs this many training units to fit a probe
POLICIES = ("constant", "uniform", "rules", "probe")


def _half(unit_id: str) -> int:
    return hashlib.sha256(unit_id.encode()).digest()[0] & 1


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass
class Choice:
    """A policy's answer to one unit: equally likely answers (a list), scored in expectation."""

    policy: str
    answers: list[Any]
    score: float


@dataclass
class Judged:
    """A unit with the reference's and the blind reader's choices (made on the other half)."""

    unit: Unit
    reference: Choice
    blind: Choice


@dataclass
class Row:
    """Accuracies of the reference and the blind reader over some units, and their gap."""

    n: int
    reference: float
    blind: float
    gap: float
    low: float
    high: float
    policies: dict[str, int] = field(default_factory=dict)  # blind policy -> units it answered

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "reference": round(self.reference, 2),
                "blind": round(self.blind, 2), "gap": round(self.gap, 2),
                "interval": [round(self.low, 2), round(self.high, 2)],
                "policies": dict(sorted(self.policies.items()))}


def summarise(judged: list[Judged]) -> Row:
    """Accuracy in percent of both policies, their mean paired gap and its 95% interval."""
    n = len(judged)
    ref = np.array([j.reference.score for j in judged]) * 100.0
    blind = np.array([j.blind.score for j in judged]) * 100.0
    diff = blind - ref
    gap = float(diff.mean()) if n else 0.0
    half = 1.96 * float(diff.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return Row(n, float(ref.mean()) if n else 0.0, float(blind.mean()) if n else 0.0, gap,
               gap - half, gap + half, dict(Counter(j.blind.policy for j in judged)))


@dataclass
class AuditReport:
    """The audit of one benchmark; ``to_dict`` is ``clevrlite audit --json``."""

    suite: str
    judged: list[Judged]
    threshold: float = THRESHOLD

    def rows(self, by: str) -> dict[str, Row]:
        groups: dict[str, list[Judged]] = defaultdict(list)
        for j in self.judged:
            groups[getattr(j.unit, by)].append(j)
        return {k: summarise(v) for k, v in sorted(groups.items(), key=lambda kv: _order(kv[0]))}

    def failures(self) -> list[str]:
        """The tasks whose gap exceeds the threshold."""
        return [task for task, row in self.rows("task").items() if row.gap > self.threshold]

    @property
    def passed(self) -> bool:
        return not self.failures()

    def to_dict(self, cells: bool = True) -> dict[str, Any]:
        out = {"suite": self.suite, "threshold": self.threshold, "passed": self.passed,
               "failed_tasks": self.failures(), "n": len(self.judged),
               "overall": summarise(self.judged).to_dict(),
               "by_task": {k: r.to_dict() for k, r in self.rows("task").items()},
               "by_group": {k: r.to_dict() for k, r in self.rows("group").items()}}
        if cells:
            out["by_cell"] = {k: r.to_dict() for k, r in self.rows("cell").items()}
        return out


def headline(summary: dict[str, Any]) -> str:
    """One line of an audit's ``to_dict``: passed or failed, and the largest task gap."""
    rows = summary.get("by_task") or {}
    if not rows:
        return "audit: nothing to judge (every instance is meant for its text alone)"
    task, row = max(rows.items(), key=lambda kv: kv[1]["gap"])
    verdict = "passed" if summary["passed"] else "FAILED"
    return (f"audit {verdict}: the largest gap between a reader without the image and chance "
            f"is {row['gap']:+.1f} points ({task}; threshold {summary['threshold']:g})")


def _order(key: str) -> tuple:
    parts = key.split("|")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def audit(benchmark_dir: str | Path, split: str = "all") -> AuditReport:
    """Audit the benchmark in ``benchmark_dir`` (one split of it, or all)."""
    info = benchmark_info(benchmark_dir)
    instances = [i for insts in load_instances(benchmark_dir, split).values() for i in insts]
    path = Path(benchmark_dir) / "stats.json"
    try:
        vocabulary = json.loads(path.read_text(encoding="utf-8")).get("vocabulary") or {}
    except (OSError, ValueError, AttributeError):
        raise UsageError(f"cannot read {str(path)!r}: the audit needs the benchmark's "
                         f"vocabulary; rebuild it with this clevrlite version") from None
    return audit_instances(info.suite, instances,
                           Knowledge(vocabulary, info.width, info.height))


def audit_instances(suite_name: str, instances: Iterable[dict],
                    knowledge: Knowledge) -> AuditReport:
    """Audit ``instances`` of suite ``suite_name`` (a build audits what it just wrote)."""
    suite = get_suite(suite_name)
    units = [u for inst in instances for u in suite.audit_units(inst, knowledge)]
    return AuditReport(suite.name, judge_units(units))


def judge_units(units: list[Unit]) -> list[Judged]:
    """Every unit judged by the reference and the blind reader chosen on the other half."""
    groups: dict[str, list[Unit]] = defaultdict(list)
    for u in units:
        groups[u.group].append(u)
    judged = []
    for members in groups.values():
        halves = ([u for u in members if _half(u.id) == 0], [u for u in members if _half(u.id)])
        for k in (0, 1):
            judged += _judge_half(halves[1 - k], halves[k])
    order = {u.id: i for i, u in enumerate(units)}
    return sorted(judged, key=lambda j: order[j.unit.id])


def _judge_half(train: list[Unit], test: list[Unit]) -> list[Judged]:
    """Choose the policies on ``train`` and answer ``test`` with them."""
    if not test:
        return []
    answer = {"constant": _constant(train), "uniform": lambda u: u.uniform,
              "rules": lambda u: u.rules, "probe": _probe(train)}
    usable = {p: f for p, f in answer.items() if f is not None}

    def mean(policy: str, units: list[Unit], answer_of=None) -> float:
        answer_of = answer_of or usable[policy]
        scored = [expected(a, u.score) for u in units if (a := answer_of(u)) is not None]
        return sum(scored) / len(units) if units and scored else -1.0

    fitness = {p: mean(p, train) for p in usable if p != "probe"}
    if "probe" in usable:  # judged out of sample within the training half, as it will be used
        inner = ([u for u in train if _half(u.id + "/inner") == 0],
                 [u for u in train if _half(u.id + "/inner")])
        folds = [(inner[1 - k], inner[k]) for k in (0, 1)]
        fitted = [(_probe(fit), held) for fit, held in folds]
        fitness["probe"] = (sum(mean("probe", held, model) * len(held)
                                for model, held in fitted if model is not None)
                            / len(train)) if all(m is not None for m, _ in fitted) else -1.0
    references = [p for p in ("constant", "uniform") if p in usable]
    reference = max(references, key=lambda p: fitness[p]) if train else "uniform"
    blind = max(usable, key=lambda p: (fitness[p], -POLICIES.index(p))) if train else reference
    if fitness.get(blind, -1.0) <= fitness.get(reference, -1.0):
        blind = reference  # no reader beats chance on the training half

    def choice(policy: str, u: Unit) -> Choice:
        answers = usable[policy](u) if policy in usable else None
        if answers is None:
            policy, answers = "uniform", u.uniform or []
        return Choice(policy, list(answers), expected(answers, u.score))

    return [Judged(u, choice(reference, u), choice(blind, u)) for u in test]


def _constant(train: list[Unit]):
    """The commonest gold answer of the training half, for every test unit."""
    if not train:
        return None
    counts = Counter(_key(u.truth) for u in train)
    best = min(counts, key=lambda k: (-counts[k], k))
    value = json.loads(best)
    return lambda u: [value]


def _probe(train: list[Unit]):
    """The probe fitted on the training half (None: too few units to fit)."""
    if len(train) < MIN_TO_FIT:
        return None
    if train[0].kind == "choose":
        rows = [u.features for u in train if len(u.features)]
        right = [np.array([u.score(o) for o in u.options]) for u in train if len(u.features)]
        if not rows or not any(r.any() for r in right):
            return None
        model = Chooser(rows, right)
        return lambda u: [u.options[i] for i in model.choose(u.features)] if len(
            u.features) else None
    classifier = Classifier([u.features for u in train], [u.truth for u in train])
    return lambda u: [classifier.predict(u.features)]


def blind_answers(report: AuditReport, seed: int = 0) -> dict[str, list[tuple[Unit, Any]]]:
    """The blind reader's one answer to each unit, by instance id (a uniform guess resolved
    by a generator seeded with the seed and the unit)."""
    out: dict[str, list[tuple[Unit, Any]]] = defaultdict(list)
    for j in report.judged:
        rng = random.Random(f"blind/{seed}/{j.unit.id}")
        answers = j.blind.answers
        out[j.unit.id.split("#", 1)[0]].append((j.unit, rng.choice(answers) if answers
                                                else None))
    return out


def format_audit(report: AuditReport, cells: bool = False) -> str:
    """A plain-text table of the audit: per task, per pointer and target, per cell."""
    verdict = "passed" if report.passed else f"FAILED ({', '.join(report.failures())})"
    lines = [f"suite {report.suite}: blind readers against chance (no cross-modal link), gap "
             f"threshold {report.threshold:g} points per task; {verdict}", ""]
    sections = [("task", report.rows("task")), ("pointer->target", report.rows("group"))]
    if cells:
        sections.append(("cell", report.rows("cell")))
    for title, rows in sections:
        width = max([len(title)] + [len(k) for k in rows])
        lines.append(f"{title:<{width}}  {'n':>6}  {'chance':>7}  {'blind':>7}  {'gap':>7}  "
                     f"{'95% interval':>16}  best blind policy")
        for key, r in rows.items():
            policy = max(r.policies, key=r.policies.get) if r.policies else "-"
            lines.append(f"{key:<{width}}  {r.n:>6}  {r.reference:6.1f}%  {r.blind:6.1f}%  "
                         f"{r.gap:+6.1f}  [{r.low:+6.1f}, {r.high:+6.1f}]  {policy}")
        lines.append("")
    return "\n".join(lines).rstrip()
