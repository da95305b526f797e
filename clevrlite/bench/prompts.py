"""Questions, few-shot examples, rationales and whole prompts, in clevrlite's own words.

Few-shot examples come from the same scene and teach the format without leaking the answer:
they never concern the target object, and the values of the question's target attribute that
they reveal never leave a single possible answer. For attributes whose values are distinct by
nature (names, coordinates, rotations), no example uses that attribute at all; for a
categorical target, an example whose pointer is that attribute rules its value out (pointer
values are unique), so such examples are capped to leave at least two possible answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from clevrlite.bench.roles import DISTINCT_BY_NATURE, Roles, linking_attributes
from clevrlite.serialize import rounded
from clevrlite.solver import minimal_linking_sets, unique_values, value_key

TASK_INSTRUCTIONS = {
    "img2data": (
        "You are given an image of a 3D scene and a description of the same scene as {fmt}. "
        "The description leaves out the {pointer} of every object. Find the object the "
        "question names in the image, identify that same object in the description using the "
        "attributes both show, and answer from the description."),
    "data2img": (
        "You are given an image of a 3D scene and a description of the same scene as {fmt}. "
        "The description leaves out the {target} of every object. Find the object the "
        "question names in the description, identify that same object in the image using the "
        "attributes both show, and answer from the image."),
    "img2img": (
        "You are given an image of a 3D scene. Find the object the question names and answer "
        "about it from the image."),
    "data2data": (
        "You are given a description of a 3D scene as {fmt}. Find the object the question "
        "names and answer about it from the description."),
}
CONVENTIONS = (
    "Conventions: 3d_coords are [x, y, z] in scene units with z pointing up and z = 0 on the "
    "floor; rotation is the yaw about the vertical axis in degrees; size is the object's "
    "scale in scene units (the radius of its footprint on the floor).")
FORMAT_NAMES = {"json": "JSON", "yaml": "YAML", "xml": "XML", "text": "plain English text"}


@dataclass(frozen=True)
class Shot:
    """A worked example on the same scene: another object, another question."""

    object_index: int
    pointer: str
    target: str


def pointer_phrase(attribute: str, value: Any) -> str:
    """How a question names the object whose ``attribute`` is ``value``."""
    if attribute == "color":
        return f"the {value} object"
    if attribute == "shape":
        return f"the {value}"
    if attribute == "name":
        return f"the object named {value}"
    return f"the object whose {attribute} is {json.dumps(value, ensure_ascii=False)}"


def question(pointer: str, pointer_value: Any, target: str) -> str:
    return f"What is the {target} of {pointer_phrase(pointer, pointer_value)}?"


def answer_json(value: Any) -> str:
    return json.dumps({"answer": value}, ensure_ascii=False)


def answer_format(target: str, example: Any) -> str:
    """The required answer format, with the JSON type the target takes."""
    kind = ("a list of three numbers" if isinstance(example, list)
            else "a number" if isinstance(example, (int, float)) else "a string")
    return (f'End your reply with a JSON object {{"answer": ...}} whose value is {kind}, '
            f"written as in the scene description where it appears there.")


def shot_candidates(views: Sequence[dict], target_index: int, task: str, pointer: str,
                    target: str, roles: Roles, precision: int | None) -> list[Shot]:
    """Every example that obeys the rules (module docstring), in a fixed order.

    In cross-modal tasks an example also never concerns a twin of the target (an object equal
    to it on every linking attribute), since ruling twins out would resolve by elimination
    the ambiguity that the linking attributes leave.
    """
    twins: set[int] = set()
    if task in ("img2data", "data2img"):
        link = linking_attributes(pointer, target)
        key = [value_key(views[target_index][a], precision) for a in link]
        twins = {i for i, v in enumerate(views)
                 if [value_key(v[a], precision) for a in link] == key}
    out = []
    for shot_pointer, shot_target in roles.pairs(task):
        if target in DISTINCT_BY_NATURE and target in (shot_pointer, shot_target):
            continue
        for value, index in unique_values(views, shot_pointer, precision=precision).items():
            if index != target_index and index not in twins:
                out.append(Shot(index, shot_pointer, shot_target))
    return out


def choose_shots(candidates: Sequence[Shot], count: int, rng: np.random.Generator,
                 target: str = "", target_values: int = 0) -> list[Shot] | None:
    """``count`` examples about distinct objects, or None if the scene has too few.

    At most ``target_values - 2`` of them may use the target attribute as their pointer, since
    each rules one of the target's ``target_values`` possible values out.
    """
    budget = max(0, target_values - 2)
    chosen: list[Shot] = []
    for k in rng.permutation(len(candidates)).tolist():
        shot = candidates[k]
        if any(s.object_index == shot.object_index for s in chosen):
            continue
        if shot.pointer == target:
            if not budget:
                continue
            budget -= 1
        chosen.append(shot)
        if len(chosen) == count:
            return chosen
    return chosen if count == 0 else None


def rationale(task: str, views: Sequence[dict], index: int, pointer: str, target: str,
              precision: int | None, size_labels: dict[float, str],
              hidden: str | None = None) -> str:
    """A worked rationale that cites each attribute only as the modality it talks about shows it.

    The image shows sizes as large or small, the text as numbers; the linking attributes cited
    are the smallest minimal linking set, never including ``hidden``, the attribute the
    instance's text withholds.
    """
    obj = views[index]
    link = [a for a in linking_attributes(pointer, target) if a != hidden]
    sets = minimal_linking_sets(views, index, link, precision=precision)
    cited = list(sets[0]) if sets else []
    named = pointer_phrase(pointer, rounded(obj[pointer], _shown(precision)))
    in_text = _join([f"{a} {_say(obj[a], precision)}" for a in cited])
    in_image = _image_words(obj, cited, size_labels)
    coords = _say(obj["3d_coords"], precision)
    answer = f"Its {target} is {_say(obj[target], precision)}."
    if task == "img2data":
        if not cited:
            return (f"In the image, {named} stands where 3d_coords {coords} lie in the "
                    f"description, and no attribute shown in both tells it apart. {answer}")
        article = "an" if in_image[0] in "aeiou" else "a"
        return (f"In the image, {named} is {article} {in_image}. In the description, the only "
                f"object with {in_text} is {obj['name']}. {answer}")
    if task == "data2img":
        if not cited:
            at = "" if pointer == "3d_coords" else f" has 3d_coords {coords}, and"
            return (f"In the description, {named}{at} no attribute shown in both tells it "
                    f"apart, so its position locates it in the image. {answer}")
        return (f"In the description, {named} has {in_text}. In the image, the only "
                f"{in_image} is that object. {answer}")
    where = "image" if task == "img2img" else "description"
    return f"In the {where}, {named} is found. {answer}"


def _join(parts: list[str]) -> str:
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _shown(precision: int | None) -> int | str:
    return "full" if precision is None else precision


def _image_words(obj: dict, cited: Sequence[str], size_labels: dict[float, str]) -> str:
    """E.g. 'large red metal cube' from the cited attributes, as the image shows them."""
    words = [size_labels.get(obj["size"], str(obj["size"])) if "size" in cited else None,
             obj["color"] if "color" in cited else None,
             obj["material"] if "material" in cited else None,
             obj["shape"] if "shape" in cited else "object"]
    return " ".join(str(w) for w in words if w)


def _say(value: Any, precision: int | None) -> str:
    value = rounded(value, _shown(precision))
    return value if isinstance(value, str) else json.dumps(value)


def build_prompt(*, task: str, scene_text: str | None, fmt: str, pointer: str, target: str,
                 question_text: str, example_answer: Any, shots: Sequence[dict],
                 cot: bool) -> str:
    """The whole prompt: instruction, conventions, scene text, examples, question, format."""
    parts = [TASK_INSTRUCTIONS[task].format(fmt=FORMAT_NAMES[fmt], pointer=pointer,
                                            target=target)]
    if scene_text is not None:
        parts += [CONVENTIONS, f"Scene description:\n{scene_text}"]
    for k, shot in enumerate(shots, 1):
        lines = [f"Example {k}:", f"Question: {shot['question']}"]
        if cot:
            lines.append(f"Reasoning: {shot['rationale']}")
        lines.append(f"Answer: {answer_json(shot['answer'])}")
        parts.append("\n".join(lines))
    parts.append(f"Question: {question_text}")
    how = "Think step by step, then answer." if cot else "Answer directly."
    parts.append(f"{how} {answer_format(target, example_answer)}")
    return "\n\n".join(parts)
