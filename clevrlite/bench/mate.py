"""The MATE suite's instance records (DESIGN 5): scene text, question, examples, prompt.

One record per instance, from its scene JSON and the target chosen by construction; worked
examples come from other scenes' example files, or from the scene itself (MATE's way).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from clevrlite import serialize
from clevrlite.bench.options import BenchmarkOptions
from clevrlite.bench.plan import InstanceSpec
from clevrlite.bench.prompts import (CONVENTIONS, build_prompt, pointer_phrase, question,
                                     rationale)
from clevrlite.bench.roles import (Roles, bench_view, categorical_values,
                                   linking_attributes, value_count, withheld)
from clevrlite.bench.shots import (ExampleScene, Shot, choose_other_scenes,
                                   choose_same_scene, same_scene_candidates)
from clevrlite.serialize import rounded
from clevrlite.solver import ConstructionError, minimal_linking_sets
from clevrlite.vocab import Vocabulary


def instance_record(options: BenchmarkOptions, spec: InstanceSpec, data: dict[str, Any],
                    target: int, vocab: Vocabulary, has_image: bool,
                    examples: Sequence[ExampleScene] = (), *, roles: Roles | None = None,
                    views: list[dict] | None = None, link_among: Sequence[int] | None = None,
                    absent: bool = False, object_count: int | None = None,
                    conventions: str = CONVENTIONS, nullable: bool = False) -> dict[str, Any]:
    """One jsonl line (DESIGN 5) for the instance whose scene JSON is ``data``.

    ``examples`` are the example scenes of this object count. Keys starting with ``_`` stay
    in the part file only (MATE's same-scene examples). Suites that build on this one pass
    their own ``roles`` and object ``views``, the objects linking must tell the target from
    (``link_among``, default all), ``absent`` when the target is not in the image (its
    answer is then null and nothing links it), and the ``object_count`` the image shows.
    """
    precision, shown = options.solver_precision, options.precision
    roles = roles or Roles.for_vocab(vocab)
    size_labels = {v: k for k, v in vocab.sizes.items()}
    views = views if views is not None else [bench_view(o) for o in data["objects"]]
    obj = views[target]
    scene_id = data["image_filename"].rsplit(".", 1)[0]
    image = f"images/{data['image_filename']}" if has_image else None
    text = _scene_text(roles, views, spec.task, spec.pointer, spec.target, options)
    among = list(range(len(views))) if link_among is None else list(link_among)
    links = [] if absent else minimal_linking_sets(
        [views[i] for i in among], among.index(target),
        linking_attributes(spec.task, spec.pointer, spec.target), precision=precision)
    rng = np.random.default_rng(np.random.SeedSequence([options.seed, spec.index, 1]))
    hidden = withheld(spec.task, spec.pointer, spec.target)
    same: list[dict] = []
    if options.examples_needed:
        picked = choose_same_scene(
            same_scene_candidates(views, target, spec.task, spec.pointer, spec.target, roles,
                                  precision),
            options.examples_needed, rng, spec.target, value_count(vocab, spec.target))
        if picked is None:
            raise ConstructionError(f"instance {spec.id}: its scene offers too few examples")
        same = [_shot_item(spec.task, views, s, options, size_labels, hidden, scene_id)
                for s in picked]
    if options.other_scene_shots:
        shots = _other_scene_items(spec, examples, roles, options, size_labels, rng)
    else:
        shots = same[:options.shots]
    pointer_value = rounded(obj[spec.pointer], shown)
    answer = None if absent else rounded(obj[spec.target], shown)
    asked = question(spec.pointer, pointer_value, spec.target)
    choices = (categorical_values(vocab, spec.target) or None) if spec.target in roles.image \
        else None
    images = [s["image"] for s in shots if s["image"]] + ([image] if image else [])
    if not options.cot:
        worked = None
    elif absent:
        worked = (f"In the description, {pointer_phrase(spec.pointer, pointer_value)} has no "
                  f"match among the objects in the image, so the image does not show it. "
                  f"Its {spec.target} is null.")
    else:
        worked = rationale(spec.task, views, target, spec.pointer, spec.target, precision,
                           size_labels)
    record = {
        "id": spec.id,
        "scene_id": scene_id,
        "image": image,
        "images": images,
        "task": spec.task,
        "object_count": len(views) if object_count is None else object_count,
        "pointer_attribute": spec.pointer,
        "pointer_value": pointer_value,
        "target_attribute": spec.target,
        "target_object": obj["name"],
        "answer": answer,
        "choices": choices,
        "scene_text": text,
        "scene_format": options.fmt if text is not None else None,
        "question": asked,
        "prompt": build_prompt(task=spec.task, scene_text=text, fmt=options.fmt,
                               pointer=spec.pointer, target=spec.target, question_text=asked,
                               example_answer=obj[spec.target], shots=shots, cot=options.cot,
                               choices=choices, conventions=conventions, nullable=nullable),
        "linking_sets": [list(s) for s in links],
        "min_linking_size": len(links[0]) if links else None,
        "precision": shown,
        "shots": shots,
        "rationale": worked,
    }
    if options.mate_compat and len(shots) < len(same) or options.other_scene_shots and same:
        record["_same_scene_shots"] = same
    return record


def _scene_text(roles: Roles, views: list[dict], task: str, pointer: str, target: str,
                options: BenchmarkOptions) -> str | None:
    """The scene as the task's text shows it (None for img2img, which has no text)."""
    shown = roles.shown_in_text(task, pointer, target)
    if shown is None:
        return None
    return serialize.dumps({"objects": views}, options.fmt, attributes=list(shown),
                           precision=options.precision)


def _shot_item(task: str, views: list[dict], shot: Shot, options: BenchmarkOptions,
               size_labels: dict[float, str], hidden: str | None, scene_id: str,
               image: str | None = None, scene_text: str | None = None) -> dict[str, Any]:
    """A worked example as the instance line records it."""
    obj = views[shot.object_index]
    pointer_value = rounded(obj[shot.pointer], options.precision)
    return {
        "scene_id": scene_id, "image": image, "scene_text": scene_text, "object": obj["name"],
        "pointer_attribute": shot.pointer, "pointer_value": pointer_value,
        "target_attribute": shot.target,
        "question": question(shot.pointer, pointer_value, shot.target),
        "answer": rounded(obj[shot.target], options.precision),
        "rationale": rationale(task, views, shot.object_index, shot.pointer, shot.target,
                               options.solver_precision, size_labels, hidden),
    }


def _other_scene_items(spec: InstanceSpec, examples: Sequence[ExampleScene], roles: Roles,
                       options: BenchmarkOptions, size_labels: dict[float, str],
                       rng: np.random.Generator) -> list[dict[str, Any]]:
    """The instance's worked examples, each from a different example scene."""
    picked = choose_other_scenes(examples, options.shots, spec.task, spec.pointer, spec.target,
                                 roles, options.solver_precision, rng)
    if len(picked) < options.shots:
        raise ConstructionError(f"instance {spec.id}: {len(examples)} example scenes of "
                                f"{spec.n_objects} objects offer only {len(picked)} examples")
    items = []
    for k, shot in picked:
        scene = examples[k]
        image = f"images/{scene.stem}.png" if spec.task != "data2data" else None
        text = _scene_text(roles, scene.views, spec.task, shot.pointer, shot.target, options)
        items.append(_shot_item(spec.task, scene.views, shot, options, size_labels, None,
                                scene.stem, image, text))
    return items
