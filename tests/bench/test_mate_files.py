"""--mate-compat and --preset mate, checked line by line against MATE_FORMAT.md.

The checks re-derive every field from the scene files with the rules the spec writes down
(MATE's own linking rule included), independently of clevrlite.bench.mate_files.
"""

import itertools
import json
import re
from collections import Counter

import pytest
from PIL import Image

from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.errors import UsageError
from clevrlite.scoring.evaluate import score

FILES = {"mm_0shot": ("cross_modal", 0, False), "mm_1shot": ("cross_modal", 1, False),
         "mm_2shot": ("cross_modal", 2, False), "mm_2shot_cot": ("cross_modal", 2, True),
         "um_0shot": ("unimodal", 0, False), "um_1shot": ("unimodal", 1, False),
         "um_2shot": ("unimodal", 2, False)}
TASKS = {"cross_modal": {"img2data", "data2img"}, "unimodal": {"img2img", "data2data"}}
POINTER_SIDE = {"img2data": ("color", "shape"), "img2img": ("color", "shape"),
                "data2img": ("name", "3d_coords", "rotation", "size"),
                "data2data": ("name", "3d_coords", "rotation", "size")}
OBJECT_KEYS = ["name", "shape", "size", "material", "3d_coords", "rotation", "color"]
PLACEHOLDER = "0" * 32 + ".png"


def rounded(value):
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return round(value, 2) if isinstance(value, float) else value


def once(objects, attribute):
    counts = Counter(json.dumps(o[attribute]) for o in objects)
    return [o[attribute] for o in objects if counts[json.dumps(o[attribute])] == 1]


def mate_rule_linking(objects, gold, task, pointer, target):
    """MATE_FORMAT's linking rule, written out again: binarise size, drop name, rotation and
    what the text withholds, every combination no other object matches on all of."""
    hidden = {"img2data": pointer, "data2img": target}.get(task)
    views = []
    for o in objects:
        v = {k: o[k] for k in o if k not in ("name", "rotation", hidden)}
        v["size"] = "small" if o["size"] < 0.5 else "large"
        views.append(v)
    keys = list(views[gold])
    return [{k: views[gold][k] for k in combo}
            for r in range(1, len(keys) + 1) for combo in itertools.combinations(keys, r)
            if all(any(v[k] != views[gold][k] for k in combo)
                   for i, v in enumerate(views) if i != gold)]


def check_line(line, stem, bench_dir, records):
    """Every way ``line`` of MATE file ``stem`` departs from the spec (empty when none)."""
    split, shots, cot = FILES[stem]
    problems = []

    def need(ok, what):
        if not ok:
            problems.append(what)

    need(isinstance(line.get("example_id"), str)
         and re.fullmatch("[0-9a-f]{32}", line["example_id"]), "example_id: 32 hex digits")
    need(line.get("task") in TASKS[split], "task of the split")
    scene = line.get("scene")
    need(isinstance(scene, dict) and {"camera_location", "image_filename", "objects",
                                      "metadata"} <= set(scene), "scene: MATE's scene dict")
    if problems:
        return problems
    record = records[line["id"]]
    ours = json.loads((bench_dir / "scenes" / f"{record['scene_id']}.json").read_text())
    contact = json.loads((bench_dir / "stats.json").read_text())["coords"] == "contact"
    objects = scene["objects"]
    need(len(scene["camera_location"]) == 3 and isinstance(scene["image_filename"], str)
         and isinstance(scene["metadata"], dict), "scene: camera, image file, metadata")
    need(isinstance(line.get("object_count"), int) and line["object_count"] == len(objects)
         == len(ours["objects"]), "object_count")
    for mine, theirs in zip(objects, ours["objects"]):
        need(list(mine)[:7] == OBJECT_KEYS, "objects: MATE's keys in order, none withheld")
        expected = {**{k: rounded(theirs[k]) for k in OBJECT_KEYS if k != "size"},
                    "size": rounded(theirs["scale"])}
        if contact:  # the texts give the point where the object rests on the floor
            expected["3d_coords"] = [*expected["3d_coords"][:2], 0.0]
        need({k: mine.get(k) for k in OBJECT_KEYS} == expected,
             "objects: values as the text shows them")
    if problems:
        return problems
    image = line.get("image")
    if line["task"] == "data2data":
        need(image == PLACEHOLDER, "data2data: the placeholder image")
    else:
        need(image == f"{line['example_id']}.png", "image: <example_id>.png")
        if image and (bench_dir / "mate" / "img" / image).is_file():
            need(Image.open(bench_dir / "mate" / "img" / image).tobytes()
                 == Image.open(bench_dir / record["image"]).tobytes(), "image: the scene's")
    need(isinstance(image, str) and (bench_dir / "mate" / "img" / image).is_file(),
         "image: in OUT/mate/img")
    keys = line.get("key_attributes")
    need(keys == {"img": {a: once(objects, a) for a in ("color", "shape")},
                  "data": {a: once(objects, a) for a in ("name", "3d_coords", "rotation",
                                                         "size")}},
         "key_attributes: the values that occur exactly once")
    pointer, target = line.get("pointer_attribute"), line.get("target_attribute")
    need(isinstance(pointer, dict) and len(pointer) == 1 and isinstance(target, dict)
         and len(target) == 1, "pointer_attribute and target_attribute: one-key dicts")
    if problems:
        return problems
    (p, p_value), (t, t_value) = next(iter(pointer.items())), next(iter(target.items()))
    holders = [i for i, o in enumerate(objects) if o[p] == p_value]
    need(len(holders) == 1, "pointer: names exactly one object")
    gold = holders[0] if holders else 0
    need(objects[gold][t] == t_value and p in POINTER_SIDE[line["task"]],
         "target_attribute: the gold value")
    need(line.get("gold_reference") == json.dumps({"answer": t_value}),
         "gold_reference: json.dumps({'answer': value})")
    few = line.get("few_shot_attributes")
    need(isinstance(few, list) and len(few) == shots, "few_shot_attributes: one per shot")
    for pair in few or []:
        ok = isinstance(pair, list) and len(pair) == 2 and pair[0] in POINTER_SIDE[line["task"]]
        found = [i for i, o in enumerate(objects) if ok and o[pair[0]] == pair[1]]
        need(ok and len(found) == 1 and found[0] != gold,
             "few_shot_attributes: [attr, value] of another object of the scene")
    need(isinstance(line.get("scene_format"), str), "scene_format: a string on every line")
    prompt = line.get("input_str")
    need(isinstance(prompt, str) and prompt.count("Example ") == shots
         and ("Reasoning:" in prompt) == cot, "input_str: the prompt with its examples")
    need(line.get("linking_attributes") == mate_rule_linking(objects, gold, line["task"], p, t),
         "linking_attributes: MATE's get_linking_attributes(skip_coords=False)")
    return problems


def check_mate_dir(bench_dir):
    """(file stem, example id, problem) for every departure from the spec in OUT/mate/."""
    records = {json.loads(l)["id"]: json.loads(l)
               for f in ("cross_modal.jsonl", "unimodal.jsonl")
               for l in (bench_dir / f).read_text().splitlines()}
    found = []
    if not (bench_dir / "mate" / "img" / PLACEHOLDER).is_file():
        found.append(("img", "", "placeholder image missing"))
    for stem in FILES:
        path = bench_dir / "mate" / f"{stem}.jsonl"
        lines = [json.loads(l) for l in path.read_text().splitlines()] if path.is_file() else []
        if not lines:
            found.append((stem, "", "file missing or empty"))
        ids = [l.get("example_id") for l in lines]
        if len(set(ids)) != len(ids):
            found.append((stem, "", "example ids repeat"))
        for line in lines:
            found += [(stem, line.get("example_id"), p)
                      for p in check_line(line, stem, bench_dir, records)]
    return found


@pytest.fixture(scope="module")
def mate_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("mate") / "bench"
    build_benchmark(BenchmarkOptions(out=out, size=24, unimodal_size=16, n_objects=(3, 6),
                                     mate_compat=True, workers=1))
    return out


def test_every_mate_line_meets_the_spec(mate_bench):
    assert check_mate_dir(mate_bench) == []
    stems = {stem: [json.loads(l) for l in (mate_bench / "mate" / f"{stem}.jsonl").open()]
             for stem in FILES}
    ids = {stem: {l["example_id"] for l in lines} for stem, lines in stems.items()}
    assert ids["mm_0shot"] == ids["mm_2shot"] == ids["mm_2shot_cot"]  # a scene keeps its id
    assert len(ids["mm_0shot"]) == 24 and len(ids["um_0shot"]) == 16


def test_the_check_fails_on_lines_in_the_old_format(mate_bench):
    """The format --mate-compat wrote before: bare gold, attribute names, our own text."""
    line = json.loads((mate_bench / "mate" / "mm_2shot.jsonl").read_text().splitlines()[0])
    old = {**line, "gold_reference": json.loads(line["gold_reference"])["answer"],
           "target_attribute": next(iter(line["target_attribute"])),
           "pointer_attribute": next(iter(line["pointer_attribute"])),
           "few_shot_attributes": [["color", "name"]] * 2}
    records = {json.loads(l)["id"]: json.loads(l)
               for l in (mate_bench / "cross_modal.jsonl").read_text().splitlines()}
    assert check_line(old, "mm_2shot", mate_bench, records)
    assert check_line({**line, "scene": "a string"}, "mm_2shot", mate_bench, records)
    stripped = json.loads(json.dumps(line))
    for o in stripped["scene"]["objects"]:
        del o["color"]
    assert check_line(stripped, "mm_2shot", mate_bench, records)


def test_oracle_predictions_as_mate_writes_them_score_100(mate_bench, tmp_path):
    """MATE's main_inference copies each dev line and adds model and prediction."""
    for stem in ("mm_2shot", "um_1shot"):
        preds = tmp_path / f"{stem}_oracle.jsonl"
        with preds.open("w") as fh:
            for line in (mate_bench / "mate" / f"{stem}.jsonl").open():
                ex = json.loads(line)
                ex.update(model="oracle", prediction=ex["gold_reference"])
                fh.write(json.dumps(ex) + "\n")
        report = score(mate_bench, preds, mode="mate")
        assert report.overall == 100.0 and report.n == (24 if stem.startswith("mm") else 16)


@pytest.fixture(scope="module")
def preset_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("preset") / "bench"
    stats = build_benchmark(BenchmarkOptions.from_preset("mate", out=out, size=32,
                                                         unimodal_size=16, n_objects=(3, 6)))
    return out, stats


@pytest.mark.parametrize("given, sizes", [
    ({}, (5500, 5500)),
    ({"size": 128}, (128, 128)),  # it used to build 5,500 unimodal instances here
    ({"size": 128, "unimodal_size": 0}, (128, 0)),
])
def test_explicit_sizes_override_the_preset_everywhere(given, sizes):
    from clevrlite.bench.registry import get_suite
    from clevrlite.vocab import load_vocabulary

    options = BenchmarkOptions.from_preset("mate", **given)
    suite = get_suite("mate")
    plan = suite.plan(options, suite.roles(load_vocabulary()))
    assert (sum(s.split == "cross_modal" for s in plan),
            sum(s.split == "unimodal" for s in plan)) == sizes


def test_preset_mate_scenes_have_mates_unique_colours_and_shape(preset_bench):
    out, stats = preset_bench
    assert stats["preset"] == "mate" and stats["shot_source"] == "same_scene"
    assert list(stats["vocabulary"]["shapes"]) == ["cube", "sphere", "cylinder", "cone"]
    scenes = [json.loads(p.read_text()) for p in (out / "scenes").glob("*.json")]
    assert len(scenes) == 48
    for scene in scenes:
        objects = scene["objects"]
        colors = Counter(o["color"] for o in objects)
        shapes = Counter(o["shape"] for o in objects)
        keys = min(3, len(objects) - 1)
        unique_colors = [i for i, o in enumerate(objects) if colors[o["color"]] == 1]
        unique_shapes = [i for i, o in enumerate(objects) if shapes[o["shape"]] == 1]
        assert len(unique_colors) >= keys and unique_shapes
        # some choice of key colours and key shape sits on different objects
        assert any(len(set(c) | {s}) == keys + 1 for s in unique_shapes
                   for c in itertools.combinations(unique_colors, keys))
    assert check_mate_dir(out) == []


def test_preset_mate_keeps_the_question_on_a_key_object(preset_bench):
    out, _ = preset_bench
    for split in ("cross_modal", "unimodal"):
        for line in (out / f"{split}.jsonl").read_text().splitlines():
            inst = json.loads(line)
            assert len(inst["shots"]) == 2
            assert {s["scene_id"] for s in inst["shots"]} == {inst["scene_id"]}
            assert inst["scene_format"] in (None, "json")


def test_preset_refuses_what_it_cannot_honour(tmp_path):
    with pytest.raises(UsageError, match="--preset mate cannot take --balance-linking"):
        build_benchmark(BenchmarkOptions.from_preset("mate", out=tmp_path / "b", size=4,
                                                     balance_linking=True))
    assert not (tmp_path / "b").exists()
    given = BenchmarkOptions.from_preset("mate", shots=0, fmt="yaml")
    assert (given.shots, given.fmt, given.same_scene_shots, given.mate_compat) == \
        (0, "yaml", True, True)
