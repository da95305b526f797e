"""The report and the human page in a real browser (headless Chromium under Selenium): the
counts the report's filters show against `score --json`, boxes drawn over an image, and a
person's session on the human page (clicks and keys, a reload half-way, the download) scored
to the accuracy its answers imply."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers import (CHROMIUM_MISSING, chromium_paths, invoke, read_jsonl, score_json,
                     start_chromium, wait_ready, write_baseline)

from clevrlite.bench.registry import get_suite
from clevrlite.report.human import answer_kind
from clevrlite.bench.reader import fingerprint
from clevrlite.report.sample import stratified_sample
from clevrlite.scoring.evaluate import score

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    """One headless Chromium for the module; downloads land in ``chrome.downloads``."""
    if chromium_paths() is None:
        pytest.skip(CHROMIUM_MISSING)
    pytest.importorskip("selenium", reason="selenium is not installed: pip install -e '.[test]'")
    downloads = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(tmp_path_factory.mktemp("profile"), downloads)
    driver.downloads = downloads
    yield driver
    driver.quit()


def by(css: str):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def counts(chrome) -> tuple[int, dict[str, tuple[int, int]]]:
    """The instances shown, and (right, scored) per model, as the page counts them."""
    shown = int(chrome.find_element(*by("#shown")).get_attribute("data-count"))
    per = {e.get_attribute("data-model"): (int(e.get_attribute("data-right")),
                                           int(e.get_attribute("data-scored")))
           for e in chrome.find_elements(*by(".model-count"))}
    return shown, per


def choose(chrome, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(chrome.find_element(*by(f"#f-{name}"))).select_by_value(value)


def options(chrome, name: str) -> list[str]:
    return [o.get_attribute("value") for o in chrome.find_elements(*by(f"#f-{name} option"))
            if o.get_attribute("value")]


def percent(right: int, total: int) -> float:
    return round(100.0 * right / total, 2)


@pytest.fixture(scope="module")
def mate_site(mate, tmp_path_factory):
    """A report of three baselines and a partial file on the mate benchmark."""
    bench = mate[0]
    out = tmp_path_factory.mktemp("mate-site")
    paths = [write_baseline(bench, k, out / f"{k}.jsonl") for k in ("oracle", "random",
                                                                     "text-only")]
    lines = paths[1].read_text().splitlines()
    partial = out / "partial.jsonl"
    partial.write_text("\n".join(lines[::2]) + "\n")
    paths.append(partial)
    ran = invoke("report", str(bench), "-p", *map(str, paths), "--out", str(out / "site"))
    assert ran.returncode == 0, ran.stderr
    return bench, paths, out / "site"


def test_report_filters_count_what_score_counts(chrome, mate_site):
    bench, paths, site = mate_site
    scores = {p.stem: score_json(bench, p) for p in paths}
    chrome.get((site / "index.html").as_uri() + "#instances")
    assert wait_ready(chrome) < 2000
    shown, per = counts(chrome)
    assert shown == len(read_jsonl(bench / "cross_modal.jsonl")) + len(
        read_jsonl(bench / "unimodal.jsonl"))
    for name, (right, scored) in per.items():
        assert scored == scores[name]["n"]
        assert percent(right, scored) == scores[name]["overall"]
    for column, field in (("task", "by_task"), ("objects", "by_object_count"),
                          ("pair", "by_pair"), ("linking", "by_min_linking_size")):
        values = options(chrome, column)
        assert set(values) == set(scores["oracle"][field])
        for value in values:
            choose(chrome, column, value)
            _, per = counts(chrome)
            for name, (right, scored) in per.items():
                assert percent(right, scored) == scores[name][field][value], (column, value)
        choose(chrome, column, "")
    # one model's outcome, and the partial file's answered instances
    choose(chrome, "model", "1")
    choose(chrome, "outcome", "right")
    random_report = score(bench, paths[1])
    assert counts(chrome)[0] == sum(o == "correct" for o in random_report.outcomes.values())
    choose(chrome, "model", "3")
    choose(chrome, "outcome", "answered")
    partial = score_json(bench, paths[3])
    shown, per = counts(chrome)
    assert shown == partial["n"] - partial["missing"]
    assert per["partial"][1] == shown
    # disagreement between models, counted from the scorer's outcomes
    choose(chrome, "outcome", "any")
    choose(chrome, "agree", "disagree")
    outcomes = [score(bench, p).outcomes for p in paths]
    disagree = 0
    for iid in outcomes[0]:
        given = [o[iid] for o in outcomes if o.get(iid, "missing") != "missing"]
        rights = sum(g == "correct" for g in given)
        disagree += len(given) >= 2 and 0 < rights < len(given)
    assert counts(chrome)[0] == disagree


def test_report_state_survives_a_reload_and_opens_an_instance(chrome, mate_site):
    bench, paths, site = mate_site
    chrome.get((site / "index.html").as_uri() + "#instances")
    wait_ready(chrome)
    choose(chrome, "task", "data2img")
    expected = counts(chrome)
    chrome.refresh()
    wait_ready(chrome)
    assert counts(chrome) == expected
    first = chrome.find_element(*by("#rows tbody tr"))
    iid = first.get_attribute("data-id")
    first.click()
    detail = chrome.find_element(*by("#detail"))
    deadline = time.time() + 10
    while detail.get_attribute("data-id") != iid and time.time() < deadline:
        time.sleep(0.05)
    assert detail.get_attribute("data-id") == iid
    assert len(chrome.find_elements(*by("#detail .output"))) == len(paths)
    assert chrome.find_elements(*by("#detail mark.pointer"))
    image = chrome.find_element(*by("#detail .imgbox img"))
    assert chrome.execute_script("return arguments[0].naturalWidth", image) > 0


def test_report_draws_gold_and_predicted_boxes(chrome, grounding, tmp_path):
    bench, _, instances = grounding
    paths = [write_baseline(bench, k, tmp_path / f"{k}.jsonl") for k in ("oracle", "random")]
    assert invoke("report", str(bench), "-p", *map(str, paths), "--out",
                  str(tmp_path / "site")).returncode == 0
    boxed = next(i for i in instances if i["target_attribute"] == "bbox" and i["answer"])
    chrome.get((tmp_path / "site" / "index.html").as_uri() + f"#instances&id={boxed['id']}")
    wait_ready(chrome)
    deadline = time.time() + 10
    while not chrome.find_elements(*by("#detail svg rect")) and time.time() < deadline:
        time.sleep(0.05)
    rects = [[float(r.get_attribute(a)) for a in ("x", "y", "width", "height")]
             for r in chrome.find_elements(*by("#detail svg rect"))
             if r.get_attribute("stroke") != "#fff"]  # the gold box's white underlay
    x1, y1, x2, y2 = boxed["answer"]
    assert rects.count([x1, y1, x2 - x1, y2 - y1]) == 2  # the gold box and the oracle's
    labels = [t.text for t in chrome.find_elements(*by("#detail svg text"))]
    assert "gold" in labels and "oracle" in labels


# ------------------------------------------------------------------------------ human page

def drag(chrome, box: list[float], width: int) -> None:
    """Drag a box on the page's image, given in image pixels."""
    from selenium.webdriver.common.action_chains import ActionChains

    image = chrome.find_element(*by("#image img"))
    rect = image.rect
    scale = rect["width"] / width
    left, top = -rect["width"] / 2, -rect["height"] / 2
    (ActionChains(chrome)
     .move_to_element_with_offset(image, int(left + box[0] * scale + 1),
                                  int(top + box[1] * scale + 1))
     .click_and_hold()
     .move_by_offset(int((box[2] - box[0]) * scale - 1), int((box[3] - box[1]) * scale - 1))
     .release().perform())


def press(chrome, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(chrome).send_keys(keys).perform()


def far_box(gold: list[float] | None) -> list[float]:
    """A box that overlaps nothing near the gold box."""
    if gold is not None and (gold[0] + gold[2]) / 2 > 240:
        return [10, 280, 40, 310]
    return [440, 280, 470, 310]


def answer(chrome, item: dict, inst: dict, right: bool, keys: bool) -> None:
    """Answer one instance on the human page: rightly or wrongly, with keys or clicks."""
    from selenium.webdriver.common.keys import Keys

    gold, kind = inst["answer"], item["kind"]
    if kind == "choice":
        value = (None if right else item["choices"][0]) if gold is None else (
            gold if right else next(c for c in item["choices"] if c != gold))
        key = "n" if value is None else str(item["choices"].index(value) + 1)
        if keys:
            press(chrome, key)
        else:
            chrome.find_element(*by(f'#answer button[data-key="{key}"]')).click()
    elif kind == "text":
        text = (gold if isinstance(gold, str) else json.dumps(gold)) if right else "Object_99"
        field = chrome.find_element(*by("#typed"))
        field.send_keys(text)
        if keys:
            field.send_keys(Keys.ENTER)
        else:
            chrome.find_element(*by("#submit")).click()
    else:
        if gold is None and right:
            if keys:
                press(chrome, "n")
            else:
                chrome.find_element(*by('#answer button[data-key="n"]')).click()
            return
        drag(chrome, gold if right else far_box(gold), 480)
        if keys:
            press(chrome, Keys.ENTER)
        else:
            chrome.find_element(*by("#submit")).click()


def wait_for(chrome, css: str, attribute: str, value: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = chrome.find_elements(*by(css))
        if found and found[0].get_attribute(attribute) == value:
            return
        time.sleep(0.05)
    raise AssertionError(f"{css} never had {attribute}={value!r}")


def downloaded(folder: Path, name: str, timeout: float = 15) -> Path:
    path = folder / name
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.is_file() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded into {folder}")


def test_a_person_answers_ten_reloads_and_downloads_a_file_score_reads(chrome, grounding,
                                                                       tmp_path):
    bench, _, instances = grounding
    by_id = {i["id"]: i for i in instances}
    cell = get_suite("grounding").cell
    seed = next(s for s in range(100) if {"box", "choice", "text"} <= {
        answer_kind(i) for i in stratified_sample(instances, 12, s, cell)[:10]})
    assert invoke("human", str(bench), "--sample", "12", "--seed", str(seed), "--out",
                  str(tmp_path / "page")).returncode == 0
    chrome.get((tmp_path / "page" / "index.html").as_uri())
    assert wait_ready(chrome) < 2000
    sample = chrome.execute_script("return window.CLEVRLITE_SAMPLE")
    items = sample["items"]
    plan = [k % 3 != 1 for k in range(10)]  # right, wrong, right, right, wrong, ...
    for k in range(10):
        if k == 5:
            chrome.refresh()
            wait_ready(chrome)
            assert chrome.find_element(*by("#progress")).text == "5 of 12 answered"
        wait_for(chrome, "body", "data-item", items[k]["id"])
        answer(chrome, items[k], by_id[items[k]["id"]], plan[k], keys=k % 2 == 0)
    wait_for(chrome, "body", "data-item", items[10]["id"])
    assert chrome.find_element(*by("#progress")).text == "10 of 12 answered"
    chrome.find_element(*by("#download")).click()
    path = downloaded(chrome.downloads, f"human-{sample['sample']}.jsonl")
    lines = read_jsonl(path)
    assert [line["id"] for line in lines] == [i["id"] for i in items[:10]]
    for line in lines:
        assert set(line) == {"id", "prediction", "seconds", "benchmark", "sample"}
        assert isinstance(line["seconds"], float | int) and line["seconds"] >= 0
        assert line["benchmark"] == fingerprint(bench)
    scores = score_json(bench, path)
    assert scores["missing"] == scores["n"] - 10
    assert scores["overall"] == round(100.0 * sum(plan) / scores["n"], 2)
    outcomes = score(bench, path).outcomes
    assert [outcomes[i["id"]] == "correct" for i in items[:10]] == plan
    ran = invoke("report", str(bench), "-p", str(path), "--name", f"{path.name}=people",
                 "--out", str(tmp_path / "site"))
    assert ran.returncode == 0, ran.stderr
    assert "people is partial: 10 of" in ran.stdout


def open_human_page(chrome, bench, out, *args: str) -> dict:
    """Write a human page of ``bench`` into ``out``, open it and return its sample."""
    assert invoke("human", str(bench), *args, "--out", str(out)).returncode == 0
    chrome.get((out / "index.html").as_uri())
    wait_ready(chrome)
    return chrome.execute_script("return window.CLEVRLITE_SAMPLE")


def answer_parts(chrome, item: dict, inst: dict, right: bool, keys: bool) -> None:
    """Answer a two-part chain question: pick the image's part, type the text's, submit."""
    from selenium.webdriver.common.keys import Keys

    gold = inst["answer"]
    field = None
    for part in sorted(item["parts"], key=lambda p: p["choices"] is None):
        name, value = part["name"], gold[part["name"]]
        if part["choices"]:
            if not right:
                value = next(c for c in part["choices"] if c != value)
            key = str(part["choices"].index(value) + 1)
            if keys:
                press(chrome, key)
            else:
                chrome.find_element(*by(f'#answer [data-part="{name}"] '
                                        f'button[data-key="{key}"]')).click()
            wait_for(chrome, f'#answer [data-part="{name}"] button.chosen', "data-key", key)
        else:
            field = chrome.find_element(*by(f'#answer input[data-part="{name}"]'))
            field.send_keys(value if isinstance(value, str) else json.dumps(value))
    if keys and field is not None:
        field.send_keys(Keys.ENTER)
    else:
        chrome.find_element(*by("#submit")).click()


def test_a_person_answers_two_part_chain_questions(chrome, chain, tmp_path):
    """A chain answer with a part from each modality: buttons for the image's part, a field
    for the text's; the file scores each whole answer as the scorer judges it."""
    bench, _, instances = chain
    by_id = {i["id"]: i for i in instances}
    sample = open_human_page(chrome, bench, tmp_path / "page", "--sample", "24")
    items = sample["items"]
    assert {"parts", "choice", "text"} <= {it["kind"] for it in items}
    plan = {}
    for k, item in enumerate(items):
        wait_for(chrome, "body", "data-item", item["id"])
        inst = by_id[item["id"]]
        if item["kind"] == "parts":
            assert [p["name"] for p in item["parts"]] == inst["target_attribute"].split("+")
            parts_so_far = sum(1 for i in plan if by_id[i]["target_attribute"].count("+"))
            plan[item["id"]] = parts_so_far % 2 == 0  # right, wrong, right, ...
            answer_parts(chrome, item, inst, plan[item["id"]], keys=parts_so_far % 3 != 1)
        else:
            plan[item["id"]] = True
            answer(chrome, item, inst, True, keys=k % 2 == 0)
    chrome.find_element(*by("#download")).click()
    path = downloaded(chrome.downloads, f"human-{sample['sample']}.jsonl")
    outcomes = score(bench, path).outcomes
    assert {i: outcomes[i] == "correct" for i in plan} == plan
    two_part = [plan[it["id"]] for it in items if it["kind"] == "parts"]
    assert True in two_part and False in two_part


def test_a_person_grounds_every_gmner_mention(chrome, gmner, tmp_path):
    from selenium.webdriver.common.keys import Keys

    bench, _, instances = gmner
    by_id = {i["id"]: i for i in instances}
    sample = open_human_page(chrome, bench, tmp_path / "page", "--sample", "2")
    types = sample["types"]
    for k, right in enumerate((True, False)):
        item = sample["items"][k]
        wait_for(chrome, "body", "data-item", item["id"])
        for j, entity in enumerate(by_id[item["id"]]["entities"]):
            wait_for(chrome, ".entity.current", "data-mention", str(j))
            kind = types.index(entity["type"]) if right else (
                types.index(entity["type"]) + 1) % len(types)
            press(chrome, str(kind + 1))
            if entity["box"] is None:
                press(chrome, "n")
            else:
                drag(chrome, entity["box"], sample["width"])
        press(chrome, Keys.ENTER)
    chrome.find_element(*by("#download")).click()
    path = downloaded(chrome.downloads, f"human-{sample['sample']}.jsonl")
    outcomes = score(bench, path).outcomes
    assert [outcomes[i["id"]] for i in sample["items"]] == ["correct", "wrong"]
