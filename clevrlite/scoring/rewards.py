"""Verifiable rewards for RL on clevrlite benchmarks: one function per suite, with named parts.

Every reward is a weighted mean of parts in [0, 1] (weights can be set), computed from the same
judgement the scorer makes (clevrlite.scoring.judge), so a reward of exactly 1 holds when, and
only when, ``clevrlite score`` counts the answer correct.

- ``mate_reward``: ``format`` (an answer could be parsed) and ``answer`` (it is correct).
- ``grounding_reward``: ``format``, ``answer``, and ``iou_credit``: for a box answer with a
  gold box, min(1, IoU / 0.5) (full credit from the threshold on, continuous below it; not
  the IoU itself); elsewhere the answer part.
- ``gmner_reward``, MCR's constraints: ``format`` (a list of entities), ``count`` (as many
  entities as the passage names), ``span`` (entity names, F1), ``type`` (entity and type,
  F1), ``entailment`` (box versus null decided right, per entity), ``grounding`` (the GMNER
  triple, F1: thresholded at IoU 0.5) and ``iou_credit`` (continuous: mean over the gold
  boxes of min(1, IoU / 0.5); the scorer's ``mean_iou`` is the plain mean IoU).

The decisive part (``answer``, or ``grounding`` for gmner) must keep a positive weight, or
reward 1 would no longer mean correct. ``reward`` asks the instance's suite
(clevrlite.bench.registry), which calls its function here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from clevrlite.bench.registry import suite_of_instance
from clevrlite.precision import DEFAULT, Precision
from clevrlite.scoring.judge import IOU_THRESHOLD, f1, judge_entities, judge_single

@dataclass(frozen=True)
class Parts:
    """A reward's parts with their default weights, and the part that decides correctness."""

    name: str
    weights: dict[str, float]
    decisive: str


MATE = Parts("mate", {"format": 0.1, "answer": 0.9}, "answer")
GROUNDING = Parts("grounding", {"format": 0.1, "answer": 0.7, "iou_credit": 0.2}, "answer")
CHAIN = Parts("chain", {"format": 0.1, "answer": 0.7, "attributes": 0.2}, "answer")
GMNER = Parts("gmner", {"format": 0.1, "count": 0.1, "span": 0.15, "type": 0.1,
                        "entailment": 0.15, "grounding": 0.3, "iou_credit": 0.1}, "grounding")
_BELOW_ONE = math.nextafter(1.0, 0.0)


@dataclass(frozen=True)
class Reward:
    """A reward, its parts, and whether the scorer counts the answer correct."""

    value: float
    parts: dict[str, float]
    correct: bool


def check_weights(parts: Parts, weights: Mapping[str, float] | None) -> dict[str, float]:
    """The default weights of ``parts`` with ``weights`` applied; ValueError names a bad one."""
    if not weights:
        return parts.weights
    merged = dict(parts.weights)
    for name, value in (weights or {}).items():
        if name not in merged:
            raise ValueError(f"{parts.name} reward has no part {name!r}; parts: "
                             f"{', '.join(merged)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or value < 0:
            raise ValueError(f"weight of {name!r} must be a finite number >= 0, got {value!r}")
        merged[name] = float(value)
    if merged[parts.decisive] <= 0:
        raise ValueError(f"the {parts.decisive!r} weight must stay positive, or reward 1 "
                         f"would not mean correct")
    return merged


def _combine(parts: dict[str, float], weights: dict[str, float], correct: bool) -> Reward:
    if correct:
        return Reward(1.0, parts, True)
    total = sum(weights.values())
    value = sum(weights[k] * parts[k] for k in weights) / total
    return Reward(min(value, _BELOW_ONE), parts, False)


def mate_reward(completion: str, instance: Mapping[str, Any], *,
                weights: Mapping[str, float] | None = None, mode: str = "lenient",
                precision: Precision | int | str = DEFAULT) -> Reward:
    """The reward of a MATE-suite completion (see the module docstring)."""
    w = check_weights(MATE, weights)
    judged = judge_single(instance, completion, mode=mode, precision=precision)
    parts = {"format": float(judged.parsed), "answer": float(judged.correct)}
    return _combine(parts, w, judged.correct)


def grounding_reward(completion: str, instance: Mapping[str, Any], *,
                     weights: Mapping[str, float] | None = None, box_format: str = "xyxy",
                     size: tuple[int, int] = (480, 320), mode: str = "lenient",
                     precision: Precision | int | str = DEFAULT) -> Reward:
    """The reward of a grounding-suite completion (see the module docstring)."""
    w = check_weights(GROUNDING, weights)
    judged = judge_single(instance, completion, mode=mode, precision=precision,
                          box_format=box_format, size=size)
    answer = float(judged.correct)
    overlap = answer if judged.iou is None else min(1.0, judged.iou / IOU_THRESHOLD)
    parts = {"format": float(judged.parsed), "answer": answer, "iou_credit": overlap}
    return _combine(parts, w, judged.correct)


def gmner_reward(completion: str, instance: Mapping[str, Any], *,
                 weights: Mapping[str, float] | None = None, box_format: str = "xyxy",
                 size: tuple[int, int] = (480, 320)) -> Reward:
    """The reward of a gmner completion (see the module docstring)."""
    w = check_weights(GMNER, weights)
    j = judge_entities(instance, completion, box_format=box_format, size=size)
    if not j.parsed:
        return _combine(dict.fromkeys(w, 0.0), w, False)
    gold = max(j.gold, 1)
    grounded = j.gold - j.absent
    decided = j.null_right + (j.named - j.null_predicted - j.absent_boxed)
    parts = {
        "format": 1.0,
        "count": 1.0 - min(1.0, abs(j.predicted - j.gold) / gold),
        "span": f1(j.named, j.predicted, j.gold)[2] / 100.0,
        "type": f1(j.mner, j.predicted, j.gold)[2] / 100.0,
        "entailment": decided / max(j.predicted, j.gold, 1),
        "grounding": f1(j.gmner, j.predicted, j.gold)[2] / 100.0,
        "iou_credit": j.credit_sum / grounded if grounded else 1.0,
    }
    return _combine(parts, w, j.correct)


def chain_reward(completion: str, instance: Mapping[str, Any], *,
                 weights: Mapping[str, float] | None = None, mode: str = "lenient",
                 precision: Precision | int | str = DEFAULT) -> Reward:
    """The reward of a chain-suite completion: ``format``, ``answer`` and, for two targets,
    ``attributes`` (the share of them right)."""
    from clevrlite.scoring.chain import judge_chain

    w = check_weights(CHAIN, weights)
    judged = judge_chain(dict(instance), completion, mode=mode, precision=precision)
    right = judged.attributes
    parts = {"format": float(judged.parsed), "answer": float(judged.correct),
             "attributes": sum(right.values()) / len(right) if right else 0.0}
    return _combine(parts, w, judged.correct)


def reward(completion: str, instance: Mapping[str, Any], **options: Any) -> Reward:
    """The reward of a completion on any clevrlite instance (or exported ground truth), by
    its suite. An exported ground truth brings its image size, which box formats need."""
    if "image_size" in instance and "size" not in options:
        options["size"] = tuple(instance["image_size"])
    return suite_of_instance(instance).reward(completion, instance, **options)


def _ground_truth(value: Any) -> Mapping[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def verl_compute_score(data_source: str, solution_str: str, ground_truth: Any,
                       extra_info: Mapping[str, Any] | None = None) -> dict[str, float]:
    """verl's custom reward function (``custom_reward_function.name``) for ``--to verl``
    exports: the reward as ``score``, with its parts and ``correct`` as extra metrics."""
    result = reward(solution_str, _ground_truth(ground_truth))
    return {"score": result.value, "correct": float(result.correct), **result.parts}


def trl_reward(prompts: list[Any], completions: list[Any], ground_truth: list[Any],
               **columns: Any) -> list[float]:
    """TRL GRPOTrainer's reward function for ``--to trl`` exports: one float per completion
    (conversational completions are message lists; the last message's content is read)."""
    out = []
    for completion, truth in zip(completions, ground_truth):
        if isinstance(completion, list):
            completion = completion[-1]["content"] if completion else ""
            if isinstance(completion, list):  # content parts
                completion = "".join(p.get("text") or "" for p in completion)
        out.append(reward(str(completion), _ground_truth(truth)).value)
    return out


__all__ = ["CHAIN", "GMNER", "GROUNDING", "MATE", "Parts", "Reward", "chain_reward",
           "check_weights", "gmner_reward", "grounding_reward",
           "mate_reward", "reward", "trl_reward", "verl_compute_score"]
