"""Scoring: answer parsing in both modes, comparison rules, breakdowns, OSE and bad inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clevrlite.scoring.answers import answers_match, extract_answer
from clevrlite.errors import UsageError
from clevrlite.scoring.evaluate import score
from clevrlite.scoring.output import PLOT_NEEDS_MATPLOTLIB, format_table, plot_accuracy


def obj(i, shape, color, material, size, scale, coords, rotation):
    return {"name": f"Object_{i}", "shape": shape, "color": color, "material": material,
            "size": size, "scale": scale, "3d_coords": coords, "rotation": rotation}


SCENES = {
    "s0": [obj(0, "cube", "red", "rubber", "large", 0.7, [1.0, -2.0, 0.7], 30.0),
           obj(1, "sphere", "blue", "metal", "small", 0.35, [-1.5, 0.25, 0.35], 120.5),
           obj(2, "cylinder", "green", "rubber", "small", 0.35, [2.25, 1.0, 0.35], 200.0)],
    "s1": [obj(0, "cube", "yellow", "rubber", "large", 0.7, [0.5, 0.5, 0.7], 45.2531),
           obj(1, "cylinder", "purple", "metal", "small", 0.35, [-2.0, -2.0, 0.35], 310.0),
           obj(2, "sphere", "gray", "rubber", "large", 0.7, [2.0, -1.0, 0.7], 90.0),
           obj(3, "cube", "cyan", "metal", "small", 0.35, [-0.5, 2.5, 0.35], 12.0)],
}

# id, task, scene, pointer attribute, pointer value, target attribute, target, answer, min size
CROSS = [
    ("c1", "img2data", "s0", "color", "red", "name", 0, "Object_0", 1),
    ("c2", "img2data", "s0", "shape", "sphere", "3d_coords", 1, [-1.5, 0.25, 0.35], 2),
    ("c3", "data2img", "s0", "name", "Object_2", "color", 2, "green", 1),
    ("c4", "data2img", "s1", "rotation", 310.0, "shape", 1, "cylinder", None),
    ("c5", "img2data", "s1", "color", "cyan", "size", 3, 0.35, 1),
    ("c6", "img2data", "s1", "color", "yellow", "rotation", 0, 45.25, 1),
]
UNI = [
    ("u1", "img2img", "s0", "color", "red", "shape", 0, "cube", 1),
    ("u2", "data2data", "s1", "name", "Object_0", "rotation", 0, 45.25, 2),
]


def instance(row, precision=2):
    iid, task, scene, pattr, pval, tattr, target, answer, min_size = row
    text = None if task == "img2img" else json.dumps({"objects": SCENES[scene]})
    return {"id": iid, "scene_id": scene, "image": None if task == "data2data" else f"{scene}.png",
            "task": task, "object_count": len(SCENES[scene]), "pointer_attribute": pattr,
            "pointer_value": pval, "target_attribute": tattr, "target_object": f"Object_{target}",
            "answer": answer, "scene_text": text, "scene_format": text and "json",
            "question": "?", "prompt": "?", "linking_sets": [], "min_linking_size": min_size,
            "precision": precision}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def bench(tmp_path) -> Path:
    root = tmp_path / "bench"
    (root / "scenes").mkdir(parents=True)
    for sid, objects in SCENES.items():
        (root / "scenes" / f"{sid}.json").write_text(json.dumps({"objects": objects}))
    write_jsonl(root / "cross_modal.jsonl", [instance(r) for r in CROSS])
    write_jsonl(root / "unimodal.jsonl", [instance(r) for r in UNI])
    (root / "stats.json").write_text(json.dumps({"precision": 2}))
    return root


def preds(tmp_path, mapping: dict[str, str], name="preds.jsonl") -> Path:
    return write_jsonl(tmp_path / name, [{"id": k, "prediction": v} for k, v in mapping.items()])


MIXED = {
    "c1": 'The answer is {"answer": "object_0"}',
    "c2": '```json\n{"answer": [-1.5, 0.25, 0.35]}\n```',
    "c3": "{'answer': 'blue'}",
    "c4": "I cannot tell from the image.",
    "c5": '{"answer": "0.7"}',
    "u1": '{"answer": "cone"}',
    "u2": '{"answer": 45.2531}',
}


# ------------------------------------------------------------------------- lenient parsing

@pytest.mark.parametrize("text, expected", [
    ('```json\n{"answer": "red"}\n```', "red"),
    ("{'answer': 'red'}", "red"),
    ('{"answer":"red"}', "red"),
    ('The answer is {"answer": "red"} because the cube is red.', "red"),
    ('First {"answer": "blue"}, no wait: {"answer": "red"}', "red"),
    ('{"reasoning": {"step": "find {x}"}, "answer": "red"}', "red"),
    ('{"answer": "red {bright}"}', "red {bright}"),
    ('{"answer": "red", "alternatives": [{"answer": "blue"}]}', "red"),
    ('{"answer": "0.7"}', "0.7"),
    ('{"answer": [1.0, -2.5, 0.35]}', [1.0, -2.5, 0.35]),
    ('{"Answer": "red"}', "red"),
    ("{answer: red}", "red"),
    ('Sure: {"answer": "red"', "red"),
    ('{\\"answer\\": \\"red\\"}', "red"),
    ('{"answer": "red",}', "red"),
    ("{\u201canswer\u201d: \u201cred\u201d}", "red"),
    ('{"answer": "blue"} then {\u201canswer\u201d: \u201cred\u201d}', "red"),
    ('{"answer": "\u201cred\u201d"}', "\u201cred\u201d"),
    ("I'm sure it's {'answer': 'red'} here", "red"),
    ('{"answer": null}', None),
])
def test_lenient_parser_finds_last_answer(text, expected):
    assert extract_answer(text) == (True, expected)


@pytest.mark.parametrize("text", ["I don't know", '{"result": "red"}', "", "answer: red",
                                  "{ unbalanced"])
def test_lenient_parser_unparseable(text):
    assert extract_answer(text).ok is False


JSON_VALUES = st.one_of(
    st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=4))
PROSE = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40)


@given(PROSE, JSON_VALUES, PROSE, st.booleans())
def test_lenient_parser_round_trips_any_value(prefix, answer, suffix, ascii_only):
    text = prefix + json.dumps({"answer": answer}, ensure_ascii=ascii_only) + suffix
    assert extract_answer(text) == (True, answer)
    assert answers_match(answer, answer, precision=None)


@given(st.text(alphabet=st.sampled_from('{}"\':, answerAnswer[]0.7-'), max_size=60))
def test_parsers_never_raise(text):
    extract_answer(text)
    extract_answer(text, mode="mate")


# ------------------------------------------------------------------------- MATE parsing

@pytest.mark.parametrize("text, expected", [
    ('{"answer": "red"}', (True, "red")),
    ('x {"answer": "blue"} y {"answer": "red"}', (True, "red")),
    ('{  "answer": "red"}', (True, "red")),
    ('```json\n{"answer": "red"}\n```', (True, "red")),
    ('{"answer": "red", "why": "x"}', (True, "red")),
    ('{"answer":"red"}', (False, None)),
    ("{'answer': 'red'}", (False, None)),
    ('{"answer": {"v": 1}}', (False, None)),
    ('{"why": "x", "answer": "red"}', (False, None)),
    ("no json", (False, None)),
])
def test_mate_parser(text, expected):
    assert tuple(extract_answer(text, mode="mate")) == expected


def test_mate_compares_python_strings_exactly():
    assert answers_match("red", "red", mode="mate")
    assert not answers_match("Red", "red", mode="mate")
    assert answers_match(" red ", "red", mode="mate")
    assert answers_match("0.7", 0.7, mode="mate")  # MATE compares str(gold) with str(pred)
    assert not answers_match("0.70", 0.7, mode="mate")
    assert answers_match([1.0, 0.35], [1.0, 0.35], mode="mate")
    assert not answers_match([1, 0.35], [1.0, 0.35], mode="mate")


# ------------------------------------------------------------------------- comparison

def test_lenient_strings_ignore_case_and_whitespace():
    assert answers_match("  Object_0 ", "Object_0")
    assert answers_match("light  BLUE", "light blue")
    assert not answers_match("blue", "light blue")
    assert not answers_match(["red"], "red")


def test_numbers_rounded_to_precision():
    assert answers_match(45.2531, 45.25, precision=2)
    assert answers_match("45.25", 45.25, precision=2)
    assert answers_match(" 0.350 ", 0.35, precision=2)
    assert answers_match(7, 7.0, precision=2)
    assert not answers_match(45.26, 45.25, precision=2)
    assert not answers_match("forty", 45.25, precision=2)
    assert not answers_match(True, 1, precision=2)


def test_full_precision_compares_floats_exactly():
    assert answers_match(45.2531, 45.2531, precision=None)
    assert answers_match("45.25310", 45.2531, precision=None)
    assert not answers_match(45.25, 45.2531, precision=None)
    assert not answers_match(45.253100000001, 45.2531, precision=None)


def test_user_attribute_values():
    assert answers_match("3", 3) and answers_match(3, "3") and answers_match(3.0, 3)
    assert answers_match("Heavy ", "heavy")
    assert not answers_match(4, 3)


def test_coordinate_lists():
    gold = [-1.5, 0.25, 0.35]
    assert answers_match([-1.5, 0.25, 0.35], gold)
    assert answers_match([-1.501, 0.249, 0.35], gold, precision=2)
    assert answers_match("[-1.5, 0.25, 0.35]", gold)
    assert answers_match("(-1.50, 0.25, 0.35)", gold)
    assert answers_match(["-1.5", "0.25", "0.35"], gold)
    assert not answers_match([-1.5, 0.25], gold)
    assert not answers_match([-1.5, 0.26, 0.35], gold)
    assert not answers_match("somewhere left", gold)


# ------------------------------------------------------------------------- scoring

def test_score_breakdowns_lenient(bench, tmp_path):
    report = score(bench, preds(tmp_path, MIXED))
    data = report.to_dict()
    assert set(data) == {"n", "missing", "overall", "by_task", "by_object_count", "by_pair",
                         "by_min_linking_size", "ose", "unparseable", "unknown", "mode", "split"}
    assert (data["n"], data["missing"], data["unparseable"], data["unknown"]) == (8, 1, 1, 0)
    assert data["overall"] == 37.5
    assert data["by_task"] == {"img2data": 50.0, "data2img": 0.0, "img2img": 0.0,
                               "data2data": 100.0}
    assert data["by_object_count"] == {"3": 50.0, "4": 25.0}
    assert data["by_pair"] == {"color->name": 100.0, "shape->3d_coords": 100.0,
                               "name->color": 0.0, "rotation->shape": 0.0, "color->size": 0.0,
                               "color->rotation": 0.0, "color->shape": 0.0,
                               "name->rotation": 100.0}
    assert list(data["by_pair"]) == sorted(data["by_pair"])
    assert data["by_min_linking_size"] == {"1": 20.0, "2": 100.0, "coords": 0.0}
    # wrong answers given: c3 (blue, in scene), c4 (unparseable), c5 (0.7, in scene), u1 (cone)
    assert data["ose"] == 50.0
    assert (data["mode"], data["split"]) == ("lenient", "all")
    assert report.missing_ids == ["c6"]
    assert report.outcomes["c4"] == "unparseable" and report.outcomes["c3"] == "wrong"
    json.dumps(data)


def test_score_mate_mode_is_strict(bench, tmp_path):
    data = score(bench, preds(tmp_path, MIXED), mode="mate").to_dict()
    assert data["overall"] == 12.5  # only c2: fences survive MATE's newline removal
    assert data["unparseable"] == 2  # c3 single quotes, c4 prose
    # wrong: c1 (case, out), c3, c4 (unparseable, out), c5 ("0.7" in scene), u1 (out),
    # u2 ("45.2531" is no object's rotation at precision 2, out)
    assert data["ose"] == round(100 * 5 / 6, 2)


def test_same_prediction_lenient_correct_mate_wrong(bench, tmp_path):
    for text in ('{"answer":"green"}', "{'answer': 'green'}", '{"answer": "Green"}'):
        path = preds(tmp_path, {"c3": text})
        assert score(bench, path, split="cross_modal").outcomes["c3"] == "correct"
        assert score(bench, path, mode="mate", split="cross_modal").outcomes["c3"] != "correct"


def test_precision_rounding_in_scores(bench, tmp_path):
    path = preds(tmp_path, {"c6": '{"answer": 45.2531}', "c5": '{"answer": "0.350"}',
                            "u2": '{"answer": 45.26}'})
    outcomes = score(bench, path).outcomes
    assert outcomes["c6"] == "correct" and outcomes["c5"] == "correct"
    assert outcomes["u2"] == "wrong"


def test_full_precision_benchmark(bench, tmp_path):
    rows = [dict(instance(r, precision="full")) for r in CROSS]
    rows[5]["answer"] = 45.2531
    write_jsonl(bench / "cross_modal.jsonl", rows)
    (bench / "unimodal.jsonl").unlink()
    path = preds(tmp_path, {"c6": '{"answer": 45.2531}', "c5": '{"answer": 0.35}'})
    report = score(bench, path)
    assert report.precision.full and report.outcomes["c6"] == "correct"
    path = preds(tmp_path, {"c6": '{"answer": 45.25}'})
    assert score(bench, path).outcomes["c6"] == "wrong"


def test_ose_hand_made(bench, tmp_path):
    # Scene s1 rotations are 45.2531, 310, 90, 12; sizes 0.7 and 0.35.
    path = preds(tmp_path, {"c6": '{"answer": 90}', "c5": '{"answer": 0.5}',
                            "c4": '{"answer": "cone"}', "u2": '{"answer": 12.0}'})
    report = score(bench, path)
    assert report.wrong_answers == 4 and report.out_of_scene == 2  # 0.5 and cone
    assert report.to_dict()["ose"] == 50.0
    oracle = preds(tmp_path, {"c1": '{"answer": "Object_0"}'}, name="one.jsonl")
    assert score(bench, oracle, split="cross_modal").to_dict()["ose"] == 0.0


def test_split_auto_and_explicit(bench, tmp_path):
    cross_only = preds(tmp_path, {"c1": '{"answer": "Object_0"}'})
    report = score(bench, cross_only)
    assert (report.split, report.n, len(report.missing_ids)) == ("cross_modal", 6, 5)
    assert score(bench, cross_only, split="all").n == 8
    uni_only = preds(tmp_path, {"u1": '{"answer": "cube"}'}, name="uni.jsonl")
    assert score(bench, uni_only).to_dict()["split"] == "unimodal"
    with pytest.raises(UsageError, match="no id .* belongs to split 'unimodal'"):
        score(bench, cross_only, split="unimodal")


def test_unknown_ids_counted_unless_all_unknown(bench, tmp_path):
    report = score(bench, preds(tmp_path, {"c1": '{"answer": "Object_0"}', "zzz": "x"}))
    assert report.unknown_ids == ["zzz"] and report.to_dict()["unknown"] == 1
    with pytest.raises(UsageError, match="none of the 2 ids"):
        score(bench, preds(tmp_path, {"a": "x", "b": "y"}))


def test_format_table_lists_missing_ids(bench, tmp_path):
    table = format_table(score(bench, preds(tmp_path, MIXED)))
    assert "overall" in table and "OSE" in table
    assert "missing ids (1):" in table and "c6" in table
    for key in ("img2data", "color->name", "coords"):
        assert key in table


def test_plot_writes_png(bench, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "acc.png"
    plot_accuracy(score(bench, preds(tmp_path, MIXED)), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib(bench, tmp_path, monkeypatch):
    report = score(bench, preds(tmp_path, MIXED))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(UsageError) as err:
        plot_accuracy(report, tmp_path / "acc.png")
    assert str(err.value) == PLOT_NEEDS_MATPLOTLIB


# ------------------------------------------------------------------------- bad inputs

def test_bad_prediction_lines(bench, tmp_path):
    bad = tmp_path / "bad.jsonl"
    cases = [
        ('{"id": "c1", "prediction": "x"}\nnot json\n', r"bad.jsonl:2: not a JSON line"),
        ('{"id": "c1"}\n', r":1: no 'prediction' key"),
        ('{"prediction": "x"}\n', r":1: no 'id' key"),
        ('[1, 2]\n', r":1: expected a JSON object"),
        ('{"id": "c1", "prediction": {"answer": "x"}}\n', r":1: \"prediction\" must be"),
        ('{"id": "c1", "prediction": "a"}\n\n{"id": "c1", "prediction": "b"}\n',
         r":3: duplicate id 'c1' \(first on line 1\)"),
        ("\n", "has no predictions"),
    ]
    for text, message in cases:
        bad.write_text(text)
        with pytest.raises(UsageError, match=message):
            score(bench, bad)


def test_missing_files(bench, tmp_path):
    good = preds(tmp_path, {"c1": "x"})
    with pytest.raises(UsageError, match="nope.jsonl"):
        score(bench, tmp_path / "nope.jsonl")
    with pytest.raises(UsageError, match="no_bench"):
        score(tmp_path / "no_bench", good)
    (bench / "unimodal.jsonl").unlink()
    with pytest.raises(UsageError, match="unimodal.jsonl"):
        score(bench, good, split="unimodal")
    (bench / "scenes" / "s0.json").unlink()
    with pytest.raises(UsageError, match="s0.json"):
        score(bench, preds(tmp_path, {"c1": '{"answer": "Object_1"}'}))


def test_bad_benchmark_and_options(bench, tmp_path):
    good = preds(tmp_path, {"c1": "x"})
    with pytest.raises(UsageError, match="unknown mode"):
        score(bench, good, mode="fuzzy")
    with pytest.raises(UsageError, match="has no train split; use one of auto, cross_modal, "
                                         "unimodal or all"):
        score(bench, good, split="train")
    rows = [instance(r) for r in CROSS]
    del rows[1]["answer"]
    write_jsonl(bench / "cross_modal.jsonl", rows)
    with pytest.raises(UsageError, match=r"cross_modal.jsonl:2: .* no 'answer' key"):
        score(bench, good)
