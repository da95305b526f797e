"""Contact darkening: the floor is darker where objects meet it, applied to the rendered image.

An object hides part of the sky from the floor around it. For a sphere of radius R whose
centre is at height h and distance d from a floor point, the cosine-weighted share of the sky
it hides is R^2 h / d^3; the same formula with R a little under each shape's bounding radius
(look.CONTACT_REACH) gives boxes and cylinders a soft blob that is darkest at their base. The
floor loses CONTACT_STRENGTH * (share - CONTACT_CUTOFF) / (1 - CONTACT_CUTOFF) of its light
per object, clamped to [0, CONTACT_STRENGTH]: the cutoff keeps the darkening next to the
object and makes it end exactly at zero, so there is no seam.

Why here and not in the floor shader: on a software rasterizer the shader would evaluate every
object at every floor pixel (about 9 ms a frame on llvmpipe); here each object is evaluated
only in the screen rectangle where its darkening is visible, in numpy, about 1 ms. Metal
reflections of the floor use the same formula in the shader (shaders.floor_openness), so the
two agree. Only floor pixels (mask 0) change; objects and the mask are untouched.
"""

from __future__ import annotations

import math

import numpy as np

from clevrlite.render import look
from clevrlite.scene import Camera

GAMMA = 2.2  # the colour pass encodes linear light as value ** (1 / GAMMA)
_CIRCLE = np.linspace(0.0, 2.0 * math.pi, 16, endpoint=False)


def reach(radius: float, height: float) -> float:
    """Floor distance from an object's centre line beyond which it darkens nothing."""
    distance = (radius * radius * max(height, 0.0) / look.CONTACT_CUTOFF) ** (1.0 / 3.0)
    return math.sqrt(max(distance * distance - height * height, 0.0))


def openness(x: np.ndarray, y: np.ndarray, centres: np.ndarray, radii: np.ndarray,
             ) -> np.ndarray:
    """Share of light kept at floor points (``x``, ``y``, arrays of one shape) next to spheres
    ``centres`` (N, 3) of ``radii`` (N,)."""
    kept = np.ones(np.shape(x), np.float32)
    gain = np.float32(look.CONTACT_STRENGTH / (1.0 - look.CONTACT_CUTOFF))
    cutoff = np.float32(look.CONTACT_CUTOFF)
    for (cx, cy, cz), radius in zip(np.asarray(centres, np.float32), np.asarray(radii, np.float32)):
        d2 = np.square(x - cx) + np.square(y - cy) + cz * cz
        share = (radius * radius * cz) / (d2 * np.sqrt(d2))
        kept *= 1.0 - gain * np.clip(share - cutoff, 0.0, 1.0 - cutoff)
    return kept


class _View:
    """A camera's per-scene numbers: pixel rays onto the floor and projection of floor points."""

    def __init__(self, camera: Camera) -> None:
        right, down, forward = camera.axes()
        k = camera.intrinsics()
        self.width, self.height = camera.width, camera.height
        self.eye = np.asarray(camera.location, float)
        self.rotation = np.stack([right, down, forward])  # world to camera
        self.k = k
        self.u = ((np.arange(camera.width) + 0.5 - k[0, 2]) / k[0, 0]).astype(np.float32)
        self.v = ((np.arange(camera.height) + 0.5 - k[1, 2]) / k[1, 1]).astype(np.float32)

    def floor_points(self, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray] | None:
        """Floor x and y, (h, w) float32 each, seen through the centres of the pixels in
        ``rows`` x ``cols``; None when some of them look above the horizon."""
        u, v = self.u[cols][None, :], self.v[rows][:, None]
        (rx, ry, rz), (dx, dy, dz), (fx, fy, fz) = self.rotation.astype(np.float32)
        z = (fz + v * dz) + u * rz
        if z.max() >= -1e-6:
            return None
        t = np.float32(-self.eye[2]) / z
        return (np.float32(self.eye[0]) + t * ((fx + v * dx) + u * rx),
                np.float32(self.eye[1]) + t * ((fy + v * dy) + u * ry))

    def screen_boxes(self, centres: np.ndarray, extents: np.ndarray,
                     ) -> list[tuple[slice, slice] | None]:
        """Per object, the pixel rows and columns that can see the floor disc of radius
        ``extents[i]`` around ``centres[i]``; None when it is off screen."""
        ring = np.zeros((len(centres), len(_CIRCLE), 3))
        ring[..., 0] = centres[:, None, 0] + extents[:, None] * np.cos(_CIRCLE)
        ring[..., 1] = centres[:, None, 1] + extents[:, None] * np.sin(_CIRCLE)
        cam = (ring - self.eye) @ self.rotation.T
        ahead = cam[..., 2].min(axis=1) > 1e-6  # else the disc reaches behind the camera
        depth = np.where(ahead[:, None], cam[..., 2], 1.0)
        x = self.k[0, 0] * cam[..., 0] / depth + self.k[0, 2]
        y = self.k[1, 1] * cam[..., 1] / depth + self.k[1, 2]
        lows = np.floor(np.column_stack([x.min(1), y.min(1)])).astype(int)
        highs = np.ceil(np.column_stack([x.max(1), y.max(1)])).astype(int) + 1
        boxes: list[tuple[slice, slice] | None] = []
        for front, (x0, y0), (x1, y1) in zip(ahead, lows, highs):
            if not front:
                boxes.append((slice(0, self.height), slice(0, self.width)))
                continue
            x0, x1 = max(x0, 0), min(x1, self.width)
            y0, y1 = max(y0, 0), min(y1, self.height)
            boxes.append((slice(y0, y1), slice(x0, x1)) if x0 < x1 and y0 < y1 else None)
        return boxes


def darken_contacts(rgb: np.ndarray, mask: np.ndarray, camera: Camera,
                    centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """``rgb`` (H, W, 3) uint8 with floor pixels (``mask`` 0) darkened next to the objects
    whose occluding spheres are ``centres`` (N, 3) and ``radii`` (N,)."""
    if not len(centres):
        return rgb
    view = _View(camera)
    extents = np.array([reach(float(r), float(c[2])) for c, r in zip(centres, radii)])
    out = rgb
    for box, centre, radius in zip(view.screen_boxes(centres, extents), centres, radii):
        points = None if box is None else view.floor_points(*box)
        if points is None:
            continue
        kept = openness(*points, centre[None, :], np.array([radius]))
        factor = np.where(mask[box] == 0, kept ** np.float32(1.0 / GAMMA), np.float32(1.0))
        if out is rgb:
            out = rgb.copy()
        out[box] = np.rint(out[box] * factor[..., None]).astype(np.uint8)
    return out
