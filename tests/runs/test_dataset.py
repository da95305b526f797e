"""A small end-to-end render run: file layout, annotations against the masks, text files."""

import json

import numpy as np
import pytest
from PIL import Image

from clevrlite import serialize
from clevrlite.runs.dataset import RenderOptions, render_dataset
from clevrlite.placement import PlacementOptions


# CLEVR's default mix, and crowded scenes: 30 objects must fit the default image size with
# every object at the default 200 visible pixels, 60 a doubled one.
RUNS = {"default": ((3, 10), 480, 320), "thirty": ((30, 30), 480, 320),
        "sixty": ((60, 60), 960, 640)}


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request, tmp_path_factory):
    counts, width, height = RUNS[request.param]
    out = tmp_path_factory.mktemp("run")
    options = RenderOptions(out=out, count=3, seed=5, workers=1,
                            placement=PlacementOptions(n_objects=counts, width=width,
                                                       height=height))
    summary = render_dataset(options)
    return out, summary, options


def test_layout_and_combined_file(run):
    out, summary, _ = run
    assert summary.rendered == 3
    stems = [f"CLEVRLITE_new_{i:06d}" for i in range(3)]
    for stem in stems:
        for path in (out / "images" / f"{stem}.png", out / "masks" / f"{stem}.png",
                     out / "scenes" / f"{stem}.json", out / "text" / f"{stem}.json",
                     out / "text" / f"{stem}.yaml", out / "text" / f"{stem}.xml",
                     out / "text" / f"{stem}.txt"):
            assert path.is_file(), path
    combined = json.loads((out / "scenes.json").read_text())
    assert [s["image_index"] for s in combined["scenes"]] == [0, 1, 2]
    assert combined["scenes"][1] == json.loads((out / "scenes" / f"{stems[1]}.json").read_text())
    assert not list(out.rglob("*.part"))


def test_annotations_match_the_masks(run):
    out, _, options = run
    for scene_file in sorted((out / "scenes").glob("*.json")):
        scene = json.loads(scene_file.read_text())
        image = Image.open(out / "images" / scene["image_filename"])
        mask = np.array(Image.open(out / "masks" / scene["mask_filename"]))
        width, height = options.placement.width, options.placement.height
        assert image.mode == "RGB" and image.size == (width, height)
        assert mask.shape == (height, width)
        low, high = options.placement.n_objects
        assert low <= len(scene["objects"]) <= high
        assert set(np.unique(mask)) == set(range(len(scene["objects"]) + 1))
        for obj in scene["objects"]:
            hit = mask == obj["mask_id"]
            assert obj["visible_pixels"] == int(hit.sum()) >= 200
            ys, xs = np.nonzero(hit)
            assert obj["bbox"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            px, py, depth = obj["pixel_coords"]
            assert obj["bbox"][0] - 5 <= px <= obj["bbox"][2] + 5
            assert obj["bbox"][1] - 5 <= py <= obj["bbox"][3] + 5
            assert depth > 0
        # camera matrices reproduce the recorded pixel coordinates
        K = np.array(scene["camera"]["intrinsics"])
        w2c = np.array(scene["camera"]["world_to_camera"])
        for obj in scene["objects"]:
            cam = w2c @ np.array([*obj["3d_coords"], 1.0])
            p = K @ cam[:3]
            assert [p[0] / p[2], p[1] / p[2], cam[2]] == pytest.approx(obj["pixel_coords"])


def test_text_files_load_back_to_the_scene(run):
    out, _, _ = run
    for scene_file in sorted((out / "scenes").glob("*.json")):
        scene = json.loads(scene_file.read_text())
        expect = json.loads(serialize.dumps(scene, "json"))
        for fmt in serialize.FORMATS:
            path = out / "text" / f"{scene_file.stem}{serialize.EXTENSIONS[fmt]}"
            assert serialize.loads(path.read_text(), fmt) == expect
        assert all(o["color"] in (out / "text" / f"{scene_file.stem}.txt").read_text()
                   for o in scene["objects"])
