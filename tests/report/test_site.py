"""`clevrlite report` without a browser: every table figure against `score --json`, the
browser's index against the scorer's outcomes, curves, bad input, partial files, and bytes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import (assert_one_line_error, invoke, read_jsonl, score_json, tree,
                     write_baseline)

from clevrlite.report.curves import linking_attribute_cells
from clevrlite.report.folder import MARKER
from clevrlite.report.site import build_report
from clevrlite.scoring.evaluate import score

KINDS = ("oracle", "random", "text-only")


class Cells(HTMLParser):
    """Every <td data-key> of a page: (model, key, value as JSON, text shown)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[list] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-key" in attrs:
            self.cells.append([attrs["data-model"], attrs["data-key"],
                               json.loads(attrs["data-value"]), ""])
            self._open = True

    def handle_data(self, data):
        if self._open:
            self.cells[-1][3] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._open = False


def cells_of(site: Path) -> list[list]:
    parser = Cells()
    parser.feed((site / "index.html").read_text())
    return parser.cells


def index_of(site: Path) -> dict:
    text = (site / "data" / "index.js").read_text()
    return json.loads(text[text.index("=") + 1:text.rindex(";")])


def chunk_of(site: Path, number: int) -> list[dict]:
    text = (site / "details" / f"chunk_{number:04d}.js").read_text()
    return json.loads(text[text.rindex("]=") + 2:text.rindex(";")])


def lookup(scores: dict, key: str):
    """The figure at a "/"-joined path of score --json (None where it has none)."""
    for part in key.split("/"):
        if part not in scores:
            return None
        scores = scores[part]
    return scores


@pytest.fixture(scope="module")
def files(mate, grounding, gmner, chain, tmp_path_factory):
    """Baseline predictions for each suite: {suite: (bench, [files])}."""
    out = tmp_path_factory.mktemp("predictions")
    made = {}
    for name, (bench, _, _) in (("mate", mate), ("grounding", grounding), ("gmner", gmner),
                                ("chain", chain)):
        made[name] = (bench, [write_baseline(bench, kind, out / f"{name}-{kind}.jsonl")
                              for kind in KINDS])
    return made


@pytest.mark.parametrize("suite", ["mate", "grounding", "gmner", "chain"])
def test_every_table_figure_is_score_json(files, suite, tmp_path):
    bench, paths = files[suite]
    ran = invoke("report", str(bench), "--predictions", *map(str, paths), "--out",
                 str(tmp_path / "site"))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("wrote a report of 3 models")
    cells = cells_of(tmp_path / "site")
    scores = {p.stem: score_json(bench, p) for p in paths}
    split_scores = {}
    checked = set()
    for model, key, value, text in cells:
        if key.startswith("split:"):
            split = key.split(":", 1)[1]
            if (model, split) not in split_scores:
                split_scores[model, split] = score_json(
                    bench, next(p for p in paths if p.stem == model), "--split", split)
            assert value == split_scores[model, split]["overall"], (model, key)
        else:
            assert value == lookup(scores[model], key), (model, key)
        assert text == ("—" if value is None else json.dumps(value))
        checked.add(key.split("/")[0])
    wanted = {"gmner": {"gmner", "mner", "eeg", "mean_iou", "textual_bias", "visual_bias",
                        "by_object_count", "by_condition", "instance_accuracy"},
              "grounding": {"by_task", "acc_at_0.5", "mean_iou", "textual_bias", "null_f1",
                            "by_condition", "ose", "by_min_linking_size", "overall"},
              "mate": {"by_task", "ose", "overall", "by_pair", "by_object_count",
                       "by_min_linking_size"},
              "chain": {"by_hops", "by_pattern", "by_object_count", "by_pair", "by_attribute",
                        "overall", "n"}}[suite]
    assert wanted <= checked


def test_index_rows_are_the_scorers_outcomes(files, tmp_path):
    bench, paths = files["grounding"]
    summary = build_report(bench, paths, tmp_path / "site")
    index = index_of(tmp_path / "site")
    assert index["columns"] == ["id", "task", "cell", "pair", "objects", "condition", "linking",
                                "outcomes"]
    instances = [i for name in ("cross_modal", "unimodal")
                 for i in read_jsonl(bench / f"{name}.jsonl")]
    assert [row[0] for row in index["rows"]] == [i["id"] for i in instances]
    codes = {"correct": "c", "wrong": "w", "unparseable": "u", "missing": "m"}
    for m, model in enumerate(summary.models):
        reference = score(bench, model.path)
        for row in index["rows"]:
            assert row[7][m] == codes[reference.outcomes[row[0]]]
    for row, inst in zip(index["rows"], instances):
        values = index["values"]
        assert values["task"][row[1]] == inst["task"]
        assert values["pair"][row[3]] == f"{inst['pointer_attribute']}->{inst['target_attribute']}"
        assert row[4] == inst["object_count"]
        assert values["condition"][row[5]] == inst["condition"]
    # the linking key is the scorer's by_min_linking_size key: the counts agree
    oracle = score_json(bench, paths[0])
    counted = {}
    for row in index["rows"]:
        counted.setdefault(index["values"]["linking"][row[6]], []).append(row[7][0] == "c")
    assert {k: round(100.0 * sum(v) / len(v), 2) for k, v in counted.items()} == \
        oracle["by_min_linking_size"]


def test_details_chunks_hold_outputs_marks_and_boxes(files, grounding, tmp_path):
    bench, paths = files["grounding"]
    build_report(bench, paths, tmp_path / "site")
    site = tmp_path / "site"
    instances = {i["id"]: i for i in grounding[2]}
    chunks = sorted((site / "details").iterdir())
    assert len(chunks) == -(-len(instances) // 100)
    details = [d for n in range(len(chunks)) for d in chunk_of(site, n)]
    by_id = {d["id"]: d for d in details}
    raw = {p.stem: {r["id"]: r["prediction"] for r in read_jsonl(p)} for p in paths}
    for iid, d in by_id.items():
        inst = instances[iid]
        assert [o["raw"] for o in d["outputs"]] == [raw[p.stem][iid] for p in paths]
        assert d["prompt"]["text"] == inst["prompt"]
        for start, end, kind in d["prompt"]["marks"] + d["question"]["marks"]:
            text = d["prompt"]["text"] if [start, end, kind] in d["prompt"]["marks"] \
                else d["question"]["text"]
            assert kind == "pointer"
            assert text[start:end] in {json.dumps(inst["pointer_value"]),
                                       str(inst["pointer_value"])}
        assert (site / d["image"]).is_file() if d["image"] else True
        if inst["target_attribute"] == "bbox" and inst["answer"] is not None:
            assert d["gold_boxes"][0][:4] == inst["answer"]
            assert d["gold_boxes"][0][4] == "gold"
            oracle = d["outputs"][0]
            assert oracle["boxes"] == [[*map(float, inst["answer"]), "grounding-oracle"]]
    pointed = [d for d in details if d["question"]["marks"]]
    assert len(pointed) > len(details) * 0.9  # the pointer is marked in nearly every question


def test_gmner_mentions_are_marked_in_passage_and_prompt(files, gmner, tmp_path):
    bench, paths = files["gmner"]
    build_report(bench, paths, tmp_path / "site")
    details = chunk_of(tmp_path / "site", 0)
    for d, inst in zip(details, gmner[2]):
        passage = d["passage"]
        assert [passage["text"][s:e] for s, e, _ in passage["marks"]] == \
            [e["entity"] for e in inst["entities"]]
        assert [d["prompt"]["text"][s:e] for s, e, _ in d["prompt"]["marks"]] == \
            [e["entity"] for e in inst["entities"]]
        labels = [b[4] for b in d["gold_boxes"]]
        assert labels == [e["entity"] for e in inst["entities"] if e["box"] is not None]
        oracle = d["outputs"][0]
        assert sorted(b[4] for b in oracle["boxes"]) == sorted(labels)


def test_linking_attribute_curve_counts_by_hand():
    instances = [{"id": "a", "linking_sets": [["color"], ["material", "shape"]]},
                 {"id": "b", "linking_sets": [["shape"]]},
                 {"id": "c", "linking_sets": []},
                 {"id": "d", "linking_sets": [], "condition": "absent"},
                 {"id": "e", "linking_sets": [["color"]]}]
    outcomes = {"a": "correct", "b": "wrong", "c": "correct", "d": "correct", "e": "missing"}
    assert linking_attribute_cells(instances, outcomes) == {
        "color": [1, 2], "shape": [1, 2], "material": [1, 1], "coords": [1, 1]}


def test_curves_are_svg_files_and_inline(files, tmp_path):
    bench, paths = files["mate"]
    build_report(bench, paths, tmp_path / "site")
    curves = sorted((tmp_path / "site" / "curves").iterdir())
    names = {p.name for p in curves}
    assert {"accuracy_by_object_count_img2data.svg", "accuracy_by_min_linking_size.svg",
            "accuracy_by_linking_attribute.svg", "out_of_scene_errors.svg"} <= names
    page = (tmp_path / "site" / "index.html").read_text()
    for path in curves:
        ET.fromstring(path.read_text())  # well-formed
        assert path.read_text() in page
    # a curve's points are the scorer's figures
    oracle, random_ = (score_json(bench, p) for p in paths[:2])
    svg = (tmp_path / "site" / "curves" / "out_of_scene_errors.svg").read_text()
    assert f"{paths[1].stem}, out of scene: {random_['ose']:.2f}" in svg
    svg = (tmp_path / "site" / "curves" / "accuracy_by_object_count.svg").read_text()
    for count, value in oracle["by_object_count"].items():
        assert f"{paths[0].stem}, {count}: {value:.2f}" in svg


def test_chain_curves_are_the_scorers_hops_patterns_and_counts(files, tmp_path):
    bench, paths = files["chain"]
    build_report(bench, paths, tmp_path / "site")
    names = {p.name for p in (tmp_path / "site" / "curves").iterdir()}
    assert names == {"accuracy_by_object_count.svg", "accuracy_by_hops.svg",
                     "accuracy_by_pattern.svg"}
    random_ = score_json(bench, paths[1])
    for field, filename in (("by_hops", "accuracy_by_hops.svg"),
                            ("by_pattern", "accuracy_by_pattern.svg")):
        svg = (tmp_path / "site" / "curves" / filename).read_text()
        for key, value in random_[field].items():
            assert escape(f"{paths[1].stem}, {key}: {value:.2f}") in svg


def test_the_same_inputs_give_the_same_bytes(files, tmp_path):
    bench, paths = files["gmner"]
    build_report(bench, paths, tmp_path / "a")
    build_report(bench, paths, tmp_path / "b", overwrite=True)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert (tmp_path / "a" / MARKER).is_file()


def test_images_are_linked_not_inlined_and_the_site_moves(files, tmp_path):
    bench, paths = files["mate"]
    build_report(bench, paths, tmp_path / "site")
    image = next((tmp_path / "site" / "images").iterdir())
    assert image.stat().st_ino == (bench / "images" / image.name).stat().st_ino
    page = (tmp_path / "site" / "index.html").read_text()
    assert "data:image" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "") and "https://" not in page
    moved = tmp_path / "elsewhere"
    (tmp_path / "site").rename(moved)
    refs = re.findall(r'src="([^"]+)"', page)
    assert refs and all((moved / ref).is_file() for ref in refs)


def test_names_and_partial_files(files, tmp_path):
    bench, paths = files["mate"]
    lines = (paths[1]).read_text().splitlines()
    partial = tmp_path / "half.jsonl"
    partial.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    ran = invoke("report", str(bench), "-p", str(paths[0]), str(partial), "--name",
                 f"{paths[0]}=Oracle model", "--name", "half.jsonl=Half=random", "--out",
                 str(tmp_path / "site"))
    assert ran.returncode == 0, ran.stderr
    assert "Half=random is partial" in ran.stdout
    reference = score_json(bench, partial)
    page = (tmp_path / "site" / "index.html").read_text()
    answered = reference["n"] - reference["missing"]
    assert f"partial: {answered} of {reference['n']} answered" in page
    assert ">Oracle model<" in page
    for model, key, value, _ in cells_of(tmp_path / "site"):
        if model == "Half=random" and not key.startswith("split:"):
            assert value == lookup(reference, key)
    index = index_of(tmp_path / "site")
    assert [m["name"] for m in index["models"]] == ["Oracle model", "Half=random"]
    assert sum(row[7][1] == "m" for row in index["rows"]) == reference["missing"]


def test_a_file_of_one_split_leaves_the_other_blank(files, mate, tmp_path):
    bench, paths = files["mate"]
    cross = tmp_path / "cross.jsonl"
    cross.write_text("".join(line + "\n" for line in paths[0].read_text().splitlines()
                             if line.startswith('{"id": "cm_')))
    build_report(bench, [paths[1], cross], tmp_path / "site")
    index = index_of(tmp_path / "site")
    assert {row[7][1] for row in index["rows"] if row[0].startswith("um_")} == {"-"}
    cells = {(m, k): v for m, k, v, _ in cells_of(tmp_path / "site")}
    assert cells["cross", "by_task/img2img"] is None
    assert cells["cross", "split:unimodal"] is None
    assert cells["cross", "split:cross_modal"] == 100.0


@pytest.mark.parametrize("case", ["empty", "unknown", "all_unknown", "other_suite", "clash",
                                  "same_file", "bad_name", "human_elsewhere"])
def test_bad_input_is_one_line_naming_the_file(files, case, tmp_path):
    bench, paths = files["mate"]
    bad = tmp_path / "bad.jsonl"
    given = [str(paths[0]), str(bad)]
    extra: list[str] = []
    words = ["bad.jsonl"]
    first = paths[0].read_text().splitlines()
    if case == "empty":
        bad.write_text("")
    elif case == "unknown":
        bad.write_text("\n".join(first[:3] + ['{"id": "cm_999999", "prediction": "x"}']) + "\n")
        words.append("cm_999999")
    elif case == "all_unknown":
        bad.write_text('{"id": "cm_999999", "prediction": "x"}\n')
    elif case == "other_suite":
        bad.write_text(files["gmner"][1][0].read_text())
        words.append("gmner")
    elif case == "clash":
        (tmp_path / "x").mkdir()
        bad = tmp_path / "x" / paths[0].name
        bad.write_text(paths[0].read_text())
        given = [str(paths[0]), str(bad)]
        words = [str(paths[0]), str(bad), paths[0].stem]
    elif case == "same_file":
        given = [str(paths[0]), str(paths[0])]
        words = [str(paths[0])]
    elif case == "bad_name":
        given = [str(paths[0])]
        extra = ["--name", "nothing.jsonl=X"]
        words = ["nothing.jsonl=X"]
    elif case == "human_elsewhere":
        bad.write_text("".join(json.dumps({**json.loads(line), "benchmark": "0123456789abcdef"})
                               + "\n" for line in first))
        words.append("another benchmark")
    ran = invoke("report", str(bench), "--predictions", *given, *extra, "--out",
                 str(tmp_path / "site"))
    assert_one_line_error(ran, 2, *words)
    assert not (tmp_path / "site").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]


def test_out_is_never_cleared_unless_it_is_a_site(files, tmp_path):
    bench, paths = files["mate"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    ran = invoke("report", str(bench), "-p", str(paths[0]), "--out", str(out))
    assert_one_line_error(ran, 2, "not empty", "--overwrite")
    ran = invoke("report", str(bench), "-p", str(paths[0]), "--out", str(out), "--overwrite")
    assert_one_line_error(ran, 2, "not a folder clevrlite wrote")
    assert (out / "keep.txt").read_text() == "mine"
    ran = invoke("report", str(bench), "-p", str(paths[0]), "--out", str(bench))
    assert ran.returncode == 2
    ran = invoke("report", str(bench), "--out", str(tmp_path / "s"))
    assert_one_line_error(ran, 2, "--predictions")


def test_a_failure_half_way_leaves_nothing(files, tmp_path, monkeypatch):
    from clevrlite.report import site as site_module

    bench, paths = files["mate"]
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(site_module, "link_images", broken)
    with pytest.raises(OSError):
        build_report(bench, paths, tmp_path / "deep" / "site")
    assert not (tmp_path / "deep").exists()
