"""Depth and normals (render --passes): against analytic geometry and against the mask.

Rays go through pixel centres, (u + 0.5, v + 0.5), with the camera's own intrinsics and
world_to_camera, so these checks also pin the depth map and normal map to the scene JSON's
camera. The renderer under test has normals switched on; one Renderer is open at a time.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from test_renderer import VOCAB, H, W, camera, erode, lights, obj, scene, spread_scene

from clevrlite import maps, png
from clevrlite.errors import GLUnavailableError
from clevrlite.render import Renderer
from clevrlite.scene import Camera, Scene

_open: dict[str, Renderer] = {}


def renderer_with(normals: bool) -> Renderer:
    """The process's one Renderer, with or without normals (the other kind is closed)."""
    current = _open.get("renderer")
    if current is not None and current.normals == normals:
        return current
    if current is not None:
        current.close()
    try:
        _open["renderer"] = Renderer(W, H, VOCAB, normals=normals)
    except GLUnavailableError as exc:
        pytest.skip(f"no OpenGL context on this machine: {exc}")
    return _open["renderer"]


@pytest.fixture(scope="module", autouse=True)
def close_renderer():
    yield
    if "renderer" in _open:
        _open.pop("renderer").close()


def pixel_rays(cam: Camera, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World origin and directions (N, 3) through pixel centres, scaled so that a point at
    ray parameter t has camera depth (z) t."""
    w2c = cam.world_to_camera()
    d_cam = np.linalg.inv(cam.intrinsics()) @ np.stack([xs + 0.5, ys + 0.5, np.ones(len(xs))])
    return np.asarray(cam.location, float), (w2c[:3, :3].T @ d_cam).T


def floor_depth(cam: Camera, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Camera depth where each pixel's ray meets the plane z = 0 (inf when it does not)."""
    origin, d = pixel_rays(cam, ys, xs)
    with np.errstate(divide="ignore"):
        t = -origin[2] / d[:, 2]
    return np.where(t > 0, t, np.inf)


def test_normals_leave_image_mask_and_depth_unchanged():
    sc = spread_scene()
    plain = renderer_with(False).render(sc)
    assert plain.normals is None
    extra = renderer_with(True).render(sc)
    assert np.array_equal(plain.rgb, extra.rgb)
    assert np.array_equal(plain.mask, extra.mask)
    assert np.array_equal(plain.depth, extra.depth)
    assert extra.normals.shape == (H, W, 3) and extra.normals.dtype == np.uint8


def test_sphere_depth_and_normals_match_ray_sphere_intersections():
    sc = scene([obj("sphere", "gray", "rubber", "large", 0.3, -0.2)])
    result = renderer_with(True).render(sc)
    cam, ball = sc.camera, sc.objects[0]
    ys, xs = np.nonzero(erode(result.mask == 1, 2))
    assert len(ys) > 2000
    origin, d = pixel_rays(cam, ys, xs)
    centre, radius = np.asarray(ball.position), ball.scale
    oc = origin - centre
    a, b, c = (d * d).sum(1), d @ oc, oc @ oc - radius ** 2
    assert (b * b - a * c > 0).all()  # every pixel of the mask sees the analytic sphere
    t = (-b - np.sqrt(b * b - a * c)) / a
    # The mesh (9 degree facets) lies inside the sphere: its depth is a little larger, by at
    # most the facets' sag (0.6% of the radius) along the ray.
    gap = result.depth[ys, xs] - t
    assert gap.min() > -1e-3 and gap.max() < 0.02
    expected = ((origin + t[:, None] * d - centre) / radius) @ cam.world_to_camera()[:3, :3].T
    seen = maps.decode_normals(result.normals)[ys, xs]
    seen /= np.linalg.norm(seen, axis=1, keepdims=True)
    angles = np.degrees(np.arccos(np.clip((seen * expected).sum(1), -1.0, 1.0)))
    assert angles.max() < 2.0 and angles.mean() < 0.5
    assert (expected[:, 2] < 0).all()  # faces the camera: n_z < 0 in camera axes


def test_floor_depth_and_normals_follow_the_intrinsics():
    sc = spread_scene()
    result = renderer_with(True).render(sc)
    cam = sc.camera
    ys, xs = np.nonzero(erode(result.mask == 0, 2))
    expected = floor_depth(cam, ys, xs)
    assert np.isfinite(expected).all()  # CLEVR's camera sees floor in every row
    assert np.abs(result.depth[ys, xs] - expected).max() < 1e-4 * expected.max()
    up = cam.world_to_camera()[:3, :3] @ np.array([0.0, 0.0, 1.0])
    seen = maps.decode_normals(result.normals)[ys, xs]
    assert np.abs(seen - up).max() <= 1.0 / 255 + 1e-9
    # One pixel by hand: the bottom-centre pixel from the intrinsics and the floor plane.
    K = cam.intrinsics()
    ray = cam.world_to_camera()[:3, :3].T @ np.array([(W / 2 + 0.5 - K[0, 2]) / K[0, 0],
                                                      (H - 0.5 - K[1, 2]) / K[1, 1], 1.0])
    z = -cam.location[2] / ray[2]
    assert result.mask[H - 1, W // 2] == 0
    assert result.depth[H - 1, W // 2] == pytest.approx(z, rel=1e-5)


def test_depth_is_drawn_exactly_on_objects_and_floor():
    """A low camera sees the horizon: above it nothing is drawn (depth 0, normals 0, mask 0);
    every object pixel has depth, and a mask-0 pixel with depth is the floor's own."""
    cam = Camera((7.0, -6.0, 0.8), (0.0, 0.0, 1.5), 49.13, W, H)
    sc = Scene(index=0, seed=0, camera=cam, lights=lights(),
               objects=[obj("cube", "red", "rubber", "large", 0.0, 0.0, 30.0),
                        obj("sphere", "blue", "metal", "large", 1.5, 1.0)])
    result = renderer_with(True).render(sc)
    drawn = result.depth > 0
    coded = result.normals.any(axis=2)
    assert np.array_equal(drawn, coded)
    assert drawn[result.mask > 0].all()
    ys, xs = np.mgrid[0:H, 0:W]
    origin, d = pixel_rays(cam, ys.ravel(), xs.ravel())
    sky = (d[:, 2] > 0.01).reshape(H, W)  # clearly above the horizon
    assert sky.sum() > 0.2 * W * H and (result.mask[sky & (result.mask == 0)] == 0).all()
    assert not drawn[sky & (result.mask == 0)].any()
    floor = drawn & (result.mask == 0)
    fy, fx = np.nonzero(floor)
    expected = floor_depth(cam, fy, fx)
    # Far off, the 24-bit depth buffer and the rasterizer's sub-pixel snapping of the huge
    # floor's corners set the precision: measured within 1.5e-6 z^2 (12 mm at 90 m).
    assert (np.abs(result.depth[fy, fx] - expected) < 1e-3 + 3e-6 * expected ** 2).all()


def test_depth_png_round_trips_within_its_quantization():
    result = renderer_with(True).render(spread_scene())
    scale = maps.depth_scale(result.depth)
    assert scale == maps.DEPTH_UNIT  # CLEVR's scenes fit 16 bits at 1 mm
    data = png.encode_smooth16(maps.encode_depth(result.depth, scale))
    image = Image.open(io.BytesIO(data))
    assert image.mode == "I;16"
    back = maps.decode_depth(np.asarray(image), scale)
    assert np.abs(back - result.depth).max() <= scale / 2 + 1e-7
    assert np.array_equal(back > 0, result.depth > 0)


def test_normals_are_in_the_scene_cameras_axes():
    """Seen from the opposite side, the same sphere pixel's normal turns with the camera."""
    sc = scene([obj("cube", "gray", "rubber", "large", 0.0, 0.0)])
    other = scene(sc.objects, cam=camera((-7.4811, 6.5076, 5.3437)))
    for s in (sc, other):
        result = renderer_with(True).render(s)
        top = maps.decode_normals(result.normals)[erode(result.mask == 1, 2)]
        up = s.camera.world_to_camera()[:3, :3] @ np.array([0.0, 0.0, 1.0])
        # the cube's top face: the most common normal on it is world up, in this camera
        assert (np.abs(top - up).max(axis=1) <= 1.0 / 255 + 1e-9).mean() > 0.2
