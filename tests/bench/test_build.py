"""The benchmark builder, checked instance by instance against independent computations."""

import itertools
import json
from collections import Counter

import pytest
from helpers import read_jsonl

from clevrlite import serialize
from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.bench.plan import make_plan
from clevrlite.bench.roles import Roles
from clevrlite.errors import UsageError
from clevrlite.precision import Precision
from clevrlite.vocab import load_vocabulary

IMAGE_SIDE, TEXT_SIDE = {"color", "shape"}, {"name", "3d_coords", "rotation", "size"}
BOTH = ("color", "shape", "material", "size")
WITHHELD = {"img2data": "pointer_attribute", "data2img": "target_attribute"}


def read_lines(out):
    return {split: read_jsonl(out / f"{split}.jsonl") for split in ("cross_modal", "unimodal")}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    options = BenchmarkOptions(out=out, size=40, unimodal_size=28, n_objects=(3, 6), shots=2,
                               cot=True, balance_linking=True, workers=1)
    stats = build_benchmark(options)
    return out, stats, read_lines(out)


@pytest.fixture(scope="module")
def same_scene(tmp_path_factory):
    """MATE's way: worked examples from the question's own scene."""
    out = tmp_path_factory.mktemp("same")
    options = BenchmarkOptions(out=out, size=32, unimodal_size=16, n_objects=(3, 5), shots=2,
                               cot=True, same_scene_shots=True, workers=1)
    stats = build_benchmark(options)
    return out, stats, read_lines(out)


def linking_rule(inst):
    """DESIGN 5 as written: what both modalities show, minus the target and the withheld."""
    hidden = inst.get(WITHHELD.get(inst["task"], ""), None)
    return [a for a in BOTH if a not in (inst["target_attribute"], hidden)]


def key(value):
    """Independent value comparison at 2 decimals."""
    if isinstance(value, list):
        return tuple(round(v, 2) for v in value)
    return round(value, 2) if isinstance(value, float) else value


def scene_values(out, inst):
    """The scene and its objects as the benchmark states them: size as the scale, 3d_coords
    as the point where the object rests on the floor."""
    scene = json.loads((out / "scenes" / f"{inst['scene_id']}.json").read_text())
    return scene, [{**o, "size": o["scale"], "3d_coords": [*o["3d_coords"][:2], 0.0]}
                   for o in scene["objects"]]


def brute_force_links(objs, t, attrs):
    singles = [set(c) for r in range(len(attrs) + 1) for c in itertools.combinations(attrs, r)
               if all(any(key(o[a]) != key(objs[t][a]) for a in c)
                      for i, o in enumerate(objs) if i != t)]
    return sorted((sorted(s) for s in singles if not any(o < s for o in singles)),
                  key=lambda s: (len(s), s))


def test_every_instance_rederived_from_its_scene(bench):
    out, _, lines = bench
    for inst in lines["cross_modal"] + lines["unimodal"]:
        scene, objs = scene_values(out, inst)
        t = next(i for i, o in enumerate(objs) if o["name"] == inst["target_object"])
        p, tgt = inst["pointer_attribute"], inst["target_attribute"]
        counts = Counter(key(o[p]) for o in objs)
        assert counts[key(objs[t][p])] == 1, inst["id"]  # pointer names exactly one object
        assert key(inst["pointer_value"]) == key(objs[t][p])
        assert key(inst["answer"]) == key(objs[t][tgt])
        assert inst["object_count"] == len(objs)
        links = brute_force_links(objs, t, linking_rule(inst))
        assert sorted(map(sorted, inst["linking_sets"]), key=lambda s: (len(s), s)) == links
        assert inst["min_linking_size"] == (len(links[0]) if links else None)
        if inst["image"]:
            assert (out / inst["image"]).is_file()
            assert all(o["visible_pixels"] >= 200 for o in scene["objects"])
        if inst["task"] == "img2data":
            assert p in IMAGE_SIDE and tgt in TEXT_SIDE
        if inst["task"] == "data2img":
            assert p in TEXT_SIDE and tgt in IMAGE_SIDE


def test_texts_give_where_objects_rest_not_their_centres(bench):
    """A cube's centre rests at scale / sqrt(2), other shapes' at their scale: listed centres
    told cubes apart even where the text withheld shape. Texts give the floor contact point,
    and the prompt says so."""
    out, _, lines = bench
    checked = 0
    for inst in lines["cross_modal"] + lines["unimodal"]:
        if inst["scene_text"] is None:
            continue
        scene, _ = scene_values(out, inst)
        centres = {o["name"]: o["3d_coords"] for o in scene["objects"]}
        for obj in serialize.loads(inst["scene_text"], inst["scene_format"])["objects"]:
            if "3d_coords" in obj:
                x, y, z = centres[obj["name"]]
                assert obj["3d_coords"] == [round(x, 2), round(y, 2), 0.0]
                checked += 1
        assert "the point where the object rests on the floor, so z = 0" in inst["prompt"]
    assert checked > 100


def test_text_withholds_the_right_attribute(bench):
    _, _, lines = bench
    for inst in lines["cross_modal"] + lines["unimodal"]:
        if inst["task"] == "img2img":
            assert inst["scene_text"] is None and inst["image"]
            continue
        parsed = serialize.loads(inst["scene_text"], inst["scene_format"])["objects"]
        hidden = {"img2data": inst["pointer_attribute"],
                  "data2img": inst["target_attribute"]}.get(inst["task"])
        for obj in parsed:
            assert hidden not in obj
            assert "material" in obj and "3d_coords" in obj
        if hidden:
            assert hidden not in inst["scene_text"]
        if inst["task"] == "data2data":
            assert inst["image"] is None


def test_cells_are_balanced(bench):
    out, stats, lines = bench
    roles = Roles.for_vocab(load_vocabulary())
    cm = Counter((i["object_count"], i["task"], i["pointer_attribute"], i["target_attribute"])
                 for i in lines["cross_modal"])
    cells = 4 * 16  # 4 object counts x 16 pairs
    assert len(lines["cross_modal"]) == 40
    assert set(cm.values()) <= {40 // cells, 40 // cells + 1}
    assert sum(stats["by_cell"]["cross_modal"].values()) == 40
    plan = make_plan(roles, (3, 10), 5500, 5500, 117)
    per_cell = Counter(s.cell for s in plan if s.split == "cross_modal")
    assert len(per_cell) == 128 and set(per_cell.values()) == {42, 43}


def test_unimodal_split_balances_tasks_within_each_object_count_first():
    roles = Roles.for_vocab(load_vocabulary())
    plan = [s for s in make_plan(roles, (3, 10), 5500, 5500, 117) if s.split == "unimodal"]
    assert len(plan) == 5500
    per_count = Counter(s.n_objects for s in plan)
    assert set(per_count.values()) <= {687, 688}
    per_task = Counter((s.n_objects, s.task) for s in plan)
    for n in range(3, 11):
        assert abs(per_task[n, "img2img"] - per_task[n, "data2data"]) <= 1
    odd = sum(v % 2 for v in per_count.values())  # counts whose share splits unevenly
    assert abs(sum(s.task == "img2img" for s in plan) - 2750) <= odd  # MATE's equal shares
    per_cell = Counter((s.n_objects, s.task, s.pointer, s.target) for s in plan)
    for (n, task), total in per_task.items():
        pairs = [v for (m, t, _, _), v in per_cell.items() if (m, t) == (n, task)]
        assert len(pairs) == len(roles.pairs(task)) and sum(pairs) == total
        assert max(pairs) - min(pairs) <= 1


def test_the_built_unimodal_split_is_balanced(bench):
    _, _, lines = bench
    per_task = Counter((i["object_count"], i["task"]) for i in lines["unimodal"])
    for n in range(3, 7):
        assert per_task[n, "img2img"] + per_task[n, "data2data"] == 7
        assert abs(per_task[n, "img2img"] - per_task[n, "data2data"]) <= 1


def test_linking_balance_hits_its_goals(bench):
    _, _, lines = bench
    plan = make_plan(Roles.for_vocab(load_vocabulary()), (3, 6), 40, 28, 117,
                     balance_linking=True, shots=0)
    goals = {s.id: s.linking for s in plan}
    for inst in lines["cross_modal"]:
        want = goals[inst["id"]]
        assert inst["min_linking_size"] == (None if want == 0 else want), inst["id"]


def test_a_pointer_both_modalities_show_links_alone(bench):
    _, _, lines = bench
    for inst in lines["cross_modal"] + lines["unimodal"]:
        if inst["pointer_attribute"] in linking_rule(inst):  # size in data2img, unimodal
            assert inst["min_linking_size"] == 1
            assert [inst["pointer_attribute"]] in inst["linking_sets"]


def test_examples_come_from_other_scenes_with_their_own_image_and_text(bench):
    out, stats, lines = bench
    assert stats["shot_source"] == "other_scenes" and stats["example_scenes"] == 8
    for inst in lines["cross_modal"] + lines["unimodal"]:
        assert len(inst["shots"]) == 2
        assert len({s["scene_id"] for s in inst["shots"]}) == 2
        for s in inst["shots"]:
            assert s["scene_id"] != inst["scene_id"] and "_example_" in s["scene_id"]
            objs = scene_values(out, {"scene_id": s["scene_id"]})[1]
            assert len(objs) == inst["object_count"]
            shot = next(o for o in objs if o["name"] == s["object"])
            p, t = s["pointer_attribute"], s["target_attribute"]
            assert Counter(key(o[p]) for o in objs)[key(shot[p])] == 1
            assert key(s["pointer_value"]) == key(shot[p]) and key(s["answer"]) == key(shot[t])
            assert (s["image"] is None) == (inst["task"] == "data2data")
            if s["image"]:
                assert (out / s["image"]).is_file()
            assert (s["scene_text"] is None) == (inst["task"] == "img2img")
            if s["scene_text"]:
                assert s["scene_text"] in inst["prompt"]
                hidden = {"img2data": p, "data2img": t}.get(inst["task"])
                parsed = serialize.loads(s["scene_text"], inst["scene_format"])["objects"]
                assert all(hidden not in o for o in parsed) and len(parsed) == len(objs)
            assert s["question"] in inst["prompt"]
        assert inst["images"] == [s["image"] for s in inst["shots"] if s["image"]] + \
            ([inst["image"]] if inst["image"] else [])
        for k in range(1, len(inst["images"]) + 1):
            assert f"image {k}" in inst["prompt"]


def test_shots_never_concern_the_target_or_leak_it(same_scene):
    _, stats, lines = same_scene
    assert stats["shot_source"] == "same_scene"
    for inst in lines["cross_modal"] + lines["unimodal"]:
        assert {s["scene_id"] for s in inst["shots"]} == {inst["scene_id"]}
        assert inst["images"] == ([inst["image"]] if inst["image"] else [])
        assert len(inst["shots"]) == 2
        objects = {s["object"] for s in inst["shots"]}
        assert inst["target_object"] not in objects and len(objects) == 2
        target = inst["target_attribute"]
        possible = {"color": 8, "shape": 3, "material": 2, "size": 2}.get(target)
        for s in inst["shots"]:
            if possible is None:  # names, coordinates, rotations: never revealed by examples
                assert target not in (s["pointer_attribute"], s["target_attribute"])
            assert s["question"] in inst["prompt"]
        if possible is not None:  # each such example rules out one value; two must remain
            ruled_out = sum(s["pointer_attribute"] == target for s in inst["shots"])
            assert possible - ruled_out >= 2
        assert inst["question"] in inst["prompt"]
        assert '{"answer": ...}' in inst["prompt"]


@pytest.mark.parametrize("kind", ["bench", "same_scene"])
def test_rationales_cite_only_what_the_text_shows(kind, request):
    _, _, lines = request.getfixturevalue(kind)
    for inst in lines["cross_modal"]:
        for s in inst["shots"]:
            asked = s if s["scene_text"] else inst  # whose text the example reads
            hidden = asked[WITHHELD[inst["task"]]]
            text_part = s["rationale"].split("In the image")[0] if inst["task"] == "data2img" \
                else s["rationale"].split("In the description")[-1]
            assert f"{hidden} " not in text_part.split(". Its ")[0], s["rationale"]


def test_bad_sizes_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--size"):
        build_benchmark(BenchmarkOptions(out=tmp_path / "b", size=0))
    with pytest.raises(UsageError, match="--shots"):
        build_benchmark(BenchmarkOptions(out=tmp_path / "b", shots=3))
    assert not (tmp_path / "b").exists()


def test_numeric_pointers_stay_distinct_at_the_shown_precision():
    import numpy as np

    from clevrlite.bench.construct import construct
    from clevrlite.bench.plan import InstanceSpec
    from clevrlite.placement import sample_attributes
    from clevrlite.vocab import parse_vocabulary, DEFAULT_PROPERTIES

    data = json.loads(DEFAULT_PROPERTIES.read_text())
    data["attributes"] = {"weight": {"side": "text", "range": [1.0, 1.05], "decimals": 4}}
    vocab = parse_vocabulary(data, where="test")
    spec = InstanceSpec(0, "cross_modal", 5, "data2img", "weight", "color")
    rng = np.random.default_rng(3)
    for _ in range(20):
        objects = [sample_attributes(vocab, rng) for _ in range(5)]
        construct(spec, objects, rng, vocab, Roles.for_vocab(vocab), Precision(2), 0)
        shown = [round(o.attributes["weight"], 2) for o in objects]
        assert len(set(shown)) == 5


def test_text_only_shots_gains_nothing_from_examples_of_other_scenes(bench):
    from clevrlite.scoring.baselines import baseline_predictions

    out, _, _ = bench
    plain = baseline_predictions("text-only", out, seed=3)
    shots = baseline_predictions("text-only-shots", out, seed=3)
    assert shots == plain  # same draws, and nothing to rule out


def test_text_only_shots_rules_out_same_scene_example_objects(same_scene):
    """In a 3-object img2data scene, two same-scene examples leave only the target."""
    from clevrlite.scoring.answers import answers_match, extract_answer
    from clevrlite.scoring.baselines import baseline_predictions

    out, _, lines = same_scene
    preds = {r["id"]: r["prediction"] for r in baseline_predictions("text-only-shots", out)}
    checked = 0
    for inst in lines["cross_modal"]:
        if inst["task"] != "img2data":
            continue
        _, objs = scene_values(out, inst)
        answer = extract_answer(preds[inst["id"]]).value
        examples = {s["object"] for s in inst["shots"]}
        target = inst["target_attribute"]
        # never an example object's value (each example names its object by a unique value)
        others = [o for o in objs if o["name"] not in examples]
        assert any(answers_match(answer, o[target]) for o in others), inst["id"]
        if inst["object_count"] == 3:
            assert answers_match(answer, inst["answer"]), inst["id"]
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("preset", [None, "mate"])
@pytest.mark.parametrize("fmt", serialize.FORMATS)
def test_prompts_list_the_allowed_values_of_image_side_answers(preset, fmt):
    import numpy as np

    from clevrlite.bench.build import _vocabulary
    from clevrlite.bench.mate import MateSuite
    from clevrlite.bench.plan import InstanceSpec
    from clevrlite.bench.suite import BuildContext
    from clevrlite.placement import PlacementOptions, sample_scene

    options = BenchmarkOptions.from_preset(preset, fmt=fmt, shots=0 if preset is None else 2)
    vocab = _vocabulary(options)
    suite = MateSuite()
    context = BuildContext(options, vocab, suite.roles(vocab))
    allowed = {"color": list(vocab.colors), "shape": list(vocab.shapes)}
    assert ("cone" in allowed["shape"]) == (preset == "mate")
    for k, (task, pointer, target) in enumerate(
            [("data2img", "name", "color"), ("data2img", "size", "shape"),
             ("img2img", "color", "shape"), ("img2img", "shape", "color"),
             ("img2data", "color", "rotation"), ("data2data", "name", "size")]):
        spec = InstanceSpec(k, "cross_modal", 5, task, pointer, target)
        chosen = {}

        def constrain(objects, rng):
            chosen["t"] = suite.construct(spec, objects, rng, context)

        scene = sample_scene(vocab, k, 1, PlacementOptions(n_objects=(5, 5)),
                             np.random.default_rng(k), constrain)
        record = suite.record(context, spec, scene.to_dict(), chosen["t"], task != "data2data",
                              [])
        if target in allowed:
            assert record["choices"] == allowed[target]
            assert f"The {target} is one of: {', '.join(allowed[target])}." in record["prompt"]
        else:
            assert record["choices"] is None and "is one of" not in record["prompt"]


def test_same_scene_examples_are_found_whatever_the_draw():
    """Whether a scene offers its examples must not depend on the order they are tried in
    (a greedy pick failed one build: it took the budgeted example first)."""
    import numpy as np

    from clevrlite.bench.shots import Shot, choose_same_scene

    candidates = [Shot(1, "shape", "color"), Shot(1, "color", "shape"),
                  Shot(2, "shape", "color")]
    for seed in range(50):
        chosen = choose_same_scene(candidates, 2, np.random.default_rng(seed), "shape", 3)
        assert chosen is not None and len({s.object_index for s in chosen}) == 2
        assert sum(s.pointer == "shape" for s in chosen) <= 1
    assert choose_same_scene(candidates[:2], 2, np.random.default_rng(0), "shape", 3) is None
