"""The hooks of an lmms-eval task folder written by ``--to lmms-eval`` (its utils.py imports
them), called with exactly the arguments lmms-eval passes (checked against lmms-eval 0.7.2):
``doc_to_visual(doc)``, ``doc_to_text(doc, lmms_eval_specific_kwargs)``, ``doc_to_target(doc)``,
``process_results(doc, results)`` with ``results`` the list of generated strings, and each
metric's ``aggregation(values)``. Scoring goes through clevrlite's judge, so lmms-eval's
accuracy is clevrlite's.
"""

from __future__ import annotations

import json
from typing import Any

from clevrlite.bench.registry import suite_of_instance
from clevrlite.scoring.judge import f1
from clevrlite.scoring.rewards import reward


def doc_to_visual(doc: dict[str, Any]) -> list[Any]:
    """Every image the prompt shows, in order, as RGB PIL images."""
    return [image.convert("RGB") for image in doc["images"]]


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    """The prompt, with the model's pre- and post-prompt when the YAML gives them."""
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['prompt']}{kwargs.get('post_prompt', '')}"


def doc_to_target(doc: dict[str, Any]) -> str:
    """The gold answer, as JSON."""
    return doc["answer"]


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Judge the model's answer with clevrlite: correct, and the counts of a corpus F1 where the suite has one."""
    truth = json.loads(doc["ground_truth"])
    output = results[0] if results else ""
    judged = reward(output, truth)
    out: dict[str, Any] = {"clevrlite_accuracy": float(judged.correct),
                           "clevrlite_reward": judged.value}
    counts = suite_of_instance(truth).f1_counts(truth, output)
    if counts is not None:
        out["clevrlite_gmner_f1"] = counts
    return out


def aggregate_mean(values: list[float]) -> float:
    """Mean in percent."""
    return 100.0 * sum(values) / len(values) if values else 0.0


def aggregate_f1(values: list[dict[str, int]]) -> float:
    """Micro GMNER F1 in percent over the corpus."""
    return f1(sum(v["matched"] for v in values), sum(v["predicted"] for v in values),
              sum(v["gold"] for v in values))[2]
