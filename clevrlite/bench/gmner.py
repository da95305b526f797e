"""The gmner suite (DESIGN 8): grounded multimodal entity recognition on synthetic scenes.

Each instance is an image and an English passage that mentions several objects by name, each
with a full description (size, colour, material, shape). The model returns every entity the
passage mentions with its type (the object's shape) and its box in the image, or null:
``{"answer": [{"entity": "Object_3", "type": "cube", "box": [x1, y1, x2, y2] or null}]}``.

A mention is ``grounded`` (its description identifies exactly one image object), ``absent``
(it identifies none, and every image object differs from it in two or more visible
attributes) or ``absent_lookalike`` (it identifies none, and exactly one image object differs
from it in exactly one). Some image objects are never mentioned (``image_only``): an entity
output for one of them is a visual-bias error. Instance lines carry the passage as ``text``
and ``entities`` with character offsets into it.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np

from clevrlite.bench.construct import (MAX_ATTEMPTS, attribute_dicts, by_retry, choices_of,
                                       make_numbers_distinct, write_back)
from clevrlite.bench.lookalike import VISIBLE, absent_holds, differences, lookalikes, make_absent
from clevrlite.bench.plan import InstanceSpec
from clevrlite.bench.prompts import answer_json
from clevrlite.bench.reader import ENTITY_KEYS
from clevrlite.bench.shots import ExampleScene, image_fields
from clevrlite.bench.suite import BuildContext, ScoreSettings, Split, Suite
from clevrlite.bench.validity import check_gmner
from clevrlite.precision import Precision
from clevrlite.scene import SceneObject
from clevrlite.solver import ConstructionError
from clevrlite.vocab import Vocabulary

TASK = "gmner"
SENTENCES = ("{name} is {desc}.", "There is {desc} called {name}.",
             "{name}, {desc}, is part of the scene.", "The scene also holds {name}, {desc}.")
INSTRUCTION = (
    "You are given an image of a 3D scene and a passage about it. Find every object the "
    "passage mentions by name. For each, give its name as the passage writes it, its type "
    "(its shape, as the passage says) and its box in the image as [x1, y1, x2, y2] in pixels "
    "from the top-left corner (x2 and y2 exclusive), or null when the image does not show it. "
    "Give no object the passage does not name.")
OTHER_SCENES = ("Each worked example is about another scene, with its own image and passage; "
                "the question is about the last image and the last passage.")
ANSWER_FORMAT = ('End your reply with a JSON object {"answer": [{"entity": ..., "type": ..., '
                 '"box": ...}, ...]} listing the entities in the order the passage names them.')


def absent_count(spec: InstanceSpec, seed: int) -> int:
    """How many absent objects instance ``spec`` lists: 1 or 2, drawn from the seed."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, spec.index, 5]))
    return 1 + int(rng.integers(2))


def construct(objects: list[SceneObject], absent: int, rng: np.random.Generator,
              vocab: Vocabulary, precision: Precision) -> dict[str, Any]:
    """Edit ``objects`` (the image's plus ``absent`` more) in place; returns the mention plan:
    which objects the passage names, in order, and each absent one's look-alike."""
    choices = choices_of(vocab)

    def attempt() -> dict[str, Any] | None:
        missing = sorted(rng.choice(len(objects), absent, replace=False).tolist())
        drawn = [i for i in range(len(objects)) if i not in missing]
        named = int(rng.integers(1, len(drawn)))  # at least one image object goes unnamed
        grounded = sorted(rng.choice(drawn, named, replace=False).tolist())
        wants = {a: bool(rng.integers(2)) for a in missing}
        dicts = attribute_dicts(objects)
        make_numbers_distinct(dicts, vocab, rng, precision)
        _spread(dicts, grounded, choices, rng)
        for i in grounded:  # a grounded description identifies exactly one image object
            for j in drawn:
                if j != i and differences(dicts[i], dicts[j]) == 0:
                    _change(dicts[j], VISIBLE[int(rng.integers(len(VISIBLE)))], choices, rng)
        image = [dicts[i] for i in drawn]
        unnamed = [dicts[i] for i in drawn if i not in grounded]
        for a in missing:  # a look-alike is never named: no mention is one away from another
            if not make_absent(dicts[a], image, wants[a], vocab, rng, models=unnamed):
                return None
        if any(differences(dicts[i], dicts[j]) == 0 for i in grounded for j in drawn if j != i):
            return None
        if not all(absent_holds(dicts[a], image, wants[a]) for a in missing):
            return None
        mentions = grounded + missing
        if any(differences(dicts[i], dicts[j]) < 2 for i in mentions for j in mentions if i < j):
            return None  # the passage alone must not tell which mentions are absent
        for obj, d in zip(objects, dicts):
            write_back(obj, d, vocab)
        for a in missing:
            objects[a].drawn = False
        order = [int(i) for i in rng.permutation(grounded + missing)]
        return {"mentions": order, "absent": missing,
                "lookalike": {str(a): drawn[lookalikes(dicts[a], image)[0]] if wants[a]
                              else None for a in missing},
                "sentences": [int(rng.integers(len(SENTENCES))) for _ in order]}

    return by_retry(objects, rng, vocab, attempt,
                    f"no scene of {len(objects)} objects met the gmner rules in "
                    f"{MAX_ATTEMPTS} attempts; use a larger vocabulary")


def _change(d: dict[str, Any], attribute: str, choices: dict[str, list],
            rng: np.random.Generator) -> None:
    """Give ``d`` another value of ``attribute`` (when the vocabulary has one)."""
    others = [v for v in choices[attribute] if v != d[attribute]]
    if others:
        d[attribute] = others[int(rng.integers(len(others)))]


def _spread(dicts: list[dict], mentions: list[int], choices: dict[str, list],
            rng: np.random.Generator, steps: int = 60) -> None:
    """Edit mentioned objects until every two differ in at least two visible attributes:
    then no description is a twin or a near twin of another, whether a mention is grounded
    or absent (identical descriptions were always absent ones, which a reader could tell)."""
    for _ in range(steps):
        close = [(i, j) for i in mentions for j in mentions
                 if i < j and differences(dicts[i], dicts[j]) < 2]
        if not close:
            return
        _, j = close[int(rng.integers(len(close)))]
        _change(dicts[j], VISIBLE[int(rng.integers(len(VISIBLE)))], choices, rng)


def describe(obj: dict[str, Any]) -> str:
    """'a large red metal cube' (the article follows the first word)."""
    words = f"{obj['size']} {obj['color']} {obj['material']} {obj['shape']}"
    return ("an " if words[:1].lower() in "aeiou" else "a ") + words


def passage(data: dict[str, Any], plan: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The passage and its entities (offsets, type, box, condition, look-alike)."""
    objects = data["objects"]
    text, entities = "", []
    for index, template in zip(plan["mentions"], plan["sentences"]):
        obj = objects[index]
        sentence = SENTENCES[template].format(name="\0", desc=describe(obj))
        head, _, tail = sentence.partition("\0")
        if text:
            text += " "
        start = len(text) + len(head)
        text += head + obj["name"] + tail
        look = plan["lookalike"].get(str(index))
        absent = index in plan["absent"]
        entities.append({
            "entity": obj["name"], "start": start, "end": start + len(obj["name"]),
            "type": obj["shape"], "box": None if absent else obj["bbox"],
            "condition": ("absent_lookalike" if look is not None else "absent") if absent
            else "grounded",
            "lookalike": None if look is None else objects[look]["name"]})
    return text, entities


def gold(entities: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answer: every mentioned entity with its type and box (null when absent)."""
    return [{"entity": e["entity"], "type": e["type"], "box": e["box"]} for e in entities]


def rationale(entities: Sequence[dict[str, Any]], data: dict[str, Any]) -> str:
    """A worked rationale: each mention, matched to the image or found missing."""
    by_name = {o["name"]: o for o in data["objects"]}
    parts = []
    for e in entities:
        desc = describe(by_name[e["entity"]])
        if e["box"] is None:
            parts.append(f"{e['entity']} is {desc}, and no object in the image is that.")
        else:
            parts.append(f"{e['entity']} is {desc}; the image shows it at {json.dumps(e['box'])}.")
    return " ".join(parts)


def example_item(stem: str, data: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    """A worked example from an example scene: its image, passage, answer and rationale."""
    text, entities = passage(data, plan)
    return {"scene_id": stem, "image": f"images/{stem}.png", "text": text,
            "answer": gold(entities), "rationale": rationale(entities, data)}


def build_prompt(text: str, shots: Sequence[dict[str, Any]], cot: bool) -> str:
    """The whole gmner prompt: instruction, examples with their images, passage, format."""
    parts = [INSTRUCTION + (" " + OTHER_SCENES if shots else "")]
    for k, shot in enumerate(shots, 1):
        lines = [f"Example {k} (image {k}):", f"Passage: {shot['text']}"]
        if cot:
            lines.append(f"Reasoning: {shot['rationale']}")
        lines.append(f"Answer: {answer_json(shot['answer'])}")
        parts.append("\n".join(lines))
    if shots:
        parts.append(f"Now the scene of the question (image {len(shots) + 1}).")
    parts.append(f"Passage: {text}")
    how = "Think step by step, then answer." if cot else "Answer directly."
    parts.append(f"{how} {ANSWER_FORMAT}")
    return "\n\n".join(parts)


def record(options: Any, spec: InstanceSpec, data: dict[str, Any], plan: dict[str, Any],
           examples: Sequence[ExampleScene]) -> dict[str, Any]:
    """One gmner instance line."""
    text, entities = passage(data, plan)
    named = {e["entity"] for e in entities}
    drawn = [o for o in data["objects"] if o.get("drawn", True)]
    rng = np.random.default_rng(np.random.SeedSequence([options.seed, spec.index, 1]))
    pool = [e.extra for e in examples]
    picks = rng.permutation(len(pool))[:options.shots].tolist() if options.shots else []
    if len(picks) < options.shots:
        raise ConstructionError(f"instance {spec.id}: only {len(pool)} example scenes of "
                                f"{spec.n_objects} objects for {options.shots} examples")
    shots = [pool[k] for k in picks]
    return {
        "id": spec.id,
        **image_fields(data, shots),
        "task": TASK,
        "object_count": len(drawn),
        "text": text,
        "entities": entities,
        "image_only": [o["name"] for o in drawn if o["name"] not in named],
        "answer": gold(entities),
        "scene_format": "text",
        "prompt": build_prompt(text, shots, options.cot),
        "shots": shots,
        "rationale": rationale(entities, data) if options.cot else None,
    }


class GmnerSuite(Suite):
    """Grounded multimodal entity recognition on synthetic scenes (module docstring)."""

    name = "gmner"
    splits = (Split("gmner", "gmner.jsonl", "gm", (TASK,)),)
    required_keys = ENTITY_KEYS
    judged_keys = ("id", "task", "answer", "entities", "image_only")
    example_extra = 1
    max_extra_objects = 2
    baseline_kinds = ("random", "oracle", "text-only", "text-only-shots", "lookalike", "blind")
    ability = "grounded entity recognition"
    corpus_f1 = True

    def extra_objects(self, spec: InstanceSpec, seed: int) -> int:
        return absent_count(spec, seed)

    def construct(self, spec: InstanceSpec, objects: list[SceneObject],
                  rng: np.random.Generator, ctx: BuildContext) -> dict[str, Any]:
        return construct(objects, absent_count(spec, ctx.options.seed), rng, ctx.vocab,
                         ctx.options.precision)

    def construct_example(self, objects: list[SceneObject], rng: np.random.Generator,
                          ctx: BuildContext) -> dict[str, Any]:
        return construct(objects, self.example_extra, rng, ctx.vocab,
                         ctx.options.precision)

    def example_scene(self, stem: str, data: dict[str, Any], kept: Any,
                      ctx: BuildContext) -> ExampleScene:
        return ExampleScene(stem, [], extra=example_item(stem, data, kept))

    def record(self, ctx: BuildContext, spec: InstanceSpec, data: dict[str, Any], chosen: Any,
               has_image: bool, examples: Sequence[ExampleScene]) -> dict[str, Any]:
        return record(ctx.options, spec, data, chosen, examples)

    def cell(self, record: dict[str, Any]) -> str:
        return f"{record['object_count']}|{TASK}"

    def check(self, options: Any, records: Iterable[dict[str, Any]]) -> list[str]:
        return check_gmner(options.out, records)

    def score(self, instances: list[dict], predictions: dict[str, str],
              settings: ScoreSettings, scenes: Any) -> Any:
        from clevrlite.scoring.entities import score_entities

        return score_entities(instances, predictions, settings.split, settings.box_format,
                              settings.size, settings.unknown, settings.iou_rule,
                              settings.duplicates)

    def baseline(self, kind: str, inst: dict[str, Any], rng: Any, context: Any) -> Any:
        from clevrlite.scoring.grounding_baselines import gmner_answer

        # Without the image no box can be right, so the best blind policy for GMNER F1 gives
        # every entity a null box: it is text-only (the audit judges the null decision apart).
        family = "text-only" if kind in ("text-only-shots", "blind") else kind
        return gmner_answer(family, inst, rng, context.scenes, context.shapes)

    def reward(self, completion: str, instance: dict[str, Any], **options: Any) -> Any:
        from clevrlite.scoring.rewards import gmner_reward

        return gmner_reward(completion, instance, **options)

    def audit_units(self, instance: dict[str, Any], knowledge: Any) -> list[Any]:
        from clevrlite.scoring.blind import mention_units

        return mention_units(instance, knowledge)

    def f1_counts(self, instance: dict[str, Any], output: str) -> dict[str, int] | None:
        from clevrlite.scoring.judge import judge_entities

        judged = judge_entities(instance, output, size=tuple(instance["image_size"]))
        return {"matched": judged.gmner, "predicted": judged.predicted, "gold": judged.gold}
