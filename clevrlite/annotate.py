"""Image annotations derived from the instance mask: visible pixels, boxes, projected centres."""

from __future__ import annotations

import numpy as np

from clevrlite.scene import Scene


def annotate(scene: Scene, mask: np.ndarray) -> None:
    """Fill each object's ``visible_pixels``, ``bbox`` and ``pixel_coords`` from ``mask``.

    ``mask`` holds mask_id (object index + 1) per pixel and 0 for floor and background. The box
    is the tight box of the visible pixels with exclusive right and bottom edges, or None for
    an object that is fully hidden.
    """
    n = len(scene.objects)
    counts = np.bincount(mask.ravel(), minlength=n + 1)
    centres = scene.camera.project(np.array([o.position for o in scene.objects], float))
    for i, obj in enumerate(scene.objects):
        obj.visible_pixels = int(counts[i + 1])
        obj.pixel_coords = tuple(float(c) for c in centres[i])
        obj.bbox = None
        if obj.visible_pixels:
            hit = mask == i + 1
            ys = np.flatnonzero(hit.any(axis=1))
            xs = np.flatnonzero(hit.any(axis=0))
            obj.bbox = (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def smallest_visible(scene: Scene) -> int:
    """The fewest visible pixels of any drawn object (0 for a scene with none)."""
    return min((o.visible_pixels for o in scene.objects if o.drawn), default=0)
