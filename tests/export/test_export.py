"""clevrlite export: each format loaded with its tool's own library where that installs in CI
(datasets, pyarrow, pandas, pycocotools), and the hooks and rewards of the heavy tools
(lmms-eval, verl, TRL) called with exactly the arguments those tools pass."""

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from clevrlite.errors import UsageError
from clevrlite.export import export
from clevrlite.export.source import MARKER
from clevrlite.scoring.rewards import trl_reward, verl_compute_score

datasets = pytest.importorskip("datasets")


SUITES = ["mate", "grounding", "gmner", "chain"]


def source(request, suite):
    return request.getfixturevalue(suite)


def oracle_text(inst):
    return "So the answer is " + json.dumps({"answer": inst["answer"]})


def wrong_text(inst):
    return json.dumps({"answer": "surely not this"})


@pytest.mark.parametrize("suite", SUITES)
def test_hf_loads_with_datasets_and_keeps_every_field(suite, request, tmp_path):
    src, _, instances = source(request, suite)
    dest = tmp_path / "hf"
    counts = export(src, "hf", dest)
    assert sum(counts.values()) == len(instances)
    card = (dest / "README.md").read_text()
    assert card.startswith("---\nconfigs:")
    by_id = {i["id"]: i for i in instances}
    cache = str(tmp_path / "cache")  # datasets caches by folder name; keep tests apart
    loaded = datasets.load_dataset(str(dest), cache_dir=cache)  # the card's configs
    assert set(loaded) == set(counts)
    for split in loaded:
        direct = datasets.load_dataset("parquet", data_files=str(dest / "data" / f"{split}-*"),
                                       split="train", cache_dir=cache)
        assert direct.num_rows == counts[split]
        for row in loaded[split]:
            inst = by_id[row["id"]]
            assert json.loads(row["answer"]) == inst["answer"]
            assert row["prompt"] == inst["prompt"] and row["task"] == inst["task"]
            assert row["object_count"] == inst["object_count"]
            paths = inst["images"]
            assert [np.asarray(im).tobytes() for im in row["images"]] == \
                [np.asarray(Image.open(src / p)).tobytes() for p in paths]
            if suite == "gmner":
                assert row["entities"] == inst["entities"] and row["text"] == inst["text"]
            else:
                assert json.loads(row["pointer_value"]) == inst["pointer_value"]
                assert row.get("linking_sets") == inst.get("linking_sets")
                choices = row["choices"]  # chain's {attribute: values} is JSON text, or empty
                assert (json.loads(choices) if suite == "chain" and choices is not None
                        else choices) == inst["choices"]
                if suite == "chain":
                    assert row["hops"] == inst["hops"]  # an integer column
            truth = json.loads(row["ground_truth"])
            assert truth["suite"] == suite and truth["answer"] == inst["answer"]


class FunctionLoader(yaml.SafeLoader):
    """lmms-eval's YAML: ``!function utils.name`` names a function in the task's utils.py."""


FunctionLoader.add_constructor("!function", lambda loader, node: ("function",
                                                                  loader.construct_scalar(node)))


@pytest.mark.parametrize("suite", SUITES)
def test_lmms_eval_task_folder_and_hooks(suite, request, tmp_path, monkeypatch):
    src, _, instances = source(request, suite)
    counts = export(src, "lmms-eval", tmp_path / "tasks")
    # the folder moves (it held an absolute path and broke), and runs as the README says:
    # cd DEST && lmms-eval --include_path clevrlite_<suite> ...
    shutil.move(tmp_path / "tasks", tmp_path / "moved")
    monkeypatch.chdir(tmp_path / "moved")
    assert str(tmp_path) not in "".join(p.read_text() for p in (tmp_path / "moved").rglob("*.yaml"))
    folder = Path(f"clevrlite_{suite}")
    spec = importlib.util.spec_from_file_location("utils", folder / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    by_id = {i["id"]: i for i in instances}
    for split in counts:
        config = yaml.load((folder / f"clevrlite_{suite}_{split}.yaml").read_text(),
                           Loader=FunctionLoader)
        assert config["task"] == f"clevrlite_{suite}_{split}"
        assert config["output_type"] == "generate_until" and config["test_split"] == split
        hooks = [config[k] for k in ("doc_to_visual", "doc_to_text", "doc_to_target",
                                     "process_results")]
        hooks += [m["aggregation"] for m in config["metric_list"]]
        for kind, name in hooks:
            assert kind == "function" and callable(getattr(utils, name.split(".", 1)[1]))
        # what lmms-eval's Task.download does with the YAML's dataset fields
        docs = datasets.load_dataset(path=config["dataset_path"], cache_dir=str(tmp_path / "c"),
                                     **config["dataset_kwargs"])[config["test_split"]]
        kwargs = config["lmms_eval_specific_kwargs"]["default"]
        results = {m["metric"]: [] for m in config["metric_list"]}
        for doc in docs:
            inst = by_id[doc["id"]]
            visuals = utils.doc_to_visual(doc)
            assert len(visuals) == len(inst["images"]) and all(v.mode == "RGB" for v in visuals)
            assert utils.doc_to_text(doc, kwargs) == inst["prompt"]
            for text, want in ((oracle_text(inst), 1.0), (wrong_text(inst), 0.0)):
                out = utils.process_results(doc, [text])
                assert out["clevrlite_accuracy"] == want
            for metric, value in utils.process_results(doc, [oracle_text(inst)]).items():
                results[metric].append(value)
        for m in config["metric_list"]:
            _, name = m["aggregation"]
            assert getattr(utils, name.split(".", 1)[1])(results[m["metric"]]) == 100.0


@pytest.mark.parametrize("suite", SUITES)
def test_vlmevalkit_tsv_reads_as_vlmevalkit_reads_it(suite, request, tmp_path):
    pandas = pytest.importorskip("pandas")
    src, _, instances = source(request, suite)
    export(src, "vlmevalkit", tmp_path / "v")
    data = pandas.read_csv(tmp_path / "v" / f"CLEVRLITE_{suite.upper()}.tsv", sep="\t")
    assert list(data.columns[:4]) == ["index", "image", "question", "answer"]
    assert data["index"].is_unique and str(data["index"].dtype).startswith("int")
    by_id = {i["id"]: i for i in instances}
    for _, line in data.iterrows():
        inst = by_id[line["id"]]
        assert line["question"] == inst["prompt"]
        if pandas.isna(line["answer"]):  # pandas reads JSON null as missing
            assert inst["answer"] is None
        else:
            assert json.loads(line["answer"]) == inst["answer"]
        image = line["image"]  # VLMEvalKit's toliststr: a list's repr, or one base64 string
        encoded = eval(image) if image.startswith("[") else [image]  # noqa: S307 (its own rule)
        if not inst["images"]:  # text only: MATE's all-black placeholder
            (placeholder,) = encoded
            from io import BytesIO
            assert not np.asarray(Image.open(BytesIO(base64.b64decode(placeholder)))).any()
            continue
        assert [base64.b64decode(e) for e in encoded] == \
            [(src / p).read_bytes() for p in inst["images"]]


@pytest.mark.parametrize("suite", SUITES)
def test_verl_columns_and_reward_as_verl_calls_it(suite, request, tmp_path, monkeypatch):
    from clevrlite.export import parquet

    src, _, instances = source(request, suite)
    monkeypatch.setattr(parquet, "ROWS_PER_SHARD", 2)  # splits larger than a shard
    counts = export(src, "verl", tmp_path / "verl")
    by_id = {i["id"]: i for i in instances}
    # one file per split, so that data.train_files=DEST/<split>.parquet is the whole split
    files = sorted(str(p) for p in (tmp_path / "verl").glob("*.parquet"))
    assert files == sorted(str(tmp_path / "verl" / f"{name}.parquet") for name in counts)
    data = datasets.load_dataset("parquet", data_files=files, split="train",
                                 cache_dir=str(tmp_path / "c"))
    assert set(data.column_names) == {"data_source", "prompt", "images", "ability",
                                      "reward_model", "extra_info"}
    for row in data:
        inst = by_id[row["extra_info"]["id"]]
        message = row["prompt"][0]
        assert message["role"] == "user"
        # verl's RLHFDataset splits the content on <image>, one image per placeholder
        assert message["content"].count("<image>") == len(row["images"]) == len(inst["images"])
        assert row["data_source"] == f"clevrlite/{suite}"
        assert row["reward_model"]["style"] == "rule"
        extra = {**row["extra_info"], "num_turns": 1, "rollout_reward_scores": {}}
        for text, want in ((oracle_text(inst), True), (wrong_text(inst), False)):
            score = verl_compute_score(data_source=row["data_source"], solution_str=text,
                                       ground_truth=row["reward_model"]["ground_truth"],
                                       extra_info=extra)
            assert (score["score"] == 1.0) == want and score["correct"] == float(want)


@pytest.mark.parametrize("suite", SUITES)
def test_trl_dataset_and_reward_as_grpo_calls_it(suite, request, tmp_path):
    src, _, instances = source(request, suite)
    export(src, "trl", tmp_path / "trl")
    files = sorted(str(p) for p in (tmp_path / "trl").glob("*.parquet"))
    data = datasets.load_dataset("parquet", data_files=files, split="train",
                                 cache_dir=str(tmp_path / "c"))
    by_id = {i["id"]: i for i in instances}
    batch = data.select(range(min(6, data.num_rows)))
    content = batch[0]["prompt"][0]["content"]
    assert [p["type"] for p in content] == ["image"] * len(batch[0]["images"]) + ["text"]
    # GRPOTrainer passes every column but "prompt" as a list, plus these keyword arguments
    columns = {k: [row[k] for row in batch] for k in batch.column_names if k != "prompt"}
    rows = list(batch)
    completions = [[{"role": "assistant", "content": oracle_text(by_id[r["id"]])}] for r in rows]
    rewards = trl_reward(prompts=[r["prompt"] for r in rows], completions=completions,
                         completion_ids=[[1, 2]] * len(rows), trainer_state=None,
                         log_extra=lambda *a: None, log_metric=lambda *a: None, **columns)
    assert rewards == [1.0] * len(rows)
    wrong = [[{"role": "assistant", "content": wrong_text(by_id[r["id"]])}] for r in rows]
    assert all(r < 1.0 for r in trl_reward(prompts=None, completions=wrong, **columns))


def test_coco_masks_decode_to_ours_pixel_for_pixel(tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco")
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "clevrlite.cli", "render", "--count", "3",
                           "--workers", "1", "--formats", "none", "--out", str(run), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    counts = export(run, "coco", tmp_path / "coco")
    coco = coco_api.COCO(str(tmp_path / "coco" / "annotations" / "instances.json"))
    scenes = {json.loads(p.read_text())["image_filename"]: json.loads(p.read_text())
              for p in (run / "scenes").glob("*.json")}
    assert len(coco.getImgIds()) == counts["images"] == 3
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    checked = 0
    for image in coco.loadImgs(coco.getImgIds()):
        scene = scenes[image["file_name"]]
        mask = np.asarray(Image.open(run / "masks" / scene["mask_filename"]))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert len(anns) == len(scene["objects"])
        assert (tmp_path / "coco" / "images" / image["file_name"]).is_file()
        for ann in anns:
            obj = next(o for o in scene["objects"] if o["name"] == ann["name"])
            decoded = coco.annToMask(ann)
            assert np.array_equal(decoded, (mask == obj["mask_id"]).astype(np.uint8))
            x1, y1, x2, y2 = obj["bbox"]
            assert ann["bbox"] == [x1, y1, x2 - x1, y2 - y1]
            assert ann["area"] == obj["visible_pixels"] == int(decoded.sum())
            assert names[ann["category_id"]] == obj["shape"]
            assert (ann["color"], ann["material"], ann["size"]) == \
                (obj["color"], obj["material"], obj["size"])
            checked += 1
    assert checked == counts["annotations"] > 0


def test_bad_input(mate, tmp_path):
    src, _, _ = mate
    cli = [sys.executable, "-m", "clevrlite.cli"]
    proc = subprocess.run([*cli, "export", str(src), "--to", "parquet", "--out",
                           str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode == 2 and "'hf'" in proc.stderr and "'coco'" in proc.stderr
    dest = tmp_path / "full"
    dest.mkdir()
    (dest / "old.txt").write_text("keep me")
    proc = subprocess.run([*cli, "export", str(src), "--to", "hf", "--out", str(dest)],
                          capture_output=True, text=True)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--overwrite" in lines[0]
    assert (dest / "old.txt").read_text() == "keep me"
    proc = subprocess.run([*cli, "export", str(src), "--to", "hf", "--out", str(dest),
                           "--overwrite"], capture_output=True, text=True)
    lines = proc.stderr.strip().splitlines()  # --overwrite never clears someone else's files
    assert proc.returncode == 2 and len(lines) == 1 and "not a folder clevrlite wrote" in lines[0]
    assert (dest / "old.txt").read_text() == "keep me"
    mine = tmp_path / "mine"
    assert export(src, "trl", mine) and (mine / MARKER).is_file()
    proc = subprocess.run([*cli, "export", str(src), "--to", "hf", "--out", str(mine),
                           "--overwrite"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr  # an earlier export is replaced
    assert (mine / "README.md").is_file() and not list(mine.glob("*.parquet"))
    with pytest.raises(UsageError, match="no scenes/ and masks/"):
        export(tmp_path, "coco", tmp_path.parent / "elsewhere")


def test_a_missing_extra_names_the_pip_command(mate, tmp_path, monkeypatch):
    src, _, _ = mate
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(UsageError, match=r"pip install -e '\.\[hf\]'"):
        export(src, "hf", tmp_path / "h")
    assert not (tmp_path / "h").exists() or not any((tmp_path / "h").iterdir())
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    with pytest.raises(UsageError, match=r"pip install -e '\.\[coco\]'"):
        export(src, "coco", tmp_path / "c")
    assert os.environ.get("NOTHING", "") == ""


def test_twitter_gmner_layout_reads_back_to_the_benchmark(gmner, tmp_path):
    """CoNLL blocks (IMGID line, token<TAB>BIO tag, blank line, every line ending in a
    newline) and one Pascal VOC file per image with a grounded entity, read back with an
    independent parser into the benchmark's entities."""
    import xml.etree.ElementTree as ET

    src, stats, instances = gmner
    counts = export(src, "twitter-gmner", tmp_path / "tw")
    assert set(counts) == {"train", "dev", "test"} and sum(counts.values()) == len(instances)
    types = json.loads((tmp_path / "tw" / "types.json").read_text())
    assert types == {"PER": "cube", "LOC": "sphere", "ORG": "cylinder"}
    text = (tmp_path / "tw" / "txt" / "all.txt").read_text()
    assert text.endswith("\n\n") and "\r" not in text
    ids = {}
    for name in ("train", "dev", "test"):  # disjoint, and together every instance
        part = (tmp_path / "tw" / "txt" / f"{name}.txt").read_text()
        ids[name] = [line[6:] for line in part.splitlines() if line.startswith("IMGID:")]
        assert len(ids[name]) == counts[name] and (not part or part.endswith("\n\n"))
    assert sorted(sum(ids.values(), [])) == sorted(i["id"] for i in instances)
    assert counts["train"] > counts["dev"] and counts["train"] > counts["test"]
    blocks = [b.splitlines() for b in text.strip("\n").split("\n\n")]
    assert len(blocks) == len(instances)
    for block, inst in zip(blocks, instances):
        assert block[0] == f"IMGID:{inst['id']}"
        rows = [line.split("\t") for line in block[1:]]
        assert all(len(r) == 2 for r in rows)
        assert " ".join(t for t, _ in rows).replace(" ,", ",").replace(" .", ".") == inst["text"]
        spans = [(t, tag[2:]) for t, tag in rows if tag.startswith("B-")]
        assert [(name, types[kind]) for name, kind in spans] == [
            (e["entity"], e["type"]) for e in inst["entities"]]
        xml = tmp_path / "tw" / "xml" / f"{inst['id']}.xml"
        grounded = {e["entity"]: e["box"] for e in inst["entities"] if e["box"] is not None}
        assert xml.is_file() == bool(grounded)
        if grounded:
            root = ET.parse(xml).getroot()
            assert root.findtext("size/width") == "480" and root.findtext("size/height") == "320"
            found = {o.findtext("name"): [int(o.findtext(f"bndbox/{k}")) for k in
                                          ("xmin", "ymin", "xmax", "ymax")]
                     for o in root.findall("object")}
            assert found == grounded
        assert (tmp_path / "tw" / "images" / f"{inst['id']}.jpg").is_file()


def test_twitter_gmner_needs_a_gmner_benchmark_of_at_most_four_shapes(mate, tmp_path):
    src, _, _ = mate
    with pytest.raises(UsageError, match="needs a gmner benchmark"):
        export(src, "twitter-gmner", tmp_path / "tw")
    from clevrlite.export.twitter_gmner import type_names

    with pytest.raises(UsageError, match="knows 4 entity types"):
        type_names(["cube", "sphere", "cylinder", "cone", "torus"])
