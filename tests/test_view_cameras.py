"""Views of one scene without GL (render --views): cameras, their independence from the scene's
own randomness, and the scene JSON's ``views``."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from clevrlite.annotate import own_view, seen_objects
from clevrlite.placement import (CAMERA_JITTER, CAMERA_LOCATION, PlacementOptions, sample_scene,
                                 spread_for, view_cameras, zoom_for)
from clevrlite.scene import ObjectView, Scene, View, view_stem
from clevrlite.vocab import load_vocabulary

VOCAB = load_vocabulary()
OPTIONS = PlacementOptions()


@pytest.mark.parametrize("n_objects", [(3, 10), (20, 20)])
def test_jittered_views_are_clevrs_jitter_around_the_default_camera(n_objects):
    options = PlacementOptions(n_objects=n_objects)
    for index in range(6):
        scene = sample_scene(VOCAB, index, 2, options)
        cameras = view_cameras(scene, 5, options)
        assert cameras[0] is scene.camera
        n = len(scene.objects)
        default = np.asarray(CAMERA_LOCATION) * zoom_for(n, spread_for(n, options))
        locations = np.array([c.location for c in cameras])
        assert np.abs(locations - default).max() <= CAMERA_JITTER
        assert len({tuple(l) for l in locations}) == 5  # each view its own draw
        for cam in cameras:
            assert cam.look_at == scene.camera.look_at and cam.hfov_deg == scene.camera.hfov_deg
            assert (cam.width, cam.height) == (scene.width, scene.height)


def test_views_draw_from_their_own_stream():
    """Asking for views changes neither the scene nor view 0, and view k is the same camera
    whatever the number of views asked for."""
    scene = sample_scene(VOCAB, 3, 11, OPTIONS)
    before = copy.deepcopy(scene.to_dict())
    five = view_cameras(scene, 5, OPTIONS)
    assert scene.to_dict() == before
    assert view_cameras(scene, 3, OPTIONS) == five[:3]
    assert view_cameras(sample_scene(VOCAB, 4, 11, OPTIONS), 3, OPTIONS)[1] != five[1]
    assert view_cameras(scene, 1, OPTIONS) == [scene.camera]


@pytest.mark.parametrize("count", [2, 3, 8])
def test_ring_views_stand_evenly_around_the_scene(count):
    scene = sample_scene(VOCAB, 0, 5, OPTIONS)
    cameras = view_cameras(scene, count, OPTIONS, ring=True)
    loc = np.array([c.location for c in cameras])
    radius = np.hypot(loc[:, 0], loc[:, 1])
    assert np.allclose(radius, radius[0]) and np.allclose(loc[:, 2], loc[0, 2])
    assert np.allclose(np.linalg.norm(loc, axis=1), np.linalg.norm(scene.camera.location))
    azimuth = np.degrees(np.arctan2(loc[:, 1], loc[:, 0]))
    steps = np.diff(np.concatenate([azimuth, azimuth[:1] + 360.0])) % 360.0
    assert np.allclose(steps, 360.0 / count)
    assert cameras[0] is scene.camera


def test_pixel_coords_of_a_view_project_through_its_camera():
    scene = sample_scene(VOCAB, 1, 5, OPTIONS)
    cam = view_cameras(scene, 2, OPTIONS, ring=True)[1]
    mask = np.zeros((scene.height, scene.width), np.uint16)
    mask[10:20, 30:45] = 2
    seen = seen_objects(cam, scene.objects, mask)
    w2c, K = cam.world_to_camera(), cam.intrinsics()
    for obj, view in zip(scene.objects, seen):
        p = w2c @ [*obj.position, 1.0]
        q = K @ p[:3]
        assert view.pixel_coords == pytest.approx((q[0] / q[2], q[1] / q[2], p[2]))
    assert [v.visible_pixels for v in seen[:3]] == [0, 150, 0]
    assert seen[1].bbox == (30, 10, 45, 20) and seen[0].bbox is None


def scene_with_views() -> Scene:
    scene = sample_scene(VOCAB, 2, 5, OPTIONS)
    for i, obj in enumerate(scene.objects):
        obj.pixel_coords, obj.bbox, obj.visible_pixels = (1.0 + i, 2.0, 9.5), (i, 0, i + 3, 4), 12
    cameras = view_cameras(scene, 3, OPTIONS)
    views = [own_view(scene)] + [
        View(k, cam, [ObjectView((5.0, 6.0, 7.0), None, 0) for _ in scene.objects])
        for k, cam in enumerate(cameras[1:], 1)]
    for view in views:
        view.depth_scale, view.normals = 0.001, True
    scene.views = views
    return scene


def test_scene_json_lists_the_views_and_keeps_view_0_where_it_was():
    scene = scene_with_views()
    plain = copy.deepcopy(scene)
    plain.views = []
    data, old = scene.to_dict(), plain.to_dict()
    for key, value in old.items():  # every key of today's JSON, with today's value
        assert data[key] == value
    stem = scene.stem
    assert [k for k in data if k not in old] == ["depth_filename", "depth_scale",
                                                  "normals_filename", "views"]
    assert list(data)[:7] == ["split", "image_index", "image_filename", "mask_filename",
                              "depth_filename", "depth_scale", "normals_filename"]
    assert data["depth_filename"] == data["normals_filename"] == f"{stem}.png"
    views = data["views"]
    assert [v["view"] for v in views] == [0, 1, 2]
    assert [v["image_filename"] for v in views] == [f"{stem}.png", f"{stem}_v1.png",
                                                    f"{stem}_v2.png"]
    assert views[0]["camera"] == data["camera"]
    for v in views:
        assert [o["name"] for o in v["objects"]] == [o["name"] for o in data["objects"]]
        assert [o["mask_id"] for o in v["objects"]] == [o["mask_id"] for o in data["objects"]]
    for o, w in zip(data["objects"], views[0]["objects"]):
        assert {k: o[k] for k in ("pixel_coords", "bbox", "visible_pixels")} == {
            k: w[k] for k in ("pixel_coords", "bbox", "visible_pixels")}
    assert views[1]["objects"][0]["bbox"] is None


def test_scene_json_with_views_round_trips_through_from_dict():
    data = scene_with_views().to_dict()
    assert Scene.from_dict(data).to_dict() == data
    one = scene_with_views()
    one.views = one.views[:1]  # one view with passes: top-level keys, no list
    data = one.to_dict()
    assert "views" not in data and data["depth_scale"] == 0.001
    assert Scene.from_dict(data).to_dict() == data


def test_view_stems():
    assert view_stem("CLEVRLITE_new_000007", 0) == "CLEVRLITE_new_000007"
    assert view_stem("CLEVRLITE_new_000007", 12) == "CLEVRLITE_new_000007_v12"
