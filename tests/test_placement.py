"""Placement invariants over many seeds, checked by independent computation."""

import itertools
import math
import time

import numpy as np
import pytest

from clevrlite.errors import PlacementError
from clevrlite.placement import CAMERA_LOCATION, LIGHTS, PlacementOptions, sample_scene
from clevrlite.meshes import unit_mesh
from clevrlite.vocab import load_vocabulary

VOCAB = load_vocabulary()
OPTIONS = PlacementOptions()


def floor_axes(camera):
    """The camera's left and front axes on the floor, computed here from scratch."""
    eye = np.asarray(camera.location)
    view = -eye / np.linalg.norm(eye)  # looks at the origin
    front = -np.array([view[0], view[1]]) / np.hypot(view[0], view[1])
    left = np.array([front[1], -front[0]])  # the viewing direction turned +90 deg about z
    return left, front


def assert_rules_hold(scene, options):
    """DESIGN 4.2's placement rules, computed from the scene alone."""
    objs = scene.objects
    left, front = floor_axes(scene.camera)
    for a, b in itertools.combinations(objs, 2):
        d = np.subtract(a.position[:2], b.position[:2])
        assert np.hypot(*d) - a.scale - b.scale >= options.min_dist - 1e-9
        assert abs(d @ left) >= options.margin - 1e-9
        assert abs(d @ front) >= options.margin - 1e-9
    for o in objs:
        assert max(abs(o.position[0]), abs(o.position[1])) <= scene.floor_extent
        lowest = o.position[2] - (o.scale / math.sqrt(2) if o.shape == "cube" else o.scale)
        assert lowest == pytest.approx(0.0, abs=1e-12)
        assert 0.0 <= o.rotation < 360.0
        assert o.scale == VOCAB.sizes[o.size]


@pytest.mark.parametrize("seed", range(3))
def test_invariants_over_many_scenes(seed):
    for index in range(150):
        scene = sample_scene(VOCAB, index, seed, OPTIONS)
        assert 3 <= len(scene.objects) <= 10
        assert_rules_hold(scene, OPTIONS)
        assert all(abs(c - b) <= 0.5 for c, b in zip(scene.camera.location, CAMERA_LOCATION))
        for light, (name, base, _) in zip(scene.lights, LIGHTS):
            assert light.name == name
            assert all(abs(c - b) <= 1.0 for c, b in zip(light.location, base))


@pytest.mark.parametrize("count, min_pixels, size", [
    (11, 200, (480, 320)), (20, 200, (480, 320)), (30, 200, (480, 320)), (30, 0, (480, 320)),
    (20, 200, (320, 480)),  # portrait: the top of the frame sees past the horizon
])
def test_crowded_scenes_keep_the_rules_and_every_vertex_in_frame(count, min_pixels, size):
    options = PlacementOptions(n_objects=(count, count), min_pixels=min_pixels,
                               width=size[0], height=size[1])
    for index in range(12):
        scene = sample_scene(VOCAB, index, 3, options)
        assert len(scene.objects) == count
        assert_rules_hold(scene, options)
        if index == 0:  # a pure function of (seed, index, options), like CLEVR's scenes
            assert sample_scene(VOCAB, index, 3, options).to_dict() == scene.to_dict()
        for o in scene.objects:
            mesh = unit_mesh(VOCAB.shapes[o.shape])
            turn = math.radians(o.rotation)
            spin = np.array([[math.cos(turn), -math.sin(turn), 0],
                             [math.sin(turn), math.cos(turn), 0], [0, 0, 1]])
            points = mesh.positions @ spin.T * o.scale + np.asarray(o.position)
            px = scene.camera.project(points)
            assert (px[:, 2] > 0).all()
            assert (px[:, 0] >= 0).all() and (px[:, 0] <= scene.camera.width).all()
            assert (px[:, 1] >= 0).all() and (px[:, 1] <= scene.camera.height).all()


def test_same_seed_same_scene_and_indices_independent():
    a = [sample_scene(VOCAB, i, 7, OPTIONS).to_dict() for i in (5, 3, 4)]
    b = [sample_scene(VOCAB, i, 7, OPTIONS).to_dict() for i in (5, 3, 4)]
    assert a == b
    assert a[0] != sample_scene(VOCAB, 5, 8, OPTIONS).to_dict()
    assert a[1] != a[2]


def test_object_count_range_is_uniform_and_inclusive():
    counts = [len(sample_scene(VOCAB, i, 0, PlacementOptions(n_objects=(3, 5))).objects)
              for i in range(300)]
    assert set(counts) == {3, 4, 5}
    assert min(counts.count(k) for k in (3, 4, 5)) > 60


def test_relationships_follow_directions():
    scene = sample_scene(VOCAB, 0, 1, PlacementOptions(n_objects=(8, 8)))
    data = scene.to_dict()
    left, front = floor_axes(scene.camera)
    pos = np.array([o.position for o in scene.objects])
    for i in range(len(pos)):
        expect_left = sorted(j for j in range(len(pos)) if j != i
                             and (pos[j, :2] - pos[i, :2]) @ left > 0.2)
        expect_front = sorted(j for j in range(len(pos)) if j != i
                              and (pos[j, :2] - pos[i, :2]) @ front > 0.2)
        assert data["relationships"]["left"][i] == expect_left
        assert data["relationships"]["front"][i] == expect_front
        # margins make every pair ordered both ways
        assert len(data["relationships"]["left"][i]) + len(data["relationships"]["right"][i]) \
            == len(pos) - 1
    assert data["directions"]["left"][:2] == pytest.approx(list(left))
    assert data["directions"]["above"] == [0.0, 0.0, 1.0]


def test_camera_matrices_project_the_look_at_point_to_the_image_centre():
    scene = sample_scene(VOCAB, 3, 0, OPTIONS)
    cam = scene.to_dict()["camera"]
    K, w2c = np.array(cam["intrinsics"]), np.array(cam["world_to_camera"])
    p = K @ (w2c @ np.array([0, 0, 0, 1.0]))[:3]
    assert p[:2] / p[2] == pytest.approx([240, 160])
    # a point above the origin is higher in the image (smaller y)
    q = K @ (w2c @ np.array([0, 0, 1, 1.0]))[:3]
    assert q[1] / q[2] < 160
    # horizontal field of view: the image edges sit at +-hfov/2
    assert math.degrees(2 * math.atan(240 / K[0, 0])) == pytest.approx(49.13)


def test_floor_grows_and_camera_backs_off_past_ten_objects():
    def sampled(count):
        return sample_scene(VOCAB, 0, 0, PlacementOptions(n_objects=(count, count)))

    ten, twenty, thirty = sampled(10), sampled(20), sampled(30)
    assert ten.floor_extent == 3.0
    assert thirty.floor_extent > twenty.floor_extent > 3.0
    distance = [np.linalg.norm(s.camera.location) for s in (ten, twenty, thirty)]
    assert distance[2] > distance[1] > distance[0]
    assert distance[2] > 1.5 * np.linalg.norm(CAMERA_LOCATION)


def test_a_floor_the_user_fixed_holds_a_crowd():
    options = PlacementOptions(n_objects=(20, 20), floor_extent=6.0)
    for index in range(5):
        scene = sample_scene(VOCAB, index, 2, options)
        assert scene.floor_extent == 6.0
        assert_rules_hold(scene, options)  # every centre within the user's square


def test_impossible_placement_fails_fast_with_the_numbers():
    start = time.perf_counter()
    with pytest.raises(PlacementError) as info:
        sample_scene(VOCAB, 0, 0, PlacementOptions(n_objects=(40, 40), floor_extent=2.0))
    assert time.perf_counter() - start < 10
    message = str(info.value)
    for words in ("40 objects", "4x4 floor", "min_dist 0.25", "margin 0.4"):
        assert words in message


def test_scene_json_round_trips_through_from_dict():
    scene = sample_scene(load_vocabulary(), 4, 9, PlacementOptions(prefix="MY", split="val"))
    scene.objects[0].attributes["weight"] = 2.5
    data = scene.to_dict()
    again = type(scene).from_dict(data)
    assert again.stem == "MY_val_000004"
    assert again.to_dict() == data
