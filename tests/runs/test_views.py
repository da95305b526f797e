"""Render runs with extra passes and several views (--passes, --views, --view-ring): the layout,
view 0 byte for byte as a plain run, per-view annotations against each view's mask and camera,
depth and normals against the mask, resume and overwrite, and bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke, tree
from PIL import Image

from clevrlite import maps

SMALL = ["--width", "160", "--height", "120", "--min-pixels", "20", "--n-objects", "3..6",
         "--formats", "json,text", "--seed", "4"]
EXTRA = ["--views", "3", "--passes", "depth,normals"]
STEM = "CLEVRLITE_new_{:06d}".format


def render(out: Path, *args: str) -> None:
    ran = invoke("render", *SMALL, "--quiet", "--out", str(out), *args)
    assert ran.returncode == 0, ran.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A plain run, the same with three views and both passes, and a ring of four."""
    root = tmp_path_factory.mktemp("views")
    out = {"plain": root / "plain", "views": root / "views", "ring": root / "ring"}
    render(out["plain"], "--count", "3", "--workers", "1")
    render(out["views"], "--count", "3", "--workers", "2", *EXTRA)
    render(out["ring"], "--count", "2", "--workers", "1", "--views", "4", "--view-ring",
           "--passes", "depth")
    return out


def read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())))


def test_view_0_is_byte_identical_to_a_single_view_run(runs):
    plain, views = tree(runs["plain"]), tree(runs["views"])
    different = {"manifest.json", "scenes.json"} | {f"scenes/{STEM(i)}.json" for i in range(3)}
    for name, data in plain.items():
        if name not in different:
            assert views[name] == data, name
    for i in range(3):
        old = json.loads(plain[f"scenes/{STEM(i)}.json"])
        new = json.loads(views[f"scenes/{STEM(i)}.json"])
        added = [k for k in new if k not in old]
        assert added == ["depth_filename", "depth_scale", "normals_filename", "views"]
        assert {k: v for k, v in new.items() if k in old} == old
        assert list(old) == [k for k in new if k in old]  # same keys in the same order


def test_views_1_writes_exactly_what_a_plain_run_writes(runs, tmp_path):
    render(tmp_path / "one", "--count", "3", "--workers", "1", "--views", "1")
    assert tree(tmp_path / "one") == tree(runs["plain"])


def test_the_layout_lists_every_view_and_pass(runs):
    out = runs["views"]
    names = {f"{STEM(i)}{suffix}.png" for i in range(3) for suffix in ("", "_v1", "_v2")}
    for folder in ("images", "masks", "depth", "normals"):
        assert {p.name for p in (out / folder).iterdir()} == names, folder
    assert not (runs["ring"] / "normals").exists()
    assert not (runs["plain"] / "depth").exists()
    for i in range(3):
        scene = json.loads((out / "scenes" / f"{STEM(i)}.json").read_text())
        for k, view in enumerate(scene["views"]):
            name = f"{STEM(i)}{'_v%d' % k if k else ''}.png"
            assert view["view"] == k
            assert (view["image_filename"], view["mask_filename"], view["depth_filename"],
                    view["normals_filename"]) == (name,) * 4
    manifest = json.loads((out / "manifest.json").read_text())["options"]
    assert (manifest["passes"], manifest["views"]) == (["depth", "normals"], 3)
    assert "view_ring" not in manifest and "passes" not in json.loads(
        (runs["plain"] / "manifest.json").read_text())["options"]


@pytest.mark.parametrize("run", ["views", "ring"])
def test_each_view_has_its_own_mask_boxes_and_projected_centres(runs, run):
    out = runs[run]
    for scene_file in sorted((out / "scenes").glob("*.json")):
        scene = json.loads(scene_file.read_text())
        names = [(o["name"], o["mask_id"]) for o in scene["objects"]]
        assert scene["views"][0]["camera"] == scene["camera"]
        locations = set()
        for view in scene["views"]:
            assert [(o["name"], o["mask_id"]) for o in view["objects"]] == names
            mask = read_png(out / "masks" / view["mask_filename"])
            image = read_png(out / "images" / view["image_filename"])
            assert image.shape == (120, 160, 3) and mask.shape == (120, 160)
            assert set(np.unique(mask)) <= set(range(len(names) + 1))
            K = np.array(view["camera"]["intrinsics"])
            w2c = np.array(view["camera"]["world_to_camera"])
            for obj, seen in zip(scene["objects"], view["objects"]):
                hit = mask == seen["mask_id"]
                assert seen["visible_pixels"] == int(hit.sum())
                if hit.any():
                    ys, xs = np.nonzero(hit)
                    assert seen["bbox"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                else:
                    assert seen["bbox"] is None
                cam = w2c @ np.array([*obj["3d_coords"], 1.0])
                p = K @ cam[:3]
                assert seen["pixel_coords"] == pytest.approx([p[0] / p[2], p[1] / p[2], cam[2]])
            locations.add(tuple(view["camera"]["location"]))
        assert len(locations) == len(scene["views"])  # every view its own camera
        # visibility (--min-pixels) is checked on view 0 only
        assert all(o["visible_pixels"] >= 20 for o in scene["objects"])


def test_ring_views_are_evenly_spaced_in_the_files(runs):
    scene = json.loads((runs["ring"] / "scenes" / f"{STEM(1)}.json").read_text())
    loc = np.array([v["camera"]["location"] for v in scene["views"]])
    azimuth = np.degrees(np.arctan2(loc[:, 1], loc[:, 0]))
    assert np.allclose(np.diff(azimuth) % 360.0, 90.0)
    assert np.allclose(loc[:, 2], loc[0, 2])
    assert np.allclose(np.hypot(loc[:, 0], loc[:, 1]), np.hypot(loc[0, 0], loc[0, 1]))


def test_depth_and_normals_agree_with_the_mask_in_every_view(runs):
    out = runs["views"]
    for scene_file in sorted((out / "scenes").glob("*.json")):
        scene = json.loads(scene_file.read_text())
        for view in scene["views"]:
            mask = read_png(out / "masks" / view["mask_filename"])
            depth_png = Image.open(out / "depth" / view["depth_filename"])
            assert depth_png.mode == "I;16"
            depth = maps.decode_depth(np.asarray(depth_png), view["depth_scale"])
            normals = maps.decode_normals(read_png(out / "normals" / view["normals_filename"]))
            assert (depth[mask > 0] > 0).all()
            assert np.array_equal(depth > 0, normals.any(axis=2))
            # the floor fills every pixel the objects leave (CLEVR's camera looks down)
            assert (depth > 0).all()
            # each object's surface lies within a few metres of its centre's depth
            for seen in view["objects"]:
                if seen["visible_pixels"]:
                    d = depth[mask == seen["mask_id"]]
                    assert abs(np.median(d) - seen["pixel_coords"][2]) < 1.0
            lengths = np.linalg.norm(normals.reshape(-1, 3), axis=1)
            assert np.abs(lengths - 1.0).max() < 0.01


def test_resume_needs_every_view_and_pass(runs, tmp_path):
    out = tmp_path / "r"
    render(out, "--count", "3", "--workers", "1", *EXTRA)
    (out / "images" / f"{STEM(0)}_v2.png").unlink()  # a view's image lost
    depth = out / "depth" / f"{STEM(1)}_v1.png"  # a depth map cut short
    depth.write_bytes(depth.read_bytes()[:100])
    (out / "normals" / f"{STEM(2)}.png").unlink()
    (out / "scenes.json").unlink()
    ran = invoke("render", *SMALL, "--out", str(out), "--count", "3", "--workers", "1",
                 "--resume", *EXTRA)
    assert ran.returncode == 0, ran.stderr
    assert "rendered 3 scenes" in ran.stdout
    assert tree(out) == tree(runs["views"])


def test_resume_with_other_passes_or_views_is_refused_naming_them(runs, tmp_path):
    out = tmp_path / "r"
    render(out, "--count", "1", "--workers", "1")
    before = tree(out)
    line = assert_one_line_error(invoke("render", *SMALL, "--count", "1", "--resume",
                                        "--out", str(out), "--passes", "depth"), 2)
    assert '--passes ["depth"] (the run has [])' in line
    line = assert_one_line_error(invoke("render", *SMALL, "--count", "1", "--resume",
                                        "--out", str(out), "--views", "2", "--view-ring"), 2)
    assert "--views 2 (the run has 1)" in line and "--view-ring true (the run has false)" in line
    assert tree(out) == before
    views = runs["views"]
    line = assert_one_line_error(invoke("render", *SMALL, "--count", "3", "--resume",
                                        "--out", str(views), "--passes", "normals",
                                        "--views", "3"), 2)
    assert '--passes ["normals"] (the run has ["depth", "normals"])' in line
    assert "--views" not in line
    # the same passes in another order are the same run
    ran = invoke("render", *SMALL, "--quiet", "--count", "3", "--resume", "--out", str(views),
                 "--passes", "normals,depth", "--views", "3")
    assert ran.returncode == 0, ran.stderr


def test_overwrite_removes_every_view_and_pass_and_nothing_else(tmp_path):
    out = tmp_path / "r"
    render(out, "--count", "2", "--workers", "1", *EXTRA)
    (out / "depth" / "mine.png").write_bytes(b"keep")
    (out / "images" / "holiday_v1.png").write_bytes(b"keep")
    ran = invoke("render", *SMALL, "--quiet", "--count", "1", "--workers", "1", "--overwrite",
                 "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    left = sorted(tree(out))
    assert "depth/mine.png" in left and "images/holiday_v1.png" in left
    assert not (out / "normals").exists()
    assert [n for n in left if "_v" in n or n.startswith("normals/")] == ["images/holiday_v1.png"]
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"{STEM(0)}.png",
                                                                  "holiday_v1.png"]


@pytest.mark.parametrize("args, words", [
    (["--views", "0"], ["--views must be 1 to 1000, got 0"]),
    (["--passes", "foo"], ["--passes", "unknown pass 'foo'", "depth,normals"]),
    (["--passes", "depth,foo"], ["unknown pass 'foo'"]),
    (["--view-ring"], ["--view-ring needs --views 2 or more"]),
])
def test_bad_views_and_passes_are_one_line_usage_errors(tmp_path, args, words):
    out = tmp_path / "r"
    assert_one_line_error(invoke("render", *SMALL, "--out", str(out), *args), 2, *words)
    assert not out.exists()
