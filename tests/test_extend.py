"""Extending the vocabulary without editing clevrlite: the README's worked example and meshes."""

import json
from collections import Counter

import numpy as np
import pytest
import trimesh
from PIL import Image

from clevrlite import serialize
from clevrlite.bench.build import BenchmarkOptions, build_benchmark
from clevrlite.runs.dataset import RenderOptions, render_dataset
from clevrlite.placement import PlacementOptions

README_EXAMPLE = {
    "shapes": {"cone": {"primitive": "cone"}},
    "colors": {"orange": [255, 140, 0]},
    "attributes": {"weight": {"side": "text", "range": [1, 10], "decimals": 1}},
}


@pytest.fixture(scope="module")
def props(tmp_path_factory):
    folder = tmp_path_factory.mktemp("props")
    trimesh.creation.icosphere(subdivisions=1, radius=2.0).apply_scale([1, 1, 2]).export(
        folder / "egg.obj")
    extended = {**README_EXAMPLE, "replace": True,
                "shapes": {"cone": {"primitive": "cone"}, "egg": {"mesh": "egg.obj"}},
                "colors": {"orange": [255, 140, 0], "blue": [42, 75, 215]},
                "materials": {"rubber": {"metallic": 0, "roughness": 0.85}},
                "sizes": {"large": 0.7}}
    (folder / "readme.json").write_text(json.dumps(README_EXAMPLE))
    (folder / "only.json").write_text(json.dumps(extended))
    return folder


@pytest.mark.parametrize("counts", [(4, 6), (25, 25)])  # CLEVR's sampler, the crowd layout
def test_render_with_only_new_shapes_and_colours(props, tmp_path, counts):
    render_dataset(RenderOptions(out=tmp_path, count=3, workers=1, seed=2,
                                 properties=str(props / "only.json"),
                                 placement=PlacementOptions(n_objects=counts)))
    shapes = Counter()
    for path in sorted((tmp_path / "scenes").glob("*.json")):
        scene = json.loads(path.read_text())
        mask = np.array(Image.open(tmp_path / "masks" / scene["mask_filename"]))
        for obj in scene["objects"]:
            shapes[obj["shape"]] += 1
            assert obj["color"] in ("orange", "blue")
            assert 1.0 <= obj["weight"] <= 10.0 and round(obj["weight"], 1) == obj["weight"]
            assert obj["visible_pixels"] == int((mask == obj["mask_id"]).sum()) >= 200
            # the egg mesh (height 2x its width) rests on the floor: centre at its half height
            if obj["shape"] == "egg":
                assert obj["3d_coords"][2] == pytest.approx(2 * obj["scale"], rel=0.05)
            else:
                assert obj["3d_coords"][2] == pytest.approx(obj["scale"])
        txt = (tmp_path / "text" / f"{path.stem}.txt").read_text()
        assert "weight" in txt and ("orange" in txt or "blue" in txt)
        assert serialize.loads(txt, "text")["objects"][0]["weight"] == scene["objects"][0]["weight"]
    assert set(shapes) == {"cone", "egg"}


def test_benchmark_uses_a_text_side_user_attribute(props, tmp_path):
    build_benchmark(BenchmarkOptions(out=tmp_path, size=40, unimodal_size=0, n_objects=(4, 4),
                                     shots=1, properties=str(props / "readme.json")))
    lines = [json.loads(l) for l in (tmp_path / "cross_modal.jsonl").read_text().splitlines()]
    pairs = Counter((l["pointer_attribute"], l["target_attribute"]) for l in lines)
    assert len(pairs) == 20  # (color, shape) x (name, 3d_coords, rotation, size, weight), x2
    for line in lines:
        scene = json.loads((tmp_path / "scenes" / f"{line['scene_id']}.json").read_text())
        target = next(o for o in scene["objects"] if o["name"] == line["target_object"])
        if line["target_attribute"] == "weight":
            assert line["answer"] == target["weight"]
        if line["pointer_attribute"] == "weight":
            weights = [o["weight"] for o in scene["objects"]]
            assert weights.count(line["pointer_value"]) == 1
            assert "weight" in line["scene_text"]
