"""The MATE suite (DESIGN 5): MATE's cross-modal linking tasks and the unimodal controls.

One record per instance, from its scene JSON and the target chosen by construction
(clevrlite.bench.construct); worked examples come from other scenes' example files, or from the
scene itself (MATE's way). The grounding suite builds on this one and overrides its hooks:
which objects the image shows, which ones linking tells the target from, whether the target
may be absent.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from clevrlite import serialize
from clevrlite.bench import construct
from clevrlite.bench.options import BenchmarkOptions
from clevrlite.bench.plan import InstanceSpec
from clevrlite.bench.presets import get_preset
from clevrlite.bench.prompts import (build_prompt, conventions, pointer_phrase, question,
                                     rationale)
from clevrlite.bench.reader import INSTANCE_KEYS
from clevrlite.bench.roles import (CROSS_MODAL_TASKS, UNIMODAL_TASKS, Roles, bench_view,
                                   categorical_values, linking_attributes, value_count,
                                   withheld)
from clevrlite.bench.shots import (ExampleScene, Shot, choose_other_scenes,
                                   choose_same_scene, same_scene_candidates)
from clevrlite.bench.suite import BuildContext, ScoreSettings, Split, Suite
from clevrlite.scene import SceneObject
from clevrlite.precision import Precision
from clevrlite.serialize import rounded
from clevrlite.solver import ConstructionError, minimal_linking_sets


class MateSuite(Suite):
    """MATE's tasks: a pointer read in one modality, the answer in the other (or the same,
    in the unimodal controls)."""

    name = "mate"
    splits = (Split("cross_modal", "cross_modal.jsonl", "cm", CROSS_MODAL_TASKS),
              Split("unimodal", "unimodal.jsonl", "um", UNIMODAL_TASKS, "unimodal_size"))
    required_keys = INSTANCE_KEYS
    judged_keys = ("id", "task", "target_attribute", "answer", "precision")
    baseline_kinds = ("random", "oracle", "text-only", "text-only-shots", "blind")
    ability = "cross-modal entity linking"
    takes_mate_options = True

    # ------------------------------------------------------------------------ building

    def construct(self, spec: InstanceSpec, objects: list[SceneObject],
                  rng: np.random.Generator, ctx: BuildContext) -> Any:
        rule = getattr(get_preset(ctx.options.preset), "rule", None)
        return construct.construct(spec, objects, rng, ctx.vocab, ctx.roles,
                                   ctx.options.precision, ctx.options.examples_needed,
                                   rule)

    def construct_example(self, objects: list[SceneObject], rng: np.random.Generator,
                          ctx: BuildContext) -> Any:
        construct.construct_example(objects, rng, ctx.vocab, ctx.roles,
                                    ctx.options.precision)

    def example_scene(self, stem: str, data: dict[str, Any], kept: Any,
                      ctx: BuildContext) -> ExampleScene:
        return ExampleScene(stem, self.views(data, ctx)[0])

    def views(self, data: dict[str, Any], ctx: BuildContext) -> tuple[list[dict], list[int]]:
        """The scene's objects as the suite sees them, and the positions of those the image
        shows (all of them here)."""
        views = [bench_view(o, ctx.options.coords) for o in data["objects"]]
        return views, list(range(len(views)))

    def conventions(self, ctx: BuildContext) -> str:
        """What the prompt says about the scene text's numbers."""
        return conventions(ctx.options.coords)

    def target(self, chosen: Any) -> int:
        """The target object's position, from what construction chose."""
        return chosen

    def link_among(self, spec: InstanceSpec, views: list[dict], drawn: list[int]) -> list[int]:
        """The objects linking must tell the target apart from (all of them here)."""
        return list(range(len(views)))

    def absent(self, spec: InstanceSpec) -> bool:
        """Whether the target is missing from the image (its answer is then null)."""
        return False

    def nullable(self, spec: InstanceSpec) -> bool:
        """Whether the prompt says that null answers an object the image does not show."""
        return False

    def record(self, ctx: BuildContext, spec: InstanceSpec, data: dict[str, Any], chosen: Any,
               has_image: bool, examples: Sequence[ExampleScene]) -> dict[str, Any]:
        """One jsonl line (DESIGN 5). Keys starting with ``_`` stay in the part file only
        (MATE's same-scene examples)."""
        options, vocab, roles = ctx.options, ctx.vocab, ctx.roles
        precision = options.precision
        size_labels = {v: k for k, v in vocab.sizes.items()}
        views, drawn = self.views(data, ctx)
        target, absent = self.target(chosen), self.absent(spec)
        obj = views[target]
        scene_id = data["image_filename"].rsplit(".", 1)[0]
        image = f"images/{data['image_filename']}" if has_image else None
        text = _scene_text(roles, views, spec.task, spec.pointer, spec.target, options)
        among = self.link_among(spec, views, drawn)
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
        pointer_value = rounded(obj[spec.pointer], precision)
        answer = None if absent else rounded(obj[spec.target], precision)
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
            "object_count": len(drawn),
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
                                   choices=choices, conventions=self.conventions(ctx),
                                   nullable=self.nullable(spec)),
            "linking_sets": [list(s) for s in links],
            "min_linking_size": len(links[0]) if links else None,
            "precision": precision.label,
            "shots": shots,
            "rationale": worked,
        }
        if options.mate_compat and len(shots) < len(same) or options.other_scene_shots and same:
            record["_same_scene_shots"] = same
        return record

    # ------------------------------------------------------------------------ scoring

    def score(self, instances: list[dict], predictions: dict[str, str],
              settings: ScoreSettings, scenes: Any) -> Any:
        from clevrlite.scoring.evaluate import score_values

        return score_values(self, instances, predictions, settings, scenes)

    def baseline(self, kind: str, inst: dict[str, Any], rng: Any, context: Any) -> Any:
        return context.mate_answer(kind, inst, rng)

    def audit_units(self, instance: dict[str, Any], knowledge: Any) -> list[Any]:
        from clevrlite.scoring.blind import single_unit
        from clevrlite.scoring.judge import judge_value

        precision = Precision.parse(instance.get("precision", 2))
        size = (knowledge.width, knowledge.height)

        def score(value: Any) -> float:
            return float(judge_value(instance, value, precision=precision, size=size).correct)

        unit = single_unit(instance, knowledge, precision, score)
        return [] if unit is None else [unit]

    def reward(self, completion: str, instance: dict[str, Any], **options: Any) -> Any:
        from clevrlite.scoring.rewards import mate_reward

        options.pop("box_format", None)
        options.pop("size", None)
        return mate_reward(completion, instance,
                           precision=Precision.parse(instance.get("precision", 2)), **options)


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
                               options.precision, size_labels, hidden),
    }


def _other_scene_items(spec: InstanceSpec, examples: Sequence[ExampleScene], roles: Roles,
                       options: BenchmarkOptions, size_labels: dict[float, str],
                       rng: np.random.Generator) -> list[dict[str, Any]]:
    """The instance's worked examples, each from a different example scene."""
    picked = choose_other_scenes(examples, options.shots, spec.task, spec.pointer, spec.target,
                                 roles, options.precision, rng)
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
