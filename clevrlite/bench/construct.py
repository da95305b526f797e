"""Edit a scene's sampled attributes so its instance holds by construction, before placement.

The pointer value is made unique (never left to luck), rotations and numeric user attributes
are made distinct at the benchmark's precision (so a rotation pointer names one object), the
target's smallest linking set is brought to the planned size, and the scene must offer enough
same-scene examples when the build asks for them. A preset may add a scene rule (MATE's: 2 or 3
colours and 1 shape that occur exactly once, on different objects). Example scenes, which other
instances' worked examples come from, get a unique value of every categorical pointer instead.
Only attributes change, so placement afterwards sees the final sizes.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np

from clevrlite.bench.plan import COORDS_ONLY, InstanceSpec
from clevrlite.bench.roles import Roles, categorical_values, linking_attributes, value_count
from clevrlite.bench.shots import choose_same_scene, same_scene_candidates
from clevrlite.placement import sample_attributes
from clevrlite.precision import Precision
from clevrlite.scene import SceneObject
from clevrlite.solver import ConstructionError, constrain_linking, make_unique, value_key
from clevrlite.vocab import Vocabulary

MAX_ATTEMPTS = 100
# A scene rule edits attribute dicts (objects, target index, pointer, vocabulary, generator).
SceneRule = Callable[[list[dict], int, str, Vocabulary, np.random.Generator], None]
T = TypeVar("T")


def by_retry(objects: list[SceneObject], rng: np.random.Generator, vocab: Vocabulary,
             attempt: Callable[[], T | None], failure: str) -> T:
    """The first result of ``attempt`` that is not None, the objects' attributes drawn anew
    before every attempt after the first; after MAX_ATTEMPTS, a ConstructionError saying
    ``failure`` (what could not be met, and the fix)."""
    for k in range(MAX_ATTEMPTS):
        if k:
            objects[:] = [sample_attributes(vocab, rng) for _ in objects]
        result = attempt()
        if result is not None:
            return result
    raise ConstructionError(failure)


def choices_of(vocab: Vocabulary) -> dict[str, list[Any]]:
    """The values each categorical attribute may be edited to (sizes by label)."""
    return {"color": list(vocab.colors), "shape": list(vocab.shapes),
            "material": list(vocab.materials), "size": list(vocab.sizes),
            **{n: list(a.values) for n, a in vocab.attributes.items() if a.values is not None}}


def construct(spec: InstanceSpec, objects: list[SceneObject], rng: np.random.Generator,
              vocab: Vocabulary, roles: Roles, precision: Precision, shots: int,
              rule: SceneRule | None = None) -> int:
    """Edit ``objects`` in place for ``spec``; returns the target object's index.

    ``shots`` same-scene examples must be possible; ``rule`` is a preset's scene rule.
    """
    choices = choices_of(vocab)

    def attempt() -> int | None:
        target = int(rng.integers(len(objects)))
        dicts = attribute_dicts(objects)
        if rule is not None:
            rule(dicts, target, spec.pointer, vocab, rng)
        make_numbers_distinct(dicts, vocab, rng, precision)
        if spec.pointer in choices:
            dicts = make_unique(dicts, target, spec.pointer, choices[spec.pointer], rng)
        if spec.linking is not None:
            goal = None if spec.linking == COORDS_ONLY else spec.linking
            try:
                link = linking_attributes(spec.task, spec.pointer, spec.target)
                dicts = constrain_linking(dicts, target, link, goal, choices, rng,
                                          fixed=(spec.pointer, spec.target))
            except ConstructionError:
                return None
        views = [{**d, "size": vocab.sizes[d["size"]], "3d_coords": [i]}  # any distinct spot
                 for i, d in enumerate(dicts)]
        found = same_scene_candidates(views, target, spec.task, spec.pointer, spec.target,
                                      roles, precision)
        if choose_same_scene(found, shots, rng, spec.target,
                             value_count(vocab, spec.target)) is None:
            return None
        for obj, d in zip(objects, dicts):
            write_back(obj, d, vocab)
        return target

    return by_retry(objects, rng, vocab, attempt,
                    f"instance {spec.id} ({spec.cell}, linking goal {spec.linking}): no scene "
                    f"of {len(objects)} objects met the pointer, linking and {shots}-shot rules "
                    f"in {MAX_ATTEMPTS} attempts; use fewer shots or a larger vocabulary")


def construct_example(objects: list[SceneObject], rng: np.random.Generator, vocab: Vocabulary,
                      roles: Roles, precision: Precision) -> None:
    """Edit an example scene's ``objects`` in place so that every pointer can name an object.

    Numbers become distinct at the shown precision, and each categorical pointer attribute
    (colour, shape, size, user attributes) gets a value that occurs exactly once, on objects
    taken in a random order. An attribute whose vocabulary has a single value cannot be made
    unique and is left as it is.
    """
    choices = choices_of(vocab)
    dicts = attribute_dicts(objects)
    make_numbers_distinct(dicts, vocab, rng, precision)
    pointers = dict.fromkeys(a for a in roles.image + roles.text if categorical_values(vocab, a))
    order = rng.permutation(len(dicts)).tolist()
    for k, attribute in enumerate(pointers):
        try:
            dicts = make_unique(dicts, order[k % len(order)], attribute, choices[attribute], rng)
        except ConstructionError:
            continue
    for obj, d in zip(objects, dicts):
        write_back(obj, d, vocab)


def mate_keys(dicts: list[dict], target: int, pointer: str, vocab: Vocabulary,
              rng: np.random.Generator) -> None:
    """MATE's scene rule: 2 or 3 colours and 1 shape occur exactly once, on different objects.

    As MATE draws them: min(3, n - 1) key colours and one key shape, every other object takes
    non-key values, and the target carries a key value when the pointer is colour or shape.
    Needs at least 4 colours and 2 shapes.
    """
    colors, shapes = list(vocab.colors), list(vocab.shapes)
    n = len(dicts)
    picked_colors = rng.choice(len(colors), min(3, n - 1), replace=False).tolist()
    key_colors = [colors[i] for i in picked_colors]
    key_shape = shapes[int(rng.integers(len(shapes)))]
    plain_colors = [c for c in colors if c not in key_colors]
    plain_shapes = [s for s in shapes if s != key_shape]
    for d in dicts:
        d["color"] = plain_colors[int(rng.integers(len(plain_colors)))]
        d["shape"] = plain_shapes[int(rng.integers(len(plain_shapes)))]
    keys = [("color", c) for c in key_colors] + [("shape", key_shape)]
    holders = rng.permutation(n)[:len(keys)].tolist()
    if pointer in ("color", "shape") and target not in holders[:len(keys)]:
        options = [k for k, (attribute, _) in enumerate(keys) if attribute == pointer]
        holders[options[int(rng.integers(len(options)))]] = target
    elif pointer in ("color", "shape"):
        slot = holders.index(target)
        if keys[slot][0] != pointer:
            options = [k for k, (attribute, _) in enumerate(keys) if attribute == pointer]
            swap = options[int(rng.integers(len(options)))]
            holders[slot], holders[swap] = holders[swap], holders[slot]
    for (attribute, value), index in zip(keys, holders):
        dicts[index][attribute] = value


def attribute_dicts(objects: list[SceneObject]) -> list[dict[str, Any]]:
    """The objects' attributes as dicts, named as in the scene JSON (size by its label)."""
    return [_attributes(i, o) for i, o in enumerate(objects)]


def _attributes(index: int, obj: SceneObject) -> dict[str, Any]:
    return {"name": f"Object_{index}", "color": obj.color, "shape": obj.shape,
            "material": obj.material, "size": obj.size, "rotation": obj.rotation,
            **obj.attributes}


def make_numbers_distinct(dicts: list[dict], vocab: Vocabulary, rng: np.random.Generator,
                           precision: Precision) -> None:
    """Re-draw rotations and numeric user attributes that collide at the shown precision."""
    numeric = {"rotation": ((0.0, 360.0), None)}
    numeric.update({n: (a.range, a.decimals) for n, a in vocab.attributes.items()
                    if a.range is not None})
    for name, ((low, high), decimals) in numeric.items():
        shown = [d for d in (precision.digits, decimals) if d is not None]
        digits = min(shown) if shown else None  # distinct as the text will show them
        at = Precision(digits)
        seen: set = set()
        for d in dicts:
            for _ in range(1000):
                if value_key(d[name], at) not in seen:
                    break
                value = float(rng.uniform(low, high))
                d[name] = value if decimals is None else round(value, decimals)
            else:
                raise ConstructionError(f"cannot give {len(dicts)} objects distinct {name} "
                                        f"values at {digits} decimals; widen its range")
            seen.add(value_key(d[name], at))


def write_back(obj: SceneObject, d: dict[str, Any], vocab: Vocabulary) -> None:
    obj.color, obj.shape, obj.material = d["color"], d["shape"], d["material"]
    obj.size, obj.scale, obj.rotation = d["size"], vocab.sizes[d["size"]], d["rotation"]
    obj.attributes = {k: d[k] for k in obj.attributes}
