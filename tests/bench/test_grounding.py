"""The grounding and gmner suites (DESIGN 8), each guarantee checked by an independent
computation: brute force over the scene files, pixel counts and boxes from the mask PNGs, the
passage read back with a regular expression, and a matching case worked by hand."""

import itertools
import json
import math
import re
from collections import Counter

import numpy as np
import pytest
from helpers import read_jsonl
from PIL import Image

from clevrlite import serialize
from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.bench.validity import check_gmner, check_grounding
from clevrlite.errors import UsageError
from clevrlite.placement import CAMERA_HFOV_DEG, CAMERA_LOCATION
from clevrlite.scene import Camera
from clevrlite.scoring.answers import extract_answer
from clevrlite.scoring.baselines import baseline_predictions, write_baseline
from clevrlite.scoring.boxes import iou
from clevrlite.scoring.evaluate import score
from clevrlite.scoring.judge import judge_entities
from clevrlite.scoring.matching import max_matching
from clevrlite.vocab import load_vocabulary

VISIBLE = ("color", "shape", "material", "size")
IMAGE_POINTERS = ("color", "shape", "bbox")


def scene_of(out, inst):
    scene = json.loads((out / "scenes" / f"{inst['scene_id']}.json").read_text())
    mask_path = out / "masks" / f"{inst['scene_id']}.png"
    mask = np.asarray(Image.open(mask_path)) if mask_path.is_file() else None
    return scene, mask


def mask_box(mask, mask_id):
    """Tight box of a mask id's pixels, right and bottom exclusive, by brute force."""
    ys, xs = np.nonzero(mask == mask_id)
    if not len(xs):
        return None
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def diff(a, b, attributes):
    return sum(a[k] != b[k] for k in attributes)


def shown_attributes(inst):
    hidden = {"img2data": inst["pointer_attribute"],
              "data2img": inst["target_attribute"]}.get(inst["task"])
    return [a for a in VISIBLE if a != hidden]


# ------------------------------------------------------------------------------- grounding

def test_grounding_guarantees_hold_on_the_written_files(grounding):
    out, _, instances = grounding
    seen = Counter()
    for inst in instances:
        scene, mask = scene_of(out, inst)
        objects = scene["objects"]
        drawn = [o for o in objects if o.get("drawn", True)]
        absent = [o for o in objects if not o.get("drawn", True)]
        assert [o["name"] for o in absent] == [inst["absent_object"]]
        assert inst["object_count"] == len(drawn) == len(objects) - 1
        if mask is not None:  # pixel counts: the absent object left no pixel in the image
            counts = np.bincount(mask.ravel(), minlength=len(objects) + 1)
            assert counts[absent[0]["mask_id"]] == 0
            for o in drawn:
                assert counts[o["mask_id"]] == o["visible_pixels"] >= 200
                assert o["bbox"] == mask_box(mask, o["mask_id"])
        pointer, target = inst["pointer_attribute"], inst["target_attribute"]
        group = drawn if pointer in IMAGE_POINTERS else objects

        def value(o, a):  # as the text states it: the floor contact point, the scale
            v = o["scale"] if a == "size" else o[a]
            return [round(v[0], 2), round(v[1], 2), 0.0] if a == "3d_coords" else \
                round(v, 2) if isinstance(v, float) else v

        holders = [o for o in group if value(o, pointer) == inst["pointer_value"]]
        assert [o["name"] for o in holders] == [inst["target_object"]], inst["id"]
        shown = shown_attributes(inst)
        distances = [diff(absent[0], o, shown) for o in drawn]
        assert 0 not in distances  # the absent object's description identifies no image object
        condition = inst["condition"]
        seen[condition] += 1
        if condition in ("absent", "absent_lookalike"):
            assert inst["task"] == "data2img" and inst["answer"] is None
            assert inst["target_object"] == inst["absent_object"]
            assert inst["linking_sets"] == [] and inst["min_linking_size"] is None
        else:
            target_obj = holders[0]
            assert target_obj.get("drawn", True)
            if target == "bbox":
                assert inst["answer"] == mask_box(mask, target_obj["mask_id"])
        if condition == "absent_lookalike":
            near = [o["name"] for o, d in zip(drawn, distances) if d == 1]
            assert near == [inst["lookalike"]]
        elif condition == "absent":
            assert min(distances) >= 2 and inst["lookalike"] is None
    data2img = [i for i in instances if i["task"] == "data2img"]
    cond = Counter(i["condition"] for i in data2img)
    assert cond["grounded"] >= cond["absent"] + cond["absent_lookalike"] - 2
    assert abs(cond["absent"] - cond["absent_lookalike"]) <= 3 and cond["absent"] >= 3
    assert {i["target_attribute"] for i in data2img} >= {"bbox"}
    box_pointers = {(i["task"], i["target_attribute"]) for i in instances
                    if i["pointer_attribute"] == "bbox"}
    assert box_pointers == {("img2img", "color")}  # a box gives any other answer away


@pytest.mark.parametrize("size, seed", [(128, 0), (128, 1), (1000, 7), (37, 3)])
def test_condition_shares_are_exact_in_every_build(size, seed):
    """"A quarter absent, a quarter look-alike" held only roughly (11 and 19 of 64 at 128)."""
    from clevrlite.bench.grounding import CONDITIONS, GroundingSuite
    from clevrlite.bench.options import BenchmarkOptions

    suite = GroundingSuite()
    plan = suite.plan(BenchmarkOptions(suite="grounding", size=size, seed=seed,
                                       n_objects=(3, 10)), suite.roles(load_vocabulary()))
    data2img = [s for s in plan if s.task == "data2img"]
    got = Counter(s.condition for s in data2img)
    for condition in set(CONDITIONS):
        expected = len(data2img) * CONDITIONS.count(condition) / len(CONDITIONS)
        assert abs(got[condition] - expected) <= 1, (condition, got, len(data2img))


# ----------------------------------------------------- no text-only shortcut (issue 23)

def test_box_pointers_that_give_answers_away_are_not_planned():
    from clevrlite.bench.grounding import GroundingSuite

    roles = GroundingSuite().roles(load_vocabulary())
    assert [p for p in roles.pairs("img2data") if p[0] == "bbox"] == []
    assert ("bbox", "shape") not in roles.pairs("img2img")
    assert ("bbox", "color") in roles.pairs("img2img")
    assert ("name", "bbox") in roles.pairs("data2img")


def test_cameras_turn_so_listed_coordinates_project_to_no_box(grounding):
    """Through CLEVR's default camera, an object's listed coordinates gave its box (IoU >=
    0.5) 97% of the time, so box questions needed no image; every scene now turns the camera
    by a random angle."""
    out, _, instances = grounding
    camera = Camera(CAMERA_LOCATION, (0.0, 0.0, 0.0), CAMERA_HFOV_DEG, 480, 320)
    hits, azimuths, seen = [], set(), set()
    for inst in instances:
        if inst["scene_text"] is None or inst["scene_id"] in seen:
            continue
        seen.add(inst["scene_id"])
        scene, _ = scene_of(out, inst)
        x, y, _ = scene["camera"]["location"]
        azimuths.add(int(math.degrees(math.atan2(y, x)) % 360 // 45))
        boxes = {o["name"]: o["bbox"] for o in scene["objects"] if o.get("bbox")}
        for listed in serialize.loads(inst["scene_text"], inst["scene_format"])["objects"]:
            if listed["name"] not in boxes:
                continue
            x, y, _ = listed["3d_coords"]
            r = listed["size"]
            ring = [(x + r * math.cos(a), y + r * math.sin(a), z)
                    for a in np.linspace(0, 6.3, 16) for z in (0.0, 2 * r)]
            pix = camera.project(np.array(ring))
            box = [pix[:, 0].min(), pix[:, 1].min(), pix[:, 0].max(), pix[:, 1].max()]
            hits.append(iou(box, boxes[listed["name"]]) >= 0.5)
    assert len(hits) > 100 and sum(hits) / len(hits) < 0.2
    assert len(azimuths) >= 6  # cameras all round the scene, not CLEVR's one view


def test_absent_and_grounded_targets_show_the_same_text_profile(grounding):
    """How many listed objects equal a data2img target, or differ from it in one shown
    visible attribute: absent targets had a profile grounded ones rarely had."""
    _, _, instances = grounding
    profiles = Counter()
    for inst in instances:
        if inst["task"] != "data2img":
            continue
        objects = serialize.loads(inst["scene_text"], inst["scene_format"])["objects"]
        shown = [a for a in ("color", "shape", "material", "size") if a in objects[0]]
        me = next(o for o in objects if o["name"] == inst["target_object"])
        distances = [diff(me, o, shown) for o in objects if o is not me]
        profiles[inst["condition"], distances.count(0), distances.count(1)] += 1
    assert set(profiles) <= {("absent", 0, 0), ("absent_lookalike", 0, 1),
                             ("grounded", 0, 0), ("grounded", 0, 1)}
    assert profiles["grounded", 0, 0] and profiles["grounded", 0, 1]


def test_text_only_answers_null_where_the_object_may_be_absent(grounding, tmp_path):
    out, _, instances = grounding
    path = tmp_path / "text.jsonl"
    write_baseline("text-only", out, path)
    data2img = {i["id"] for i in instances if i["task"] == "data2img"}
    answers = {r["id"]: extract_answer(r["prediction"]).value for r in read_jsonl(path)}
    assert all(answers[i] is None for i in data2img)
    report = score(out, path, split="cross_modal")
    assert report.by_task["data2img"].accuracy >= 40.0  # null is right half the time


def test_grounding_prompts_say_boxes_and_null(grounding):
    _, _, instances = grounding
    for inst in instances:
        if inst["target_attribute"] == "bbox" or inst["pointer_attribute"] == "bbox":
            assert "[x1, y1, x2, y2] in pixels" in inst["prompt"]
        if inst["task"] == "data2img":
            assert "or null when the object is not in the image" in inst["prompt"]
        if inst["pointer_attribute"] == "bbox":
            assert f"the object inside {json.dumps(inst['pointer_value'])}" in inst["question"]


def test_the_check_on_written_files_catches_a_wrong_box(grounding):
    out, _, instances = grounding
    assert check_grounding(out, instances) == []
    box = next(i for i in instances if i["target_attribute"] == "bbox" and i["answer"])
    broken = {**box, "answer": [v + 3 for v in box["answer"]]}
    assert any("answer box" in p for p in check_grounding(out, [broken]))
    lookalike = next(i for i in instances if i["condition"] == "absent_lookalike")
    assert check_grounding(out, [{**lookalike, "lookalike": None}])


def test_the_check_compares_pointers_at_the_benchmarks_precision(grounding, tmp_path):
    """Two rotations equal at 2 decimals but not at full precision: a rotation pointer of a
    --precision full benchmark still names one object (the check read 2 decimals, and a
    1,000-instance full-precision build failed its own check)."""
    import shutil

    out, _, instances = grounding
    inst = next(i for i in instances if i["pointer_attribute"] == "rotation")
    copy = tmp_path / "bench"
    shutil.copytree(out / "scenes", copy / "scenes")
    shutil.copytree(out / "masks", copy / "masks")
    path = copy / "scenes" / f"{inst['scene_id']}.json"
    scene = json.loads(path.read_text())
    target = next(o for o in scene["objects"] if o["name"] == inst["target_object"])
    other = next(o for o in scene["objects"] if o["name"] != inst["target_object"]
                 and o.get("drawn", True))
    target["rotation"] = 120.2512
    other["rotation"] = 120.2489  # 120.25 both, at 2 decimals
    path.write_text(json.dumps(scene))
    full = {**inst, "precision": "full", "pointer_value": 120.2512}
    assert check_grounding(copy, [full]) == []
    two = {**inst, "precision": 2, "pointer_value": 120.25}
    assert any("pointer rotation" in p for p in check_grounding(copy, [two]))


# ----------------------------------------------------------------------------------- gmner

MENTION = re.compile(r"(?:an?) (?P<size>\w+) (?P<color>\w+) (?P<material>\w+) (?P<shape>\w+)")


def described(text, entity):
    """The description the passage gives an entity: read from its own sentence."""
    start = entity["start"]
    sentence_start = text.rfind(". ", 0, start) + 1
    sentence_end = text.find(".", entity["end"])
    found = MENTION.search(text[sentence_start:sentence_end + 1])
    return found.groupdict()


def test_gmner_guarantees_hold_on_the_written_files(gmner):
    out, stats, instances = gmner
    assert stats["suite"] == "gmner" and stats["counts"] == {"gmner": 24}
    conditions = Counter()
    for inst in instances:
        scene, mask = scene_of(out, inst)
        objects = {o["name"]: o for o in scene["objects"]}
        drawn = [o for o in scene["objects"] if o.get("drawn", True)]
        text = inst["text"]
        mentioned = set()
        for e in inst["entities"]:
            assert text[e["start"]:e["end"]] == e["entity"]  # offsets slice the name
            mentioned.add(e["entity"])
            desc = described(text, e)
            obj = objects[e["entity"]]
            assert desc == {k: obj[k] for k in VISIBLE}  # the passage describes the object
            assert e["type"] == obj["shape"] == desc["shape"]
            matches = [o["name"] for o in drawn if diff(desc, o, VISIBLE) == 0]
            conditions[e["condition"]] += 1
            if e["condition"] == "grounded":
                assert matches == [e["entity"]]  # identifies exactly one image object
                assert e["box"] == mask_box(mask, obj["mask_id"]) is not None
            else:
                assert matches == [] and e["box"] is None and not obj.get("drawn", True)
                assert mask_box(mask, obj["mask_id"]) is None
                near = [o["name"] for o in drawn if diff(desc, o, VISIBLE) == 1]
                assert near == ([e["lookalike"]] if e["condition"] == "absent_lookalike"
                                else [])
        unmentioned = sorted(o["name"] for o in drawn if o["name"] not in mentioned)
        assert sorted(inst["image_only"]) == unmentioned and unmentioned
        for name in unmentioned:
            assert name not in text
        assert inst["answer"] == [{"entity": e["entity"], "type": e["type"], "box": e["box"]}
                                  for e in inst["entities"]]
        assert len(inst["shots"]) == 2 and inst["images"][-1] == inst["image"]
        for shot in inst["shots"]:
            assert shot["text"] in inst["prompt"] and (out / shot["image"]).is_file()
    assert conditions["grounded"] and conditions["absent"] and conditions["absent_lookalike"]
    assert check_gmner(out, instances) == []


def test_no_two_mentions_are_twins_or_near_twins(gmner):
    """Two mentions with one description were always both absent (156 of 156): now every two
    mentions differ in at least two visible attributes, whatever their conditions."""
    _, _, instances = gmner
    pairs = 0
    for inst in instances:
        described_ = [described(inst["text"], e) for e in inst["entities"]]
        for a, b in itertools.combinations(described_, 2):
            assert diff(a, b, VISIBLE) >= 2, inst["id"]
            pairs += 1
    assert pairs >= 20


def test_a_hand_worked_matching_case():
    """Two predictions both named for gold A, one also fitting B under another spelling: a
    greedy pass pairs the first with A and leaves B unmatched; the maximum pairs both."""
    assert max_matching([[0, 1], [0]], 2) == [(0, 1), (1, 0)]
    inst = {"entities": [
        {"entity": "Object_1", "type": "cube", "box": [10, 10, 30, 30], "condition": "grounded"},
        {"entity": "Object_2", "type": "sphere", "box": None, "condition": "absent"},
        {"entity": "Object_3", "type": "cone", "box": [50, 50, 70, 90],
         "condition": "grounded"}], "image_only": ["Object_4"]}
    raw = json.dumps({"answer": [
        {"entity": "object_1", "type": "Cube", "box": [11, 11, 30, 30]},  # IoU 0.9: right
        {"entity": "Object_2", "type": "sphere", "box": [0, 0, 5, 5]},  # absent, boxed: wrong
        {"entity": "Object_3", "type": "cube", "box": [50, 50, 70, 90]},  # wrong type
        {"entity": "Object_4", "type": "cube", "box": None}]})  # image-only: hallucinated
    j = judge_entities(inst, raw)
    assert (j.predicted, j.gold, j.gmner, j.mner, j.eeg) == (4, 3, 1, 2, 2)
    assert (j.hallucinated, j.image_only, j.absent_boxed, j.null_predicted) == (1, 1, 1, 0)
    assert not j.correct
    # P = 1/4, R = 1/3 for GMNER; 2/4 and 2/3 for MNER and EEG
    from clevrlite.scoring.judge import f1

    p, r, f = f1(j.gmner, j.predicted, j.gold)
    assert (round(p, 2), round(r, 2), round(f, 2)) == (25.0, 33.33, 28.57)


def test_gmner_scores_and_biases_of_the_baselines(gmner, tmp_path):
    out, _, instances = gmner
    table = {}
    for kind in ("oracle", "text-only", "lookalike", "random"):
        preds = tmp_path / f"{kind}.jsonl"
        preds.write_text("".join(json.dumps(r) + "\n" for r in baseline_predictions(kind, out)))
        table[kind] = score(out, preds).to_dict()
    assert table["oracle"]["gmner"]["f1"] == 100.0
    assert table["oracle"]["instance_accuracy"] == 100.0
    # text-only knows names and types from the passage, never a box
    assert table["text-only"]["mner"]["f1"] == 100.0
    assert table["text-only"]["by_condition"]["grounded"] == 0.0
    assert table["text-only"]["by_condition"]["absent"] == 100.0
    # lookalike: right on every grounded mention, wrong on every absent one
    look = table["lookalike"]
    assert look["by_condition"] == {"grounded": 100.0, "absent": 0.0, "absent_lookalike": 0.0}
    assert look["textual_bias"]["rate"] == 100.0 and look["textual_bias"]["null_recall"] == 0.0
    assert table["random"]["gmner"]["f1"] < 40
    absent = sum(e["box"] is None for i in instances for e in i["entities"])
    assert look["textual_bias"]["absent_entities"] == absent


def test_visual_bias_counts_entities_the_passage_never_names(gmner, tmp_path):
    out, _, instances = gmner
    inst = instances[0]
    extra = [{"entity": name, "type": "cube", "box": None} for name in inst["image_only"]]
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": inst["id"], "prediction": json.dumps(
        {"answer": inst["answer"] + extra})}) + "\n")
    d = score(out, preds).to_dict()
    assert d["visual_bias"]["hallucinated"] == len(extra) == d["visual_bias"]["image_only"]
    assert d["visual_bias"]["per_instance"] == pytest.approx(len(extra) / len(instances))
    assert d["missing"] == len(instances) - 1


@pytest.mark.parametrize("box_format, scale", [("norm1", 1.0), ("norm1000", 1000.0)])
def test_box_conventions(gmner, grounding, tmp_path, box_format, scale):
    for out, _, instances in (gmner, grounding):
        rows = []
        for inst in instances:
            def convert(box):
                if box is None:
                    return None
                return [box[0] / 480 * scale, box[1] / 320 * scale, box[2] / 480 * scale,
                        box[3] / 320 * scale]
            if inst["task"] == "gmner":
                answer = [{**e, "box": convert(e["box"])} for e in inst["answer"]]
            elif inst["target_attribute"] == "bbox":
                answer = convert(inst["answer"])
            else:
                answer = inst["answer"]
            rows.append(json.dumps({"id": inst["id"], "prediction": json.dumps(
                {"answer": answer})}))
        preds = tmp_path / "p.jsonl"
        preds.write_text("\n".join(rows) + "\n")
        report = score(out, preds, box_format=box_format).to_dict()
        assert report.get("overall", report.get("instance_accuracy")) == 100.0
        assert score(out, preds).to_dict().get("overall", 100.0) < 100.0 or \
            instances[0]["task"] == "gmner"


def test_malformed_boxes_are_wrong_and_counted_never_a_crash(grounding, gmner, tmp_path):
    bad = [[1, 2, 3], [30, 10, 10, 40], [float("nan"), 1, 2, 3], ["a", "b", "c", "d"],
           "somewhere", {"x": 1}, [True, 0, 5, 5], [1e309, 0, 2, 2]]
    out, _, instances = grounding
    boxes = [i for i in instances if i["target_attribute"] == "bbox"][:len(bad)]
    rows = [{"id": i["id"], "prediction": '{"answer": ' + json.dumps(b).replace(
        "NaN", "NaN") + "}"} for i, b in zip(boxes, bad)]
    preds = tmp_path / "g.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    d = score(out, preds).to_dict()
    assert d["malformed_boxes"] == len(rows)
    assert all(score(out, preds).outcomes[r["id"]] != "correct" for r in rows)
    out, _, instances = gmner
    inst = instances[0]
    answer = [{**e, "box": b} for e, b in zip(inst["answer"], itertools.cycle(bad))]
    preds = tmp_path / "m.jsonl"
    preds.write_text(json.dumps({"id": inst["id"], "prediction": json.dumps(
        {"answer": answer})}) + "\n")
    assert score(out, preds).to_dict()["malformed_boxes"] == len(answer)


def test_predictions_for_another_suite_are_refused(grounding, gmner, tmp_path):
    g_out, _, g_inst = grounding
    m_out, _, _ = gmner
    preds = tmp_path / "g.jsonl"
    preds.write_text(json.dumps({"id": g_inst[0]["id"], "prediction": "x"}) + "\n")
    with pytest.raises(UsageError, match="grounding suite.*gmner benchmark"):
        score(m_out, preds)


def test_suite_options_that_cannot_go_together(tmp_path):
    for given, word in (({"mate_compat": True}, "--mate-compat"),
                        ({"same_scene_shots": True}, "--same-scene-shots")):
        with pytest.raises(UsageError, match=word):
            build_benchmark(BenchmarkOptions(out=tmp_path / "b", suite="gmner", size=2,
                                             **given))
    with pytest.raises(UsageError, match="lookalike"):
        from clevrlite.scoring.baselines import baseline_predictions as bp
        out = tmp_path / "m"
        build_benchmark(BenchmarkOptions(out=out, size=2, unimodal_size=0, shots=0,
                                         n_objects=(3, 3)))
        bp("lookalike", out)
    assert not (tmp_path / "b").exists()


def test_mean_iou_and_acc_at_half(grounding, tmp_path):
    out, _, instances = grounding
    boxes = [i for i in instances if i["target_attribute"] == "bbox" and i["answer"]]
    rows = []
    for k, inst in enumerate(boxes):
        x1, y1, x2, y2 = inst["answer"]
        shift = (x2 - x1) // 2 if k % 2 else 0  # every other box slid by half its width
        rows.append({"id": inst["id"], "prediction": json.dumps(
            {"answer": [x1 + shift, y1, x2 + shift, y2]})})
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    d = score(out, preds).to_dict()

    def overlap(a, b):
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        inter = max(w, 0) * max(h, 0)
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    ious = [overlap(json.loads(r["prediction"])["answer"], i["answer"])
            for r, i in zip(rows, boxes)]
    assert d["box_answers"] == len(boxes)
    assert d["mean_iou"] == pytest.approx(sum(ious) / len(ious), abs=1e-4)
    assert d["acc_at_0.5"] == pytest.approx(100.0 * sum(v >= 0.5 for v in ious) / len(ious),
                                            abs=0.01)
    assert not math.isnan(d["mean_iou"])


def test_linking_balance_leaves_questions_that_may_point_at_absent_objects_alone(tmp_path):
    """No linking set reaches an absent target: balancing grounded data2img targets' sizes
    would tell them apart, so --balance-linking balances the other tasks only (and a grounded
    data2img target, which matches no other listed object, never needs coordinates)."""
    stats = build_benchmark(BenchmarkOptions(out=tmp_path / "b", suite="grounding", size=64,
                                             unimodal_size=8, n_objects=(4, 5), shots=0,
                                             balance_linking=True, workers=2))
    instances = read_jsonl(tmp_path / "b" / "cross_modal.jsonl")
    sizes = Counter((i["task"], i["min_linking_size"]) for i in instances)
    assert stats["audit"]["passed"]
    img2data = {s for (t, s) in sizes if t == "img2data"}
    assert {1, 2} <= img2data  # balanced sizes where nothing can be absent
    grounded = [i for i in instances if i["task"] == "data2img" and i["answer"] is not None]
    assert grounded and all(i["min_linking_size"] is not None for i in grounded)
