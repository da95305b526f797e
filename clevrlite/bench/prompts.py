"""Questions, rationales and whole prompts, in clevrlite's own words.

A prompt is the task's instruction, the conventions of the scene text, the worked examples
(clevrlite.bench.shots chooses them), the question's scene text, the question, the allowed
values when the answer is read off the image, and the answer format. Examples from other
scenes bring their own image and text; the prompt numbers the images in the order the
instance's ``images`` list gives them (the examples' first, the question's last).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from clevrlite.bench.roles import linking_attributes
from clevrlite.precision import Precision
from clevrlite.serialize import rounded
from clevrlite.solver import minimal_linking_sets

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
CONTACT_CONVENTIONS = (
    "Conventions: 3d_coords are [x, y, z] in scene units with z pointing up: the point where "
    "the object rests on the floor, so z = 0; rotation is the yaw about the vertical axis in "
    "degrees; size is the object's scale in scene units (the radius of its footprint on the "
    "floor).")


def conventions(coords: str) -> str:
    """What a prompt says about the scene text's numbers, for the ``--coords`` convention."""
    return CONTACT_CONVENTIONS if coords == "contact" else CONVENTIONS
# Added to the instruction when the examples come from other scenes.
OTHER_SCENES = {
    "img2data": ("Each worked example is about another scene, with its own image and "
                 "description; the question is about the last image and the last description."),
    "data2img": ("Each worked example is about another scene, with its own image and "
                 "description; the question is about the last image and the last description."),
    "img2img": ("Each worked example is about another scene, with its own image; the question "
                "is about the last image."),
    "data2data": ("Each worked example is about another scene, with its own description; the "
                  "question is about the last description."),
}
FORMAT_NAMES = {"json": "JSON", "yaml": "YAML", "xml": "XML", "text": "plain English text"}


def pointer_phrase(attribute: str, value: Any) -> str:
    """How a question names the object whose ``attribute`` is ``value``."""
    if attribute == "bbox":
        return f"the object inside {json.dumps(value)}"
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


def answer_format(target: str, example: Any, nullable: bool = False) -> str:
    """The required answer format, with the JSON type the target takes."""
    if target == "bbox":
        kind = "a box [x1, y1, x2, y2] of four integers"
    else:
        kind = ("a list of three numbers" if isinstance(example, list)
                else "a number" if isinstance(example, (int, float)) else "a string")
    if nullable:
        kind += ", or null when the object is not in the image"
    return (f'End your reply with a JSON object {{"answer": ...}} whose value is {kind}, '
            f"written as in the scene description where it appears there.")


def rationale(task: str, views: Sequence[dict], index: int, pointer: str, target: str,
              precision: Precision, size_labels: dict[float, str],
              hidden: str | None = None) -> str:
    """A worked rationale that cites each attribute only as the modality it talks about shows it.

    The image shows sizes as large or small, the text as numbers; the linking attributes cited
    are the smallest minimal linking set, never including ``hidden``, an attribute the text
    withholds beyond this question's own (a same-scene example reads the question's text).
    """
    obj = views[index]
    link = [a for a in linking_attributes(task, pointer, target) if a != hidden]
    sets = minimal_linking_sets(views, index, link, precision=precision)
    cited = list(sets[0]) if sets else []
    named = pointer_phrase(pointer, rounded(obj[pointer], precision))
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


def _image_words(obj: dict, cited: Sequence[str], size_labels: dict[float, str]) -> str:
    """E.g. 'large red metal cube' from the cited attributes, as the image shows them."""
    words = [size_labels.get(obj["size"], str(obj["size"])) if "size" in cited else None,
             obj["color"] if "color" in cited else None,
             obj["material"] if "material" in cited else None,
             obj["shape"] if "shape" in cited else "object"]
    return " ".join(str(w) for w in words if w)


def _say(value: Any, precision: Precision) -> str:
    value = rounded(value, precision)
    return value if isinstance(value, str) else json.dumps(value)


def build_prompt(*, task: str, scene_text: str | None, fmt: str, pointer: str, target: str,
                 question_text: str, example_answer: Any, shots: Sequence[dict], cot: bool,
                 choices: Sequence[Any] | None = None, conventions: str = CONVENTIONS,
                 nullable: bool = False) -> str:
    """The whole prompt: instruction, conventions, examples, scene text, question, format.

    A shot with its own ``image`` or ``scene_text`` comes from another scene and is shown with
    them; one without reads the question's scene. ``choices`` lists the allowed answers (the
    values of an attribute read off the image); ``nullable`` says that null answers an object
    the image does not show.
    """
    own_scenes = any(s.get("image") or s.get("scene_text") for s in shots)
    parts = [TASK_INSTRUCTIONS[task].format(fmt=FORMAT_NAMES[fmt], pointer=pointer,
                                            target=target)]
    if own_scenes:
        parts[0] += " " + OTHER_SCENES[task]
    if scene_text is not None or own_scenes and task != "img2img" or target == "bbox" \
            or pointer == "bbox":
        parts.append(conventions)
    if scene_text is not None and not own_scenes:
        parts.append(f"Scene description:\n{scene_text}")
    image = 0
    for k, shot in enumerate(shots, 1):
        head = f"Example {k}:"
        if shot.get("image"):
            image += 1
            head = f"Example {k} (image {image}):"
        lines = [head]
        if shot.get("scene_text"):
            lines.append(f"Scene description:\n{shot['scene_text']}")
        lines.append(f"Question: {shot['question']}")
        if cot:
            lines.append(f"Reasoning: {shot['rationale']}")
        lines.append(f"Answer: {answer_json(shot['answer'])}")
        parts.append("\n".join(lines))
    if own_scenes:
        where = "" if task == "data2data" else f" (image {image + 1})"
        parts.append(f"Now the scene of the question{where}."
                     + (f"\nScene description:\n{scene_text}" if scene_text is not None else ""))
    parts.append(f"Question: {question_text}")
    ending = []
    if choices:
        ending.append(f"The {target} is one of: {', '.join(str(c) for c in choices)}.")
    ending.append("Think step by step, then answer." if cot else "Answer directly.")
    ending.append(answer_format(target, example_answer, nullable))
    parts.append(" ".join(ending))
    return "\n\n".join(parts)
