"""`clevrlite human` without a browser: the stratified sample, what the page holds (never the
gold answers), and the file it downloads as `score` and `report` read it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from helpers import assert_one_line_error, invoke, score_json, tree

from clevrlite.bench.registry import get_suite
from clevrlite.report.human import build_human
from clevrlite.bench.reader import fingerprint
from clevrlite.report.sample import largest_remainder, stratified_sample


def sample_of(site: Path) -> dict:
    text = (site / "sample.js").read_text()
    return json.loads(text[text.index("=") + 1:text.rindex(";")])


def test_largest_remainder_shares_every_seat_in_proportion():
    shares = largest_remainder({"a": 5, "b": 3, "c": 2}, 5, seed=0, level="")
    assert sum(shares.values()) == 5
    assert shares["c"] == 1 and {shares["a"], shares["b"]} <= {1, 2, 3}
    assert shares["a"] in (2, 3) and shares["b"] in (1, 2)
    tied = [largest_remainder({"a": 1, "b": 1}, 1, seed=s, level="") for s in range(20)]
    assert {tuple(sorted(t.items())) for t in tied} == {(("a", 1), ("b", 0)),
                                                        (("a", 0), ("b", 1))}


@pytest.mark.parametrize("size", [6, 18, 35])
def test_the_sample_keeps_tasks_counts_and_cells_in_proportion(mate, size):
    _, _, instances = mate
    suite = get_suite("mate")
    chosen = stratified_sample(instances, size, 3, suite.cell)
    assert len(chosen) == size == len({i["id"] for i in chosen})
    for key in (lambda i: i["task"], lambda i: (i["task"], i["object_count"])):
        everyone, drawn = Counter(map(key, instances)), Counter(map(key, chosen))
        for stratum, n in everyone.items():
            assert abs(drawn[stratum] - size * n / len(instances)) < 1 + 1e-9, stratum
    cells = Counter(map(suite.cell, instances))
    drawn = Counter(map(suite.cell, chosen))
    assert all(drawn[c] <= -(-size * n // len(instances)) + 1 for c, n in cells.items())


def test_the_seed_fixes_the_sample_and_its_order(mate):
    _, _, instances = mate
    cell = get_suite("mate").cell
    ids = [i["id"] for i in stratified_sample(instances, 20, 7, cell)]
    assert ids == [i["id"] for i in stratified_sample(list(reversed(instances)), 20, 7, cell)]
    assert ids != [i["id"] for i in stratified_sample(instances, 20, 8, cell)]
    assert ids != sorted(ids)  # shuffled, not in benchmark order


def test_the_page_holds_the_sample_but_no_answer(grounding, tmp_path):
    bench, _, instances = grounding
    ran = invoke("human", str(bench), "--sample", "30", "--seed", "1", "--out",
                 str(tmp_path / "page"))
    assert ran.returncode == 0, ran.stderr
    data = sample_of(tmp_path / "page")
    assert ran.stdout.startswith(f"wrote sample {data['sample']} of 30 instances")
    assert data["benchmark"]["fingerprint"] == fingerprint(bench)
    by_id = {i["id"]: i for i in instances}
    for item in data["items"]:
        inst = by_id[item["id"]]
        assert "answer" not in item and "target_object" not in item
        assert item["null"] == (inst["task"] == "data2img")
        kind = ("box" if inst["target_attribute"] == "bbox" else
                "choice" if inst["choices"] else "text")
        assert item["kind"] == kind
        assert item["question"] == inst["question"]
        assert "example" not in item["instructions"].lower()
        if item["image"]:
            assert (tmp_path / "page" / item["image"]).is_file()
    assert {i["kind"] for i in data["items"]} == {"box", "choice", "text"}
    page = (tmp_path / "page" / "index.html").read_text()
    assert '<script src="sample.js"></script>' in page and "http" not in page
    again = tmp_path / "again"
    build_human(bench, 30, again, seed=1)
    assert tree(tmp_path / "page") == tree(again)


def test_chain_items_offer_values_and_a_part_per_attribute(chain, tmp_path):
    """Chain instances give choices as {attribute: values}: a one-part question offers that
    attribute's values, a two-part one a part per attribute (values where the image shows it,
    a field where the text gives it), and the gold answer is always among what is offered."""
    bench, _, instances = chain
    build_human(bench, 40, tmp_path / "page")
    by_id = {i["id"]: i for i in instances}
    kinds = Counter()
    for item in sample_of(tmp_path / "page")["items"]:
        inst = by_id[item["id"]]
        kinds[item["kind"]] += 1
        if item["kind"] == "choice":
            assert item["choices"] == inst["choices"][inst["target_attribute"]]
            assert inst["answer"] in item["choices"]
        elif item["kind"] == "parts":
            names = inst["target_attribute"].split("+")
            assert [p["name"] for p in item["parts"]] == names
            for part in item["parts"]:
                offered = part["choices"]
                assert (offered is None) == (part["name"] not in inst["choices"])
                assert offered is None or inst["answer"][part["name"]] in offered
        else:
            assert item["kind"] == "text" and not inst["choices"]
    assert set(kinds) == {"choice", "parts", "text"}


def test_gmner_items_give_each_mention(gmner, tmp_path):
    bench, _, instances = gmner
    build_human(bench, 4, tmp_path / "page")
    data = sample_of(tmp_path / "page")
    by_id = {i["id"]: i for i in instances}
    types = {e["type"] for i in instances for e in i["entities"]}
    assert data["types"] == sorted(types)
    for item in data["items"]:
        inst = by_id[item["id"]]
        assert item["kind"] == "entities" and item["null"]
        assert [m["text"] for m in item["mentions"]] == [e["entity"] for e in inst["entities"]]
        assert item["passage"] == inst["text"]


def human_file(path: Path, instances: list[dict], bench: Path, wrong: set[str]) -> Path:
    """A file as the page downloads it: the gold answer, or a wrong one for ``wrong``."""
    lines = []
    for inst in instances:
        answer = "nothing like it" if inst["id"] in wrong else inst["answer"]
        lines.append(json.dumps({"id": inst["id"],
                                 "prediction": '{"answer": ' + json.dumps(answer) + "}",
                                 "seconds": 4.5, "benchmark": fingerprint(bench),
                                 "sample": "abc"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_human_file_scores_and_shows_as_a_partial_model(mate, tmp_path):
    bench, _, instances = mate
    picked = stratified_sample(instances, 10, 0, get_suite("mate").cell)
    wrong = {picked[0]["id"], picked[3]["id"]}
    path = human_file(tmp_path / "human.jsonl", picked, bench, wrong)
    scores = score_json(bench, path)
    splits = {i["id"][:2] for i in picked}
    n = sum(i["id"][:2] in splits for i in instances)
    assert scores["n"] == n and scores["missing"] == n - 10
    assert scores["overall"] == round(100 * 8 / n, 2)
    ran = invoke("report", str(bench), "-p", str(path), "--name", "human.jsonl=people",
                 "--out", str(tmp_path / "site"))
    assert ran.returncode == 0, ran.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert f"partial: 10 of {n} answered" in page
    assert "median 4.5 s per answer" in page


def test_bad_samples_are_one_line(mate, tmp_path):
    bench = mate[0]
    for size in ("0", "100000"):
        ran = invoke("human", str(bench), "--sample", size, "--out", str(tmp_path / "p"))
        assert_one_line_error(ran, 2, f"--sample {size}")
        assert not (tmp_path / "p").exists()
    ran = invoke("human", str(tmp_path / "nothing"), "--out", str(tmp_path / "p"))
    assert_one_line_error(ran, 2, "nothing")


def test_the_fingerprint_follows_the_instance_files(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps({"suite": "mate", "seed": 4}))
    (tmp_path / "cross_modal.jsonl").write_text('{"id": "cm_0"}\n')
    before = fingerprint(tmp_path)
    assert before == fingerprint(tmp_path) and re.fullmatch(r"mate-seed4-[0-9a-f]{12}", before)
    (tmp_path / "cross_modal.jsonl").write_text('{"id": "cm_1"}\n')
    assert fingerprint(tmp_path) != before
