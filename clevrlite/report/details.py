"""What the instance browser shows of one instance: the prompt with the question's pointer (or
the passage's entity mentions) marked, the gold answer, and each model's raw output with its
parsed answer and, for box answers, the boxes to draw over the image.

Marks are (start, end, kind) offsets into a text; the page builds the text from them with
textContent, so nothing a model wrote is ever read as HTML. Predicted boxes are read by the
scorer's own parsers (clevrlite.scoring.answers.extract_answer, then
clevrlite.scoring.boxes.parse_box under the report's box format) and given in image pixels.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from clevrlite.report.models import Model, ScoreOptions
from clevrlite.scoring.answers import extract_answer
from clevrlite.scoring.boxes import MALFORMED, Boxes, parse_box

OUTCOME_CODES = {"correct": "c", "wrong": "w", "unparseable": "u", "missing": "m"}
NOT_SCORED = "-"
SHOWN_ANSWER = 400  # characters of a parsed answer shown; raw outputs are shown whole


def value_texts(value: Any) -> list[str]:
    """How a pointer value may be written in a question or a scene text, in every format."""
    if isinstance(value, list):
        items = [json.dumps(v) for v in value]
        return [f"[{', '.join(items)}]", f"({', '.join(items)})", " ".join(items)]
    if isinstance(value, dict):  # a conjunctive pointer: its image value; its quarter is a
        return [v for v in value.values() if isinstance(v, str)]  # number the text never shows
    if isinstance(value, str):
        return [value]
    return [json.dumps(value)]


def find_marks(text: str, needles: Sequence[str], kind: str, start: int = 0) -> list[list]:
    """[start, end, kind] of every whole-word occurrence of the first needle found in
    ``text[start:]``."""
    for needle in needles:
        if not needle:
            continue
        pattern = re.compile(r"(?<![\w.\-])" + re.escape(needle) + r"(?![\w])")
        found = [[m.start(), m.end(), kind] for m in pattern.finditer(text, start)]
        if found:
            return found
    return []


def _round_box(box: Sequence[float]) -> list[float]:
    return [round(float(v), 1) for v in box]


def predicted_boxes(value: Any, options: ScoreOptions, size: tuple[int, int]) -> tuple[
        list[list[float]], str | None]:
    """The boxes of a parsed answer in pixels, and what it is when it is no box (null,
    malformed)."""
    box = parse_box(value, options.box_format, *size)
    if box is None:
        return [], "null: not in the image"
    if box is MALFORMED:
        return [], "malformed box"
    return [_round_box(b) for b in (box if isinstance(box, Boxes) else [box])], None


def _entity_boxes(value: Any, options: ScoreOptions, size: tuple[int, int]) -> list[list]:
    """[x1, y1, x2, y2, label] of every predicted entity with a box."""
    out = []
    if not isinstance(value, list):
        return out
    for item in value:
        if not isinstance(item, dict):
            continue
        if "entity" not in item:
            item = {str(k).strip().casefold(): v for k, v in item.items()}
        label = str(item.get("entity"))[:40]
        boxes, _ = predicted_boxes(item.get("box"), options, size)
        out += [[*b, label] for b in boxes]
    return out


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_ANSWER else text[:SHOWN_ANSWER] + "…"


def instance_details(inst: dict[str, Any], models: Sequence[Model], options: ScoreOptions,
                     size: tuple[int, int]) -> dict[str, Any]:
    """Everything the browser's detail view shows of one instance."""
    prompt = inst.get("prompt") or ""
    entities = inst.get("entities") if isinstance(inst.get("entities"), list) else None
    box_answer = inst.get("target_attribute") == "bbox"
    detail: dict[str, Any] = {"id": inst["id"], "image": inst.get("image"),
                              "images": list(inst.get("images") or []), "size": list(size)}
    focus = 0
    marks: list[list] = []
    question = inst.get("question")
    scene_text = inst.get("scene_text")
    if entities is not None and isinstance(inst.get("text"), str):
        text = inst["text"]
        at = prompt.rfind(text)
        focus = max(at, 0)
        mentions = [[e["start"], e["end"], "mention"] for e in entities
                    if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)]
        detail["passage"] = {"text": text, "marks": mentions}
        if at >= 0:
            marks = [[s + at, e + at, kind] for s, e, kind in mentions]
    else:
        found = [prompt.rfind(t) for t in (scene_text, question) if isinstance(t, str) and t]
        focus = min((p for p in found if p >= 0), default=0)
        needles = value_texts(inst.get("pointer_value"))
        if isinstance(question, str) and question:
            detail["question"] = {"text": question,
                                  "marks": find_marks(question, needles, "pointer")}
        marks = find_marks(prompt, needles, "pointer", focus)
    detail["prompt"] = {"text": prompt, "marks": marks, "focus": focus}
    detail["gold"] = _shown(inst.get("answer"))
    gold_boxes: list[list] = []
    if box_answer and isinstance(inst.get("answer"), list):
        gold_boxes.append([*_round_box(inst["answer"]), "gold"])
    if inst.get("pointer_attribute") == "bbox" and isinstance(inst.get("pointer_value"), list):
        gold_boxes.append([*_round_box(inst["pointer_value"]), "pointer"])
    for e in entities or []:
        if isinstance(e.get("box"), list):
            gold_boxes.append([*_round_box(e["box"]), str(e.get("entity"))])
    detail["gold_boxes"] = gold_boxes
    detail["facts"] = _facts(inst)
    detail["outputs"] = [_output(inst, m, options, size, box_answer, entities is not None)
                         for m in models]
    return detail


def _output(inst: dict[str, Any], model: Model, options: ScoreOptions, size: tuple[int, int],
            box_answer: bool, entity_answer: bool) -> dict[str, Any] | None:
    """One model's raw output, parsed answer and boxes (None: the file does not cover it)."""
    outcome = model.report.outcomes.get(inst["id"])
    if outcome is None:
        return None
    raw = model.outputs.get(inst["id"])
    out: dict[str, Any] = {"outcome": OUTCOME_CODES.get(outcome, "w"), "raw": raw}
    if raw is None:
        return out
    parsed = extract_answer(raw, "lenient" if entity_answer else options.mode)
    if not parsed.ok:
        return out
    out["answer"] = _shown(parsed.value)
    if box_answer:
        boxes, note = predicted_boxes(parsed.value, options, size)
        out["boxes"] = [[*b, model.name] for b in boxes]
        if note:
            out["note"] = note
    elif entity_answer:
        out["boxes"] = _entity_boxes(parsed.value, options, size)
    return out


FACT_KEYS = (("task", "task"), ("object_count", "objects"), ("condition", "condition"),
             ("pointer_attribute", "pointer"), ("pointer_value", "pointer value"),
             ("target_attribute", "target"), ("target_object", "target object"),
             ("hops", "hops"), ("chain", "objects on the way"), ("relations", "relations"),
             ("choices", "choices"), ("linking_sets", "linking sets"),
             ("min_linking_size", "smallest linking set"), ("scene_format", "scene format"),
             ("scene_id", "scene"))


def _facts(inst: dict[str, Any]) -> list[list[str]]:
    """[label, value] of the instance's facts that it has."""
    facts = []
    for key, label in FACT_KEYS:
        if key in inst and inst[key] is not None:
            value = inst[key]
            facts.append([label, value if isinstance(value, str) else json.dumps(value)])
    return facts


__all__ = ["NOT_SCORED", "OUTCOME_CODES", "find_marks", "instance_details", "predicted_boxes",
           "value_texts"]
