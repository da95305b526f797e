"""GMNER and COCO as the field's own code reads them: box lists, the IoU rule, duplicate
predictions, key leniency, the true mean IoU, and COCO category ids fixed by the vocabulary."""

import json

import pytest
from helpers import invoke

from clevrlite.export import export
from clevrlite.scoring.evaluate import score


def predict(tmp_path, instances, entity, name="p.jsonl"):
    """A predictions file whose answer lists ``entity(e)`` items for every gold entity."""
    path = tmp_path / name
    rows = [{"id": i["id"], "prediction": json.dumps(
        {"answer": [item for e in i["entities"] for item in entity(e)]})} for i in instances]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def gold_item(e, box=None):
    return {"entity": e["entity"], "type": e["type"], "box": e["box"] if box is None else box}


def test_a_list_of_boxes_is_judged_by_its_best(gmner, grounding, tmp_path):
    """E2E-GMNER writes regions as lists of boxes; one read as malformed scored 31.5."""
    out, _, instances = gmner
    listed = predict(tmp_path, instances, lambda e: [
        {**gold_item(e), "box": None if e["box"] is None else [[0, 0, 5, 5], e["box"]]}])
    assert score(out, listed).to_dict()["gmner"]["f1"] == 100.0
    g_out, _, g_instances = grounding
    boxes = [i for i in g_instances if i["target_attribute"] == "bbox" and i["answer"]]
    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps({"id": i["id"], "prediction": json.dumps(
        {"answer": [i["answer"]]})}) + "\n" for i in boxes))
    assert score(g_out, path).to_dict()["acc_at_0.5"] == 100.0


def doubled(e):
    """A box with the gold's height and twice its width: IoU exactly 0.5."""
    if e["box"] is None:
        return None
    x1, y1, x2, y2 = e["box"]
    return [x1, y1, x2 + (x2 - x1), y2]


def test_an_iou_of_exactly_half_passes_ge_and_fails_gt(gmner, tmp_path):
    out, _, instances = gmner
    path = predict(tmp_path, instances, lambda e: [gold_item(e, doubled(e))])
    ge, gt = score(out, path).to_dict(), score(out, path, iou_rule="gt").to_dict()
    assert ge["gmner"]["f1"] == 100.0 and ge["iou_rule"] == "ge"
    grounded = sum(e["box"] is not None for i in instances for e in i["entities"])
    total = sum(len(i["entities"]) for i in instances)
    assert gt["gmner"]["recall"] == pytest.approx(100.0 * (total - grounded) / total, abs=0.01)
    result = invoke("score", "--benchmark", str(out), "--predictions", str(path),
                    "--iou-rule", "gt")
    assert result.returncode == 0 and "IoU > 0.5" in result.stdout


def test_duplicate_predictions_count_unless_one_per_span_is_asked(gmner, tmp_path):
    out, _, instances = gmner
    path = predict(tmp_path, instances, lambda e: [gold_item(e), gold_item(e)])
    counted = score(out, path).to_dict()["gmner"]
    assert (counted["precision"], counted["recall"]) == (50.0, 100.0)
    assert counted["f1"] == pytest.approx(66.67, abs=0.01)
    first = score(out, path, duplicates="first").to_dict()
    assert first["gmner"]["f1"] == 100.0 and first["duplicates"] == "first"


def test_keys_in_another_case_are_read_as_documented(gmner, tmp_path):
    """The field's scorers read lowercase keys only (0 for this file); clevrlite reads keys in
    any case, as the README says."""
    out, _, instances = gmner
    path = predict(tmp_path, instances, lambda e: [
        {"Entity": e["entity"], "Type": e["type"].upper(), "Box": e["box"]}])
    assert score(out, path).to_dict()["gmner"]["f1"] == 100.0


def test_mean_iou_is_the_plain_mean_over_the_entities_the_image_shows(gmner, tmp_path):
    """Boxes shifted by 30% of their width: IoU 0.7 / 1.3, which the old mean_grounding (the
    mean of min(1, IoU / 0.5)) read as 1.0."""
    out, _, instances = gmner

    def shifted(e):
        if e["box"] is None:
            return None
        x1, y1, x2, y2 = e["box"]
        d = 0.3 * (x2 - x1)
        return [x1 + d, y1, x2 + d, y2]

    path = predict(tmp_path, instances, lambda e: [gold_item(e, shifted(e))])
    report = score(out, path).to_dict()
    assert report["mean_iou"] == pytest.approx(0.7 / 1.3, abs=1e-3)
    unmatched = predict(tmp_path, instances, lambda e: [], name="none.jsonl")
    assert score(out, unmatched).to_dict()["mean_iou"] == 0.0


def render(tmp_path, name, seed, *extra):
    out = tmp_path / name
    result = invoke("render", "--count", "2", "--seed", str(seed), "--width", "96", "--height",
                    "64", "--min-pixels", "10", "--n-objects", "3", "--formats", "none",
                    "--workers", "1", "--quiet", "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return out


def test_coco_category_ids_are_the_vocabularys_in_every_export(tmp_path):
    """Numbered by first appearance, cube was 1 in one export and sphere in another: a
    detector trained on one scored AP 0 on the other."""
    pytest.importorskip("pycocotools")
    firsts, ids = set(), []
    for seed in range(6):
        run = render(tmp_path, f"r{seed}", seed)
        firsts.add(json.loads((run / "scenes" / "CLEVRLITE_new_000000.json").read_text())[
            "objects"][0]["shape"])
        export(run, "coco", tmp_path / f"c{seed}")
        coco = json.loads((tmp_path / f"c{seed}" / "annotations" / "instances.json").read_text())
        ids.append({c["name"]: c["id"] for c in coco["categories"]})
        names = {c["id"]: c["name"] for c in coco["categories"]}
        files = {im["id"]: im["file_name"] for im in coco["images"]}
        for a in coco["annotations"]:
            scene = json.loads((run / "scenes" / files[a["image_id"]].replace(
                ".png", ".json")).read_text())
            shape = next(o["shape"] for o in scene["objects"] if o["name"] == a["name"])
            assert names[a["category_id"]] == shape
    assert len(firsts) > 1  # the exports start with different shapes
    assert all(i == {"cube": 1, "sphere": 2, "cylinder": 3} for i in ids)
    props = tmp_path / "cone.json"
    props.write_text('{"shapes": {"cone": {"primitive": "cone"}}}')
    run = render(tmp_path, "cone", 1, "--properties", str(props))
    export(run, "coco", tmp_path / "ccone")
    coco = json.loads((tmp_path / "ccone" / "annotations" / "instances.json").read_text())
    assert {c["name"]: c["id"] for c in coco["categories"]} == {
        "cube": 1, "sphere": 2, "cylinder": 3, "cone": 4}
