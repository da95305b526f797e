"""Edit a scene's sampled attributes so its instance holds by construction, before placement.

The pointer value is made unique (never left to luck), rotations and numeric user attributes
are made distinct at the benchmark's precision (so a rotation pointer names one object), the
target's smallest linking set is brought to the planned size, and the scene must offer enough
few-shot examples. Only attributes change, so placement afterwards sees the final sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clevrlite.bench.plan import COORDS_ONLY, InstanceSpec
from clevrlite.bench.prompts import choose_shots, shot_candidates
from clevrlite.bench.roles import Roles, linking_attributes, value_count
from clevrlite.placement import sample_attributes
from clevrlite.scene import SceneObject
from clevrlite.solver import ConstructionError, constrain_linking, make_unique, value_key
from clevrlite.vocab import Vocabulary

MAX_ATTEMPTS = 100


def construct(spec: InstanceSpec, objects: list[SceneObject], rng: np.random.Generator,
              vocab: Vocabulary, roles: Roles, precision: int | None, shots: int) -> int:
    """Edit ``objects`` in place for ``spec``; returns the target object's index."""
    choices: dict[str, list[Any]] = {
        "color": list(vocab.colors), "shape": list(vocab.shapes),
        "material": list(vocab.materials), "size": list(vocab.sizes),
        **{n: list(a.values) for n, a in vocab.attributes.items() if a.values is not None}}
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            objects[:] = [sample_attributes(vocab, rng) for _ in objects]
        target = int(rng.integers(len(objects)))
        dicts = [_attributes(i, o) for i, o in enumerate(objects)]
        _make_numbers_distinct(dicts, vocab, rng, precision)
        if spec.pointer in choices:
            dicts = make_unique(dicts, target, spec.pointer, choices[spec.pointer], rng)
        if spec.linking is not None:
            goal = None if spec.linking == COORDS_ONLY else spec.linking
            try:
                dicts = constrain_linking(dicts, target, linking_attributes(spec.pointer,
                                                                            spec.target),
                                          goal, choices, rng, fixed=(spec.pointer, spec.target))
            except ConstructionError:
                continue
        views = [{**d, "size": vocab.sizes[d["size"]], "3d_coords": [i]}  # any distinct spot
                 for i, d in enumerate(dicts)]
        found = shot_candidates(views, target, spec.task, spec.pointer, spec.target, roles,
                                precision)
        if choose_shots(found, shots, rng, spec.target,
                        value_count(vocab, spec.target)) is None:
            continue
        for obj, d in zip(objects, dicts):
            _write_back(obj, d, vocab)
        return target
    raise ConstructionError(
        f"instance {spec.id} ({spec.cell}, linking goal {spec.linking}): no scene of "
        f"{len(objects)} objects met the pointer, linking and {shots}-shot rules in "
        f"{MAX_ATTEMPTS} attempts; use fewer shots or a larger vocabulary")


def _attributes(index: int, obj: SceneObject) -> dict[str, Any]:
    return {"name": f"Object_{index}", "color": obj.color, "shape": obj.shape,
            "material": obj.material, "size": obj.size, "rotation": obj.rotation,
            **obj.attributes}


def _make_numbers_distinct(dicts: list[dict], vocab: Vocabulary, rng: np.random.Generator,
                           precision: int | None) -> None:
    """Re-draw rotations and numeric user attributes that collide at the shown precision."""
    numeric = {"rotation": ((0.0, 360.0), None)}
    numeric.update({n: (a.range, a.decimals) for n, a in vocab.attributes.items()
                    if a.range is not None})
    for name, ((low, high), decimals) in numeric.items():
        shown = [d for d in (precision, decimals) if d is not None]
        digits = min(shown) if shown else None  # distinct as the text will show them
        seen: set = set()
        for d in dicts:
            for _ in range(1000):
                if value_key(d[name], digits) not in seen:
                    break
                value = float(rng.uniform(low, high))
                d[name] = value if decimals is None else round(value, decimals)
            else:
                raise ConstructionError(f"cannot give {len(dicts)} objects distinct {name} "
                                        f"values at {digits} decimals; widen its range")
            seen.add(value_key(d[name], digits))


def _write_back(obj: SceneObject, d: dict[str, Any], vocab: Vocabulary) -> None:
    obj.color, obj.shape, obj.material = d["color"], d["shape"], d["material"]
    obj.size, obj.scale, obj.rotation = d["size"], vocab.sizes[d["size"]], d["rotation"]
    obj.attributes = {k: d[k] for k in obj.attributes}
