"""The benchmark builder, checked instance by instance against independent computations."""

import itertools
import json
from collections import Counter

import pytest

from clevrlite import serialize
from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.bench.plan import make_plan
from clevrlite.bench.roles import Roles
from clevrlite.errors import UsageError
from clevrlite.vocab import load_vocabulary

IMAGE_SIDE, TEXT_SIDE = {"color", "shape"}, {"name", "3d_coords", "rotation", "size"}
BOTH = ("color", "shape", "material", "size")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    options = BenchmarkOptions(out=out, size=40, unimodal_size=20, n_objects=(3, 6), shots=2,
                               cot=True, balance_linking=True, workers=1)
    stats = build_benchmark(options)
    lines = {split: [json.loads(l) for l in (out / f"{split}.jsonl").read_text().splitlines()]
             for split in ("cross_modal", "unimodal")}
    return out, stats, lines


def key(value):
    """Independent value comparison at 2 decimals."""
    if isinstance(value, list):
        return tuple(round(v, 2) for v in value)
    return round(value, 2) if isinstance(value, float) else value


def scene_values(out, inst):
    scene = json.loads((out / "scenes" / f"{inst['scene_id']}.json").read_text())
    return scene, [{**o, "size": o["scale"]} for o in scene["objects"]]


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
        links = brute_force_links(objs, t, [a for a in BOTH if a not in (p, tgt)])
        assert sorted(map(sorted, inst["linking_sets"]), key=lambda s: (len(s), s)) == links
        assert inst["min_linking_size"] == (len(links[0]) if links else None)
        if inst["image"]:
            assert (out / inst["image"]).is_file()
            assert all(o["visible_pixels"] >= 200 for o in scene["objects"])
        if inst["task"] == "img2data":
            assert p in IMAGE_SIDE and tgt in TEXT_SIDE
        if inst["task"] == "data2img":
            assert p in TEXT_SIDE and tgt in IMAGE_SIDE


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
    uni = Counter(s.cell for s in plan if s.split == "unimodal")
    assert max(uni.values()) - min(uni.values()) <= 1


def test_linking_balance_hits_its_goals(bench):
    _, _, lines = bench
    plan = make_plan(Roles.for_vocab(load_vocabulary()), (3, 6), 40, 20, 117,
                     balance_linking=True, shots=2)
    goals = {s.id: s.linking for s in plan}
    for inst in lines["cross_modal"]:
        want = goals[inst["id"]]
        assert inst["min_linking_size"] == (None if want == 0 else want), inst["id"]


def test_shots_never_concern_the_target_or_leak_it(bench):
    _, _, lines = bench
    for inst in lines["cross_modal"] + lines["unimodal"]:
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


def test_rationales_cite_only_what_the_text_shows(bench):
    _, _, lines = bench
    for inst in lines["cross_modal"]:
        hidden = {"img2data": inst["pointer_attribute"],
                  "data2img": inst["target_attribute"]}[inst["task"]]
        for s in inst["shots"]:
            text_part = s["rationale"].split("In the image")[0] if inst["task"] == "data2img" \
                else s["rationale"].split("In the description")[-1]
            assert f"{hidden} " not in text_part.split(". Its ")[0], s["rationale"]


def test_bad_sizes_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--size"):
        build_benchmark(BenchmarkOptions(out=tmp_path / "b", size=0))
    with pytest.raises(UsageError, match="--shots"):
        build_benchmark(BenchmarkOptions(out=tmp_path / "b", shots=3))
    assert not (tmp_path / "b").exists()


def test_mate_compat_files(tmp_path):
    out = tmp_path / "m"
    build_benchmark(BenchmarkOptions(out=out, size=8, unimodal_size=6, n_objects=(4, 5),
                                     shots=0, mate_compat=True, workers=1))
    ours = {split: {json.loads(l)["id"]: json.loads(l)
                    for l in (out / f"{split}.jsonl").read_text().splitlines()}
            for split in ("cross_modal", "unimodal")}
    for stem, split, shots in (("mm_0shot", "cross_modal", 0), ("mm_2shot", "cross_modal", 2),
                               ("mm_2shot_cot", "cross_modal", 2), ("um_1shot", "unimodal", 1)):
        lines = [json.loads(l) for l in (out / "mate" / f"{stem}.jsonl").read_text().splitlines()]
        assert {l["example_id"] for l in lines} == set(ours[split])
        for line in lines:
            record = ours[split][line["example_id"]]
            assert set(line) == {"example_id", "image", "scene", "key_attributes",
                                 "object_count", "target_attribute", "pointer_attribute",
                                 "few_shot_attributes", "scene_format", "input_str", "task",
                                 "gold_reference"}
            assert line["gold_reference"] == record["answer"]
            assert len(line["few_shot_attributes"]) == shots
            assert line["input_str"].count("Example ") == shots
            assert ("Reasoning:" in line["input_str"]) == stem.endswith("cot")


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
        construct(spec, objects, rng, vocab, Roles.for_vocab(vocab), 2, 0)
        shown = [round(o.attributes["weight"], 2) for o in objects]
        assert len(set(shown)) == 5
