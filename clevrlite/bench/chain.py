"""The chain suite (DESIGN 12): multi-hop, conjunctive and multi-target linking across modalities.

A question starts from a pointer in one modality and reaches its answer in the other through
k = 1, 2 or 3 hops, each hop a relation resolved in the modality that alone can resolve it:
- image relations, on an attribute the text leaves out: "the other object with the same
  colour as ..." and "the other object with the same shape as ...";
- text relations, on what only the description has: "the object listed right after (or
  before) ... in the description", and "the other object whose rotation lies in the same
  quarter turn as ...'s".
Modalities alternate, so every step crosses from one modality to the other: ``I>T`` is MATE's
img2data (k = 1), ``I>T>I`` points in the image, follows a text relation and answers from the
image (k = 2), and so on. Two more kinds of question take one step:
- conjunctive pointers (``I&T>I``, ``I&T>T``): "the red object whose rotation is between 90
  and 180 degrees": an image value and a text value that neither picks one object out alone;
- multi-target answers (``I>I+T``, ``T>I+T``): two attributes of the found object, one from
  each modality, answered as one JSON object.
Every intermediate object is unique by construction and resolved again from the written files
(clevrlite.bench.validity.check_chain). The text leaves out every image attribute the question
reads from the image; the image never shows names or rotations.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np

from clevrlite import serialize
from clevrlite.bench.construct import (MAX_ATTEMPTS, attribute_dicts, by_retry, choices_of,
                                       make_numbers_distinct, write_back)
from clevrlite.bench.plan import InstanceSpec, share
from clevrlite.bench.prompts import FORMAT_NAMES, conventions, pointer_phrase
from clevrlite.bench.roles import Roles, bench_view, categorical_values
from clevrlite.bench.shots import ExampleScene, image_fields
from clevrlite.bench.suite import BuildContext, ScoreSettings, Split, Suite
from clevrlite.precision import Precision
from clevrlite.scene import SceneObject
from clevrlite.serialize import rounded
from clevrlite.solver import ConstructionError, minimal_linking_sets, value_key
from clevrlite.vocab import Vocabulary

TASK = "chain"
IMAGE_ATTRS = ("color", "shape")  # what only the image shows (the text leaves them out)
TEXT_ATTRS = ("name", "rotation")  # what only the text shows
SHARED = ("material", "size")  # both show: they link the modalities
IMAGE_RELATIONS = {"same_color": "color", "same_shape": "shape"}
TEXT_RELATIONS = ("after", "before", "quarter")
PATTERNS = {1: ("I>T", "T>I", "I&T>I", "I&T>T", "I>I+T", "T>I+T"),
            2: ("I>T>I", "T>I>T"),
            3: ("I>T>I>T", "T>I>T>I")}
MARGIN = 0.5  # degrees a constrained rotation keeps from a quarter's edge


def hops(pattern: str) -> int:
    """How many hops a pattern takes (its steps between modalities)."""
    return max(1, pattern.count(">") if "&" not in pattern and "+" not in pattern else 1)


def pairs(pattern: str) -> list[tuple[str, str]]:
    """(pointer, target) pairs of a pattern; a conjunctive pointer is ``attr&quarter``, two
    targets ``image+text``."""
    first, *_, last = pattern.split(">")
    if first == "I&T":
        out = [(f"{a}&quarter", t) for a in IMAGE_ATTRS for t in IMAGE_ATTRS if t != a]
        return out if last == "I" else [(f"{a}&quarter", t) for a in IMAGE_ATTRS
                                        for t in TEXT_ATTRS]
    if last == "I+T":
        side = IMAGE_ATTRS if first == "I" else TEXT_ATTRS
        return [(p, f"{i}+{t}") for p in side for i in IMAGE_ATTRS for t in TEXT_ATTRS
                if p not in (i, t)]
    pointers = IMAGE_ATTRS if first == "I" else TEXT_ATTRS
    targets = IMAGE_ATTRS if last == "I" else TEXT_ATTRS
    return [(p, t) for p in pointers for t in targets]


def quarter(rotation: float) -> int:
    """The quarter turn a rotation (degrees, as the text shows it) lies in: 0 to 3."""
    return int(float(rotation) // 90.0) % 4


def quarter_words(q: int) -> str:
    return f"between {90 * q} and {90 * (q + 1)} degrees"


# ------------------------------------------------------------------------ resolving

def resolve(dicts: Sequence[dict], start: int, relation: str,
            precision: Precision) -> int | None:
    """The object a relation leads to from ``dicts[start]``; None when not exactly one."""
    if relation == "after":
        return start + 1 if start + 1 < len(dicts) else None
    if relation == "before":
        return start - 1 if start >= 1 else None
    if relation == "quarter":
        mine = quarter(rounded(dicts[start]["rotation"], precision))
        found = [j for j, d in enumerate(dicts)
                 if j != start and quarter(rounded(d["rotation"], precision)) == mine]
    else:
        attr = IMAGE_RELATIONS[relation]
        found = [j for j, d in enumerate(dicts) if j != start and d[attr] == dicts[start][attr]]
    return found[0] if len(found) == 1 else None


def pointed(dicts: Sequence[dict], pointer: str, value: Any, precision: Precision) -> list[int]:
    """The objects a (possibly conjunctive) pointer value names."""
    if "&" in pointer:
        attr = pointer.split("&")[0]
        return [j for j, d in enumerate(dicts)
                if d[attr] == value[attr]
                and quarter(rounded(d["rotation"], precision)) == value["quarter"]]
    return [j for j, d in enumerate(dicts)
            if value_key(rounded(d[pointer], precision), precision) == value_key(value, precision)]


def walk(dicts: Sequence[dict], start: int, relations: Sequence[str],
         precision: Precision) -> list[int] | None:
    """The chain from ``start`` through ``relations`` (None when a step is not unique or
    comes back to an object already on it)."""
    chain = [start]
    for relation in relations:
        nxt = resolve(dicts, chain[-1], relation, precision)
        if nxt is None or nxt in chain:
            return None
        chain.append(nxt)
    return chain


# ---------------------------------------------------------------------- constructing

def construct(spec: InstanceSpec, objects: list[SceneObject], rng: np.random.Generator,
              vocab: Vocabulary, precision: Precision) -> dict[str, Any]:
    """Edit ``objects`` in place so that ``spec``'s chain holds; returns the chain (object
    positions) and its relations."""
    choices = choices_of(vocab)
    steps = spec.task.split(">")[1:-1]  # the modalities of the hops between the ends

    def attempt() -> dict[str, Any] | None:
        dicts = attribute_dicts(objects)
        make_numbers_distinct(dicts, vocab, rng, precision)
        relations = [_pick(IMAGE_RELATIONS if m == "I" else TEXT_RELATIONS, rng)
                     for m in steps]
        start = int(rng.integers(len(dicts)))
        chain = [start]
        for relation in relations:
            nxt = _follow(dicts, chain, relation, choices, rng, precision)
            if nxt is None:
                return None
            chain.append(nxt)
        if "&" in spec.pointer:
            if not _conjoin(dicts, start, spec.pointer.split("&")[0], choices, rng,
                            precision):
                return None
        elif spec.pointer in IMAGE_ATTRS:
            _make_unique(dicts, start, spec.pointer, choices, rng)
        value = pointer_value(dicts, start, spec.pointer, precision)
        if pointed(dicts, spec.pointer, value, precision) != [start]:
            return None
        if walk(dicts, start, relations, precision) != chain:
            return None  # a later edit broke an earlier step
        for obj, d in zip(objects, dicts):
            write_back(obj, d, vocab)
        return {"chain": chain, "relations": relations}

    return by_retry(objects, rng, vocab, attempt,
                    f"instance {spec.id} ({spec.cell}): no scene of {len(objects)} objects "
                    f"held the chain in {MAX_ATTEMPTS} attempts; use more objects per scene")


def _pick(options: Iterable[Any], rng: np.random.Generator) -> Any:
    """One of ``options``, drawn uniformly from ``rng``."""
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _follow(dicts: list[dict], chain: list[int], relation: str, choices: dict[str, list],
            rng: np.random.Generator, precision: Precision) -> int | None:
    """Make ``relation`` lead from the chain's last object to a new one; returns it."""
    here = chain[-1]
    if relation in ("after", "before"):
        nxt = here + 1 if relation == "after" else here - 1
        return nxt if 0 <= nxt < len(dicts) and nxt not in chain else None
    free = [j for j in range(len(dicts)) if j not in chain]
    if not free:
        return None
    nxt = _pick(free, rng)
    others = [j for j in range(len(dicts)) if j not in (here, nxt)]
    if relation == "quarter":
        q = quarter(rounded(dicts[here]["rotation"], precision))
        dicts[nxt]["rotation"] = _in_quarter(q, rng)
        for j in others:
            if quarter(rounded(dicts[j]["rotation"], precision)) == q:
                dicts[j]["rotation"] = _in_quarter(_pick_quarter(q, rng), rng)
        return nxt
    attr = IMAGE_RELATIONS[relation]
    dicts[nxt][attr] = dicts[here][attr]
    for j in others:
        if dicts[j][attr] == dicts[here][attr]:
            _change(dicts[j], attr, choices, rng)
    return nxt


def _in_quarter(q: int, rng: np.random.Generator) -> float:
    return float(rng.uniform(90 * q + MARGIN, 90 * (q + 1) - MARGIN))


def _pick_quarter(not_this: int, rng: np.random.Generator) -> int:
    return _pick((q for q in range(4) if q != not_this), rng)


def _change(d: dict, attr: str, choices: dict[str, list], rng: np.random.Generator) -> None:
    others = [v for v in choices[attr] if v != d[attr]]
    if others:
        d[attr] = _pick(others, rng)


def _make_unique(dicts: list[dict], index: int, attr: str, choices: dict[str, list],
                 rng: np.random.Generator) -> None:
    for j, d in enumerate(dicts):
        if j != index and d[attr] == dicts[index][attr]:
            _change(d, attr, choices, rng)


def _conjoin(dicts: list[dict], start: int, attr: str, choices: dict[str, list],
             rng: np.random.Generator, precision: Precision) -> bool:
    """Make ``start`` the only object with both its ``attr`` value and its rotation quarter,
    while another object shares each of the two alone."""
    others = [j for j in range(len(dicts)) if j != start]
    if len(others) < 2:
        return False
    x, y = (others[k] for k in rng.permutation(len(others))[:2])
    q = quarter(rounded(dicts[start]["rotation"], precision))
    dicts[x][attr] = dicts[start][attr]
    dicts[x]["rotation"] = _in_quarter(_pick_quarter(q, rng), rng)
    dicts[y]["rotation"] = _in_quarter(q, rng)
    if dicts[y][attr] == dicts[start][attr]:
        _change(dicts[y], attr, choices, rng)
    for j in others:
        if j not in (x, y) and dicts[j][attr] == dicts[start][attr] and quarter(
                rounded(dicts[j]["rotation"], precision)) == q:
            _change(dicts[j], attr, choices, rng)
    return True


def pointer_value(dicts: Sequence[dict], index: int, pointer: str,
                  precision: Precision) -> Any:
    """The pointer's value for ``dicts[index]``, as the question gives it."""
    if "&" in pointer:
        attr = pointer.split("&")[0]
        return {attr: dicts[index][attr],
                "quarter": quarter(rounded(dicts[index]["rotation"], precision))}
    return rounded(dicts[index][pointer], precision)


# -------------------------------------------------------------------------- wording

def phrase(pointer: str, value: Any) -> str:
    """How the question names the pointed object."""
    if "&" in pointer:
        attr = pointer.split("&")[0]
        head = f"the {value[attr]} object" if attr == "color" else f"the {value[attr]}"
        return f"{head} whose rotation is {quarter_words(value['quarter'])}"
    return pointer_phrase(pointer, value)


RELATION_WORDS = {
    "same_color": "the other object with the same colour as {x}",
    "same_shape": "the other object with the same shape as {x}",
    "after": "the object listed right after {x} in the description",
    "before": "the object listed right before {x} in the description",
    "quarter": "the other object whose rotation lies in the same quarter turn as that of {x}",
}


def question(pointer: str, value: Any, relations: Sequence[str], targets: Sequence[str]) -> str:
    """The whole question, the relations nested from the pointer outwards."""
    x = phrase(pointer, value)
    for relation in relations:
        x = RELATION_WORDS[relation].format(x=x)
    asked = " and the ".join(targets)
    verb = "are" if len(targets) > 1 else "is"
    return f"What {verb} the {asked} of {x}?"


def withheld(pointer: str, relations: Sequence[str], targets: Sequence[str]) -> list[str]:
    """The image attributes the question reads from the image: the text leaves them out."""
    used = [pointer.split("&")[0]] + [IMAGE_RELATIONS[r] for r in relations
                                      if r in IMAGE_RELATIONS] + list(targets)
    return [a for a in IMAGE_ATTRS if a in used]


INSTRUCTION = (
    "You are given an image of a 3D scene and a description of the same scene as {fmt}. The "
    "description gives each object's name, material, size, 3d_coords and rotation{shows}; "
    "the image shows colours and shapes, and no names or rotations. A question may take "
    "several steps: resolve each one in the modality that shows what it needs (a colour or "
    "shape in the image, the order of the list or a rotation in the description), identify "
    "the object in the other modality by the attributes both show (material, size, where it "
    "is), and go on from there.")
OTHER_SCENES = ("Each worked example is about another scene, with its own image and "
                "description; the question is about the last image and the last description.")


def answer_format(targets: Sequence[str], cot: bool) -> str:
    """The answer format: one value, or an object of two; with chain of thought, the objects
    gone through as well."""
    if len(targets) == 1:
        value = "the answer"
    else:
        value = "{" + ", ".join(f'"{t}": ...' for t in targets) + "}"
    objects = (', "objects": [the names of the objects the steps go through, in order]'
               if cot else "")
    return (f'End your reply with a JSON object {{"answer": {value}{objects}}}, values written '
            f"as in the description where they appear there.")


def build_prompt(fmt: str, scene_text: str, asked: str, targets: Sequence[str],
                 choices: dict[str, list], shots: Sequence[dict], cot: bool,
                 coords: str, hidden: Sequence[str]) -> str:
    shows = "" if len(hidden) == 2 else f" and {[a for a in IMAGE_ATTRS if a not in hidden][0]}"
    parts = [INSTRUCTION.format(fmt=FORMAT_NAMES[fmt], shows=shows)
             + (" " + OTHER_SCENES if shots else ""), conventions(coords)]
    for k, shot in enumerate(shots, 1):
        lines = [f"Example {k} (image {k}):", f"Scene description:\n{shot['scene_text']}",
                 f"Question: {shot['question']}"]
        if cot:
            lines.append(f"Reasoning: {shot['rationale']}")
        lines.append(f"Answer: {json.dumps(shot['reply'], ensure_ascii=False)}")
        parts.append("\n".join(lines))
    where = f" (image {len(shots) + 1})" if shots else ""
    parts.append(f"Now the scene of the question{where}.\nScene description:\n{scene_text}")
    parts.append(f"Question: {asked}")
    ending = [f"The {t} is one of: {', '.join(map(str, choices[t]))}." for t in targets
              if t in choices]
    ending.append("Think step by step, then answer." if cot else "Answer directly.")
    ending.append(answer_format(targets, cot))
    parts.append(" ".join(ending))
    return "\n\n".join(parts)


def rationale(names: Sequence[str], pointer: str, value: Any, relations: Sequence[str],
              targets: Sequence[str], answer: Any) -> str:
    """Each step with the object it reaches, then the answer."""
    steps = [f"{phrase(pointer, value)[0].upper()}{phrase(pointer, value)[1:]} is {names[0]}."]
    for k, relation in enumerate(relations, 1):
        said = RELATION_WORDS[relation].format(x=names[k - 1])
        steps.append(f"{said[0].upper()}{said[1:]} is {names[k]}.")
    told = answer if isinstance(answer, dict) else {targets[0]: answer}
    steps.append(" ".join(f"Its {t} is {json.dumps(told[t], ensure_ascii=False)}."
                          for t in targets))
    return " ".join(steps)


# ------------------------------------------------------------------------- the suite

class ChainSuite(Suite):
    """Multi-hop, conjunctive and multi-target linking (module docstring)."""

    name = "chain"
    splits = (Split("chain", "chain.jsonl", "ch", tuple(p for ps in PATTERNS.values()
                                                         for p in ps)),)
    required_keys = ("id", "scene_id", "task", "object_count", "pointer_attribute",
                     "target_attribute", "answer", "chain", "relations", "hops")
    judged_keys = ("id", "task", "target_attribute", "answer", "precision", "chain", "hops")
    example_extra = 0
    baseline_kinds = ("random", "oracle", "text-only", "blind", "first-hop", "no-conjunction")
    ability = "multi-hop cross-modal entity linking"
    json_fields = ("choices",)

    def plan(self, options: Any, roles: Roles) -> list[InstanceSpec]:
        """Shares level by level: object count, hop count, pattern, (pointer, target)."""
        rng = np.random.default_rng(np.random.SeedSequence([options.seed, 0xC4A]))
        lo, hi = options.n_objects
        counts = list(range(lo, hi + 1))
        specs = []
        for n, per_count in zip(counts, share(options.size, len(counts), rng)):
            for k, per_hops in zip(PATTERNS, share(per_count, len(PATTERNS), rng)):
                for pattern, per_pattern in zip(PATTERNS[k],
                                                share(per_hops, len(PATTERNS[k]), rng)):
                    combos = pairs(pattern)
                    for (p, t), per_cell in zip(combos, share(per_pattern, len(combos), rng)):
                        specs += [(n, pattern, p, t)] * per_cell
        return [InstanceSpec(i, "chain", *specs[j], prefix="ch")
                for i, j in enumerate(rng.permutation(len(specs)).tolist())]

    def cell(self, record: dict[str, Any]) -> str:
        return (f"{record['object_count']}|{record['task']}|"
                f"{record['pointer_attribute']}->{record['target_attribute']}")

    def construct(self, spec: InstanceSpec, objects: list[SceneObject],
                  rng: np.random.Generator, ctx: BuildContext) -> dict[str, Any]:
        return construct(spec, objects, rng, ctx.vocab, ctx.options.precision)

    def construct_example(self, objects: list[SceneObject], rng: np.random.Generator,
                          ctx: BuildContext) -> dict[str, Any]:
        """An example scene holds one chain of a pattern drawn from every pattern."""
        pattern = _pick((p for ps in PATTERNS.values() for p in ps), rng)
        pointer, target = _pick(pairs(pattern), rng)
        spec = InstanceSpec(-1, "chain", len(objects), pattern, pointer, target, prefix="ex")
        return {"pattern": pattern, "pointer": pointer, "target": target,
                **construct(spec, objects, rng, ctx.vocab, ctx.options.precision)}

    def example_scene(self, stem: str, data: dict[str, Any], kept: Any,
                      ctx: BuildContext) -> ExampleScene:
        views = [bench_view(o, ctx.options.coords) for o in data["objects"]]
        return ExampleScene(stem, views, extra=kept)

    def record(self, ctx: BuildContext, spec: InstanceSpec, data: dict[str, Any], chosen: Any,
               has_image: bool, examples: Sequence[ExampleScene]) -> dict[str, Any]:
        options, precision = ctx.options, ctx.options.precision
        views = [bench_view(o, options.coords) for o in data["objects"]]
        item = _item(views, spec.task, spec.pointer, spec.target, chosen, options)
        rng = np.random.default_rng(np.random.SeedSequence([options.seed, spec.index, 1]))
        shots = _shots(examples, spec.task, options, rng)
        if len(shots) < options.shots:
            raise ConstructionError(f"instance {spec.id}: {len(examples)} example scenes of "
                                    f"{spec.n_objects} objects for {options.shots} examples")
        targets = spec.target.split("+")
        choices = {t: categorical_values(ctx.vocab, t) for t in targets if t in IMAGE_ATTRS}
        return {
            "id": spec.id,
            **image_fields(data, shots),
            "task": spec.task,
            "hops": hops(spec.task),
            "object_count": len(views),
            "pointer_attribute": spec.pointer,
            "pointer_value": item["pointer_value"],
            "target_attribute": spec.target,
            "target_object": item["chain"][-1],
            "chain": item["chain"],
            "relations": item["relations"],
            "answer": item["answer"],
            "choices": choices or None,
            "scene_text": item["scene_text"],
            "scene_format": options.fmt,
            "question": item["question"],
            "prompt": build_prompt(options.fmt, item["scene_text"], item["question"], targets,
                                   choices, shots, options.cot, options.coords,
                                   item["withheld"]),
            "links": _links(views, [int(n.rsplit("_", 1)[1]) for n in item["chain"]],
                            item["withheld"], precision),
            "precision": precision.label,
            "shots": shots,
            "rationale": item["rationale"] if options.cot else None,
        }

    def check(self, options: Any, records: Iterable[dict[str, Any]]) -> list[str]:
        from clevrlite.bench.validity import check_chain

        return check_chain(options.out, records, options.coords)

    def score(self, instances: list[dict], predictions: dict[str, str],
              settings: ScoreSettings, scenes: Any) -> Any:
        from clevrlite.scoring.chain import score_chain

        return score_chain(instances, predictions, settings)

    def baseline(self, kind: str, inst: dict[str, Any], rng: Any, context: Any) -> Any:
        from clevrlite.scoring.chain import baseline_answer

        return baseline_answer(kind, inst, rng, context)

    def reward(self, completion: str, instance: dict[str, Any], **options: Any) -> Any:
        from clevrlite.scoring.rewards import chain_reward

        options.pop("box_format", None)
        options.pop("size", None)
        return chain_reward(completion, instance,
                            precision=Precision.parse(instance.get("precision", 2)), **options)

    def audit_units(self, instance: dict[str, Any], knowledge: Any) -> list[Any]:
        from clevrlite.scoring.chain import audit_units

        return audit_units(instance, knowledge)


def _item(views: list[dict], pattern: str, pointer: str, target: str, chosen: dict[str, Any],
          options: Any) -> dict[str, Any]:
    """A question about ``views``: its wording, text, answer and the chain's names."""
    precision = options.precision
    chain, relations = chosen["chain"], chosen["relations"]
    targets = target.split("+")
    last = views[chain[-1]]
    value = pointer_value(views, chain[0], pointer, precision)
    answer = {t: rounded(last[t], precision) for t in targets} if len(targets) > 1 \
        else rounded(last[targets[0]], precision)
    hidden = withheld(pointer, relations, targets)
    shown = [a for a in ("name", "color", "shape", "material", "size", "3d_coords", "rotation")
             if a not in hidden]
    names = [views[j]["name"] for j in chain]
    asked = question(pointer, value, relations, targets)
    return {"pointer_value": value, "chain": names, "relations": relations, "answer": answer,
            "question": asked, "withheld": hidden,
            "scene_text": serialize.dumps({"objects": views}, options.fmt, attributes=shown,
                                          precision=precision),
            "rationale": rationale(names, pointer, value, relations, targets, answer)}


def _shots(examples: Sequence[ExampleScene], pattern: str, options: Any,
           rng: np.random.Generator) -> list[dict[str, Any]]:
    """Worked examples from other scenes, those of the question's own pattern first."""
    if not options.shots:
        return []
    order = rng.permutation(len(examples)).tolist()
    order.sort(key=lambda k: examples[k].extra["pattern"] != pattern)
    shots = []
    for k in order[:options.shots]:
        scene, kept = examples[k], examples[k].extra
        item = _item(scene.views, kept["pattern"], kept["pointer"], kept["target"], kept,
                     options)
        reply = {"answer": item["answer"]}
        if options.cot:
            reply["objects"] = item["chain"]
        shots.append({"scene_id": scene.stem, "image": f"images/{scene.stem}.png",
                      "scene_text": item["scene_text"], "question": item["question"],
                      "answer": item["answer"], "reply": reply, "chain": item["chain"],
                      "rationale": item["rationale"]})
    return shots


def _links(views: list[dict], chain: list[int], hidden: Sequence[str],
           precision: Precision) -> list[int | None]:
    """The smallest linking set of each object on the chain: the attributes both modalities
    show that tell it apart (None: only where it stands)."""
    link = list(SHARED) + [a for a in IMAGE_ATTRS if a not in hidden]
    sizes = []
    for index in chain:
        sets = minimal_linking_sets(views, index, link, precision=precision)
        sizes.append(len(sets[0]) if sets else None)
    return sizes


def gold_reply(inst: dict[str, Any]) -> dict[str, Any]:
    """The full gold reply of an instance: the answer and the chain's objects."""
    return {"answer": inst["answer"], "objects": inst["chain"]}


__all__ = ["ChainSuite", "PATTERNS", "gold_reply", "hops", "pairs", "pointed", "quarter",
           "resolve", "walk"]
