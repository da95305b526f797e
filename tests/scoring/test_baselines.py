"""Baselines: oracle scores 100, random and text-only sit at the chance level the data implies."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from clevrlite.scoring import baselines
from clevrlite.scoring.answers import answers_match, extract_answer
from clevrlite.errors import UsageError
from clevrlite.scoring.evaluate import score

COLORS = {"gray": [87, 87, 87], "red": [173, 35, 35], "blue": [42, 75, 215],
          "green": [29, 105, 20], "brown": [129, 74, 25], "purple": [129, 38, 192],
          "cyan": [41, 208, 208], "yellow": [255, 238, 51]}
SHAPES = ["cube", "sphere", "cylinder"]
SIZES = {"large": 0.7, "small": 0.35}
VOCABULARY = {"shapes": {s: {"primitive": s} for s in SHAPES}, "colors": COLORS,
              "materials": {"rubber": {}, "metal": {}}, "sizes": SIZES, "attributes": {}}
TEXT_TARGETS = ["name", "3d_coords", "rotation", "size"]


def value(o: dict, attribute: str, precision: int = 2):
    raw = o["scale"] if attribute == "size" else o[attribute]
    return [round(x, precision) for x in raw] if isinstance(raw, list) else (
        round(raw, precision) if isinstance(raw, float) else raw)


def text_of(objects: list[dict], hidden: str | None, fmt: str = "json") -> str:
    """The scene text (size as its scale) without the withheld attribute: JSON written here,
    other formats by the serializer."""
    shown = []
    for o in objects:
        entry = {a: value(o, a) for a in ("name", "shape", "color", "material", "3d_coords",
                                          "rotation", "size")}
        entry.pop(hidden, None)
        shown.append(entry)
    if fmt == "json":
        return json.dumps({"objects": shown})
    from clevrlite import serialize
    return serialize.dumps({"objects": shown}, fmt)


def make_benchmark(root: Path, n_scenes: int = 60, seed: int = 5, fmt: str = "json") -> Path:
    """A synthetic benchmark: per scene three img2data, three data2img, one of each unimodal."""
    rng = np.random.default_rng(seed)
    (root / "scenes").mkdir(parents=True)
    cross, uni = [], []
    for s in range(n_scenes):
        count = int(rng.integers(3, 9))
        colors = rng.choice(list(COLORS), size=count, replace=False)
        objects = []
        for i in range(count):
            size = str(rng.choice(list(SIZES)))
            objects.append({
                "name": f"Object_{i}", "shape": str(rng.choice(SHAPES)), "color": str(colors[i]),
                "material": str(rng.choice(["rubber", "metal"])), "size": size,
                "scale": SIZES[size],
                "3d_coords": [float(x) for x in rng.uniform(-3, 3, size=2)] + [SIZES[size]],
                "rotation": float(rng.uniform(0, 360))})
        sid = f"scene_{s:03d}"
        (root / "scenes" / f"{sid}.json").write_text(json.dumps({"objects": objects}))

        def add(rows, task, pointer, target, hidden, k):
            o = objects[int(rng.integers(count))]
            text = None if task == "img2img" else text_of(objects, hidden, fmt)
            rows.append({
                "id": f"{sid}_{task}_{k}", "scene_id": sid, "image": f"images/{sid}.png",
                "task": task, "object_count": count, "pointer_attribute": pointer,
                "pointer_value": value(o, pointer), "target_attribute": target,
                "target_object": o["name"], "answer": value(o, target), "scene_text": text,
                "scene_format": text and fmt, "question": "?", "prompt": "?",
                "linking_sets": [["shape"]], "min_linking_size": 1, "precision": 2})

        for k in range(3):
            target = TEXT_TARGETS[int(rng.integers(len(TEXT_TARGETS)))]
            add(cross, "img2data", "color", target, "color", k)
            target = ["color", "shape"][int(rng.integers(2))]
            add(cross, "data2img", "name", target, target, k)
        add(uni, "img2img", "color", "shape", None, 0)
        add(uni, "data2data", "name", ["rotation", "3d_coords", "size"][s % 3], None, 0)
    (root / "cross_modal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cross))
    (root / "unimodal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in uni))
    (root / "stats.json").write_text(json.dumps({"precision": 2, "vocabulary": VOCABULARY}))
    return root


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return make_benchmark(tmp_path_factory.mktemp("synthetic") / "bench")


@pytest.fixture
def json_text_loader(monkeypatch):
    """Read scene texts with json, so text-only is tested whether or not the serializer exists."""
    monkeypatch.setattr(baselines, "_parse_scene_text",
                        lambda text, fmt, where: json.loads(text)["objects"])


def instances(bench: Path, split: str) -> list[dict]:
    lines = (bench / f"{split}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def scene_objects(bench: Path, sid: str) -> list[dict]:
    return json.loads((bench / "scenes" / f"{sid}.json").read_text())["objects"]


def chance(bench: Path, inst: dict, text_only: bool) -> float:
    """Probability that a uniform guess is right, from the data alone."""
    target = inst["target_attribute"]
    if target == "color":
        return 1 / len(COLORS)
    if target == "shape":
        return 1 / len(SHAPES)
    if text_only and inst["task"] == "data2data":
        return 1.0
    values = {json.dumps(value(o, target)) for o in scene_objects(bench, inst["scene_id"])}
    return 1 / len(values)


def assert_at_chance(bench: Path, outcomes: dict[str, str], split: str, text_only: bool):
    rows = instances(bench, split)
    p = np.array([chance(bench, inst, text_only) for inst in rows])
    hits = sum(outcomes[inst["id"]] == "correct" for inst in rows)
    spread = 4 * math.sqrt(float(np.sum(p * (1 - p)))) + 1
    assert abs(hits - p.sum()) <= spread, (hits, p.sum(), spread)
    return hits, float(p.sum())


@pytest.mark.parametrize("mode", ["lenient", "mate"])
def test_oracle_scores_100(bench, tmp_path, mode):
    out = tmp_path / "oracle.jsonl"
    assert baselines.write_baseline("oracle", bench, out) == 480
    report = score(bench, out, mode=mode)
    assert report.split == "all" and report.n == 480
    assert report.overall == 100.0 and report.unparseable == 0 and report.ose == 0.0


def test_random_at_chance(bench, tmp_path):
    out = tmp_path / "random.jsonl"
    baselines.write_baseline("random", bench, out, seed=3)
    report = score(bench, out)
    assert report.unparseable == 0 and not report.missing_ids
    hits, expected = assert_at_chance(bench, report.outcomes, "cross_modal", text_only=False)
    assert 0 < hits < 360
    assert_at_chance(bench, report.outcomes, "unimodal", text_only=False)
    # text-side guesses are always values some object in the scene has
    predicted = {json.loads(line)["id"]: json.loads(line)["prediction"]
                 for line in out.read_text().splitlines()}
    for inst in instances(bench, "cross_modal"):
        if inst["target_attribute"] in TEXT_TARGETS:
            guess = extract_answer(predicted[inst["id"]]).value
            assert any(answers_match(guess, value(o, inst["target_attribute"]))
                       for o in scene_objects(bench, inst["scene_id"]))


def test_text_only_at_chance_on_cross_modal(bench, tmp_path, json_text_loader):
    out = tmp_path / "text.jsonl"
    baselines.write_baseline("text-only", bench, out, seed=1)
    report = score(bench, out)
    assert report.unparseable == 0
    assert_at_chance(bench, report.outcomes, "cross_modal", text_only=True)
    assert report.by_task["data2data"].accuracy == 100.0  # the text alone answers these
    assert_at_chance(bench, report.outcomes, "unimodal", text_only=True)


def test_text_only_reads_only_the_text(bench, tmp_path, json_text_loader):
    """A text that leaks the image-side pointer lets text-only answer: it reads that text."""
    rows = instances(bench, "cross_modal")
    for inst in rows:
        if inst["task"] == "img2data":
            inst["scene_text"] = text_of(scene_objects(bench, inst["scene_id"]), None)
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "scenes").symlink_to(bench / "scenes")
    (leaky / "stats.json").write_text((bench / "stats.json").read_text())
    (leaky / "cross_modal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "text.jsonl"
    baselines.write_baseline("text-only", leaky, out)
    assert score(leaky, out).by_task["img2data"].accuracy == 100.0


@pytest.mark.parametrize("fmt", ["json", "yaml", "xml", "text"])
def test_text_only_with_real_serializer(tmp_path, fmt):
    pytest.importorskip("clevrlite.serialize")
    root = make_benchmark(tmp_path / "b", n_scenes=25, seed=11, fmt=fmt)
    out = tmp_path / "text.jsonl"
    assert baselines.write_baseline("text-only", root, out) == 200
    report = score(root, out)
    assert report.unparseable == 0
    assert report.by_task["data2data"].accuracy == 100.0
    assert_at_chance(root, report.outcomes, "cross_modal", text_only=True)


def test_deterministic_given_seed(bench, tmp_path):
    a, b, c = (tmp_path / f"{name}.jsonl" for name in "abc")
    baselines.write_baseline("random", bench, a, seed=7)
    baselines.write_baseline("random", bench, b, seed=7)
    baselines.write_baseline("random", bench, c, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_output_is_realistic_and_atomic(bench, tmp_path):
    out = tmp_path / "random.jsonl"
    baselines.write_baseline("random", bench, out, split="unimodal")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["random.jsonl"]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 120
    assert all(set(r) == {"id", "prediction", "benchmark"} for r in records)
    assert any(r["prediction"].startswith("The answer is {") for r in records)
    for r in records:
        assert extract_answer(r["prediction"], "mate").ok


def test_oracle_answers_equal_gold(bench):
    rows = {inst["id"]: inst for inst in instances(bench, "cross_modal")}
    for record in baselines.baseline_predictions("oracle", bench, split="cross_modal"):
        parsed = extract_answer(record["prediction"])
        assert answers_match(parsed.value, rows[record["id"]]["answer"], mode="mate")


def test_bad_arguments(bench, tmp_path):
    with pytest.raises(UsageError, match="unknown baseline 'smart'"):
        baselines.write_baseline("smart", bench, tmp_path / "x.jsonl")
    with pytest.raises(UsageError, match="does not exist"):
        baselines.write_baseline("oracle", bench, tmp_path / "no" / "x.jsonl")
    with pytest.raises(UsageError, match="missing_bench"):
        baselines.write_baseline("oracle", tmp_path / "missing_bench", tmp_path / "x.jsonl")


def test_random_needs_vocabulary(tmp_path):
    root = make_benchmark(tmp_path / "b", n_scenes=2)
    (root / "stats.json").unlink()
    with pytest.raises(UsageError, match="stats.json"):
        baselines.write_baseline("random", root, tmp_path / "x.jsonl")
    assert baselines.write_baseline("oracle", root, tmp_path / "x.jsonl") == 16
