"""Baseline predictions for a benchmark: random, oracle, text-only and text-only-shots.

They anchor a results table: oracle checks the scorer (it must reach 100), random gives chance,
and text-only shows what the text alone gives away (it must stay at chance on the cross-modal
split; if it does not, the text leaks what the image was meant to carry).

- random: for a text-side target, a value drawn uniformly from the distinct values the scene's
  objects have at the benchmark's precision (read from the scene JSON); for an image-side
  target, uniformly from the vocabulary in stats.json.
- oracle: the gold answer.
- text-only: reads only ``scene_text``, ``scene_format`` and the question's pointer. If the
  pointer value picks out one object in the text and the text shows the target attribute, it
  answers from that object (data2data). Otherwise it draws uniformly from the distinct target
  values in the text (img2data: the image-side pointer is withheld), or from the vocabulary when
  the text does not show the target (data2img) or there is no text (img2img).
- text-only-shots: text-only, and it also reads the worked examples. An example from the
  question's own scene concerns another object; where the example's answer or pointer value
  picks out one object of the text, that object is ruled out before guessing among the rest.
  Examples from other scenes rule nothing out, so by default it stays at text-only's chance;
  with same-scene examples it measures how much they give away.
- lookalike (grounding and gmner suites): see clevrlite.scoring.grounding_baselines, which
  also says what the other kinds answer on those suites.

Every instance gets its own generator seeded by (kind, seed, id), so the output depends only on
the seed and never on file order (text-only-shots shares text-only's draws). Outputs are
realistic raw strings such as
``The answer is {"answer": "red"}``, which both scoring modes parse.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clevrlite.precision import Precision
from clevrlite.scoring.answers import answers_match, round_value
from clevrlite.errors import ClevrliteError, UsageError
from clevrlite.scoring import BASELINE_KINDS
from clevrlite.bench.reader import (SceneCache, benchmark_info, fingerprint, load_instances,
                                    object_value)
from clevrlite.bench.registry import get_suite
from clevrlite.fsutil import write_lines
from clevrlite.scoring.blind import rule_out_examples

KINDS = BASELINE_KINDS
IMAGE_SIDE = ("color", "shape")
_VOCAB_SECTIONS = {"color": "colors", "shape": "shapes", "material": "materials"}
NO_LOOKALIKE = ("the lookalike baseline probes absent objects, which only the grounding and "
                "gmner suites have; build one with --suite grounding")
_TEMPLATES = ("The answer is {}", "{}", "```json\n{}\n```",
              "Looking at the scene and the description, I would say {}.")


class _Vocabulary:
    """The vocabulary recorded in a benchmark's stats.json, read on first use."""

    def __init__(self, benchmark_dir: Path) -> None:
        self.path = benchmark_dir / "stats.json"
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The "vocabulary" object of stats.json; a UsageError names the file if it is absent."""
        if self._data is None:
            try:
                stats = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise UsageError(f"benchmark file {str(self.path)!r} does not exist; the "
                                 f"baseline needs its vocabulary") from None
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read {str(self.path)!r}: {exc}") from None
            vocab = stats.get("vocabulary") if isinstance(stats, dict) else None
            if not isinstance(vocab, dict):
                raise UsageError(f"{self.path}: no \"vocabulary\" object; rebuild the benchmark "
                                 f"with this clevrlite version")
            self._data = vocab
        return self._data

    def image_side(self, attribute: str) -> bool:
        """Whether the attribute is shown in the image only (withheld from cross-modal text)."""
        if attribute in IMAGE_SIDE:
            return True
        spec = self.data.get("attributes", {}).get(attribute)
        return isinstance(spec, dict) and spec.get("side") == "image"

    def values(self, attribute: str) -> list[Any]:
        """The vocabulary's values of a categorical attribute (sizes as their scales)."""
        spec = self.data.get("attributes", {}).get(attribute)
        if attribute in _VOCAB_SECTIONS:
            return list(self.data.get(_VOCAB_SECTIONS[attribute], {}))
        if attribute == "size":
            return list(self.data.get("sizes", {}).values())
        return list(spec.get("values") or []) if isinstance(spec, dict) else []

    def draw(self, attribute: str, rng: random.Random) -> Any:
        """A value of ``attribute`` drawn uniformly from the vocabulary."""
        spec = self.data.get("attributes", {}).get(attribute)
        if isinstance(spec, dict) and spec.get("range"):
            low, high = spec["range"]
            return round(rng.uniform(low, high), int(spec.get("decimals", 2)))
        values = self.values(attribute)
        if not values:
            raise ClevrliteError(f"{self.path}: the vocabulary has no values for attribute "
                                 f"{attribute!r}, so a baseline cannot guess it")
        return rng.choice(values)


@dataclass
class BaselineContext:
    """What baselines read besides an instance: its scenes and the vocabulary, and MATE's
    baselines, which the other suites fall back on."""

    scenes: SceneCache
    vocab: _Vocabulary
    # the blind reader's answers by instance id (clevrlite.scoring.audit.blind_answers)
    blind: dict[str, list] = field(default_factory=dict)

    @property
    def shapes(self) -> list[str]:
        return list(self.vocab.data.get("shapes", {}))

    def mate_answer(self, kind: str, inst: dict, rng: random.Random) -> Any:
        """The answer MATE's baseline ``kind`` gives (oracle for kinds MATE lacks). The blind
        reader answers as the audit found best; where the audit judges nothing (data2data,
        meant for the text alone) it reads the text as text-only does."""
        if kind == "blind":
            found = self.blind.get(inst["id"])
            return found[0][1] if found else _text_only_answer(inst, rng, self.vocab)
        if kind == "random":
            return _random_answer(inst, rng, self.scenes, self.vocab)
        if kind in ("text-only", "text-only-shots"):
            return _text_only_answer(inst, rng, self.vocab, shots=kind == "text-only-shots")
        return inst["answer"]


def baseline_predictions(kind: str, benchmark_dir: str | Path, seed: int = 0,
                         split: str = "all") -> list[dict[str, str]]:
    """Prediction records {"id", "prediction"} of one baseline for every instance of ``split``."""
    if kind not in KINDS:
        raise UsageError(f"unknown baseline {kind!r}; use one of {', '.join(KINDS)}")
    root = Path(benchmark_dir)
    suite = get_suite(benchmark_info(root).suite)
    if kind not in suite.baseline_kinds:
        raise UsageError(f"the {suite.name} suite has no {kind} baseline (its baselines: "
                         f"{', '.join(suite.baseline_kinds)}); "
                         + (NO_LOOKALIKE if kind == "lookalike" else "choose one of those"))
    loaded = load_instances(root, split)
    context = BaselineContext(SceneCache(root), _Vocabulary(root))
    if kind == "blind":
        from clevrlite.scoring.audit import audit, blind_answers

        context.blind = blind_answers(audit(root, split), seed)
    records = []
    source = fingerprint(root)
    for instances in loaded.values():
        for inst in instances:
            # text-only-shots draws as text-only does, so the two differ only where
            # examples rule objects out
            family = "text-only" if kind == "text-only-shots" else kind
            rng = random.Random(f"{family}/{seed}/{inst['id']}")
            value = suite.baseline(kind, inst, rng, context)
            if kind != "oracle":
                value = round_value(value, _precision(inst))
            records.append({"id": inst["id"], "prediction": _raw_output(value, rng),
                            "benchmark": source})
    return records


def write_baseline(kind: str, benchmark_dir: str | Path, out_path: str | Path, seed: int = 0,
                   split: str = "all", overwrite: bool = False) -> int:
    """Write a baseline's predictions as JSON lines (atomically); returns how many. An
    existing file is replaced only with ``overwrite``."""
    out = Path(out_path)
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: directory {str(out.parent)!r} does not exist")
    if out.exists() and not overwrite:
        raise UsageError(f"--out {str(out)!r} already exists; choose another file or add "
                         f"--overwrite to replace it")
    records = baseline_predictions(kind, benchmark_dir, seed=seed, split=split)
    write_lines(out, (json.dumps(r, ensure_ascii=False) for r in records))
    return len(records)


def _raw_output(value: Any, rng: random.Random) -> str:
    answer = json.dumps({"answer": value}, ensure_ascii=False)
    return rng.choice(_TEMPLATES).replace("{}", answer)


def _precision(inst: dict) -> Precision:
    return Precision.parse(inst.get("precision", 2))


def _distinct(values: list[Any]) -> list[Any]:
    """Values without repeats, in first-seen order (lists compared as JSON)."""
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True), value)
    return list(seen.values())


def _random_answer(inst: dict, rng: random.Random, scenes: SceneCache,
                   vocab: _Vocabulary) -> Any:
    attribute = inst["target_attribute"]
    if vocab.image_side(attribute):
        return vocab.draw(attribute, rng)
    precision = _precision(inst)
    values = _distinct([round_value(object_value(obj, attribute), precision)
                        for obj in scenes.objects(inst["scene_id"])
                        if object_value(obj, attribute) is not None])
    if not values:
        raise ClevrliteError(f"scene {inst['scene_id']!r} has no values for attribute "
                             f"{attribute!r}; the benchmark does not match its scenes")
    return rng.choice(values)


def _text_only_answer(inst: dict, rng: random.Random, vocab: _Vocabulary,
                      shots: bool = False) -> Any:
    attribute = inst["target_attribute"]
    text, fmt = inst.get("scene_text"), inst.get("scene_format")
    if text is None:
        return vocab.draw(attribute, rng)
    objects = _parse_scene_text(text, fmt, where=inst["id"])
    precision = _precision(inst)
    picked = _matching(objects, inst.get("pointer_attribute"), inst.get("pointer_value"),
                       precision)
    if len(picked) == 1 and object_value(picked[0], attribute) is not None:
        return object_value(picked[0], attribute)
    if shots:
        objects = rule_out_examples(objects, inst, precision)
    shown = [obj for obj in objects if object_value(obj, attribute) is not None]
    if shown:
        return rng.choice(_distinct([round_value(object_value(obj, attribute), precision)
                                     for obj in shown]))
    return vocab.draw(attribute, rng)


def _matching(objects: list[dict], attribute: str | None, value: Any,
              precision: Precision) -> list[dict]:
    """The objects of a text whose ``attribute`` shows ``value``."""
    return [obj for obj in objects if object_value(obj, attribute) is not None
            and answers_match(object_value(obj, attribute), value, precision)]


def _parse_scene_text(text: str, fmt: str | None, where: str) -> list[dict[str, Any]]:
    """The objects a scene text describes, via the serializer's loader for its format."""
    from clevrlite import serialize

    try:
        scene = serialize.loads(text, fmt)
    except ClevrliteError:
        raise
    except Exception as exc:  # a loader failure means the benchmark text is corrupt
        message = f"instance {where!r}: cannot read its {fmt} scene text: {exc}"
        raise ClevrliteError(message) from None
    objects = scene.get("objects") if isinstance(scene, dict) else None
    if not isinstance(objects, list):
        raise ClevrliteError(f"instance {where!r}: its {fmt} scene text has no object list")
    return [obj for obj in objects if isinstance(obj, dict)]


__all__ = ["KINDS", "baseline_predictions", "write_baseline"]
