"""Image annotations derived from the instance mask: visible pixels, boxes, projected centres."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from clevrlite.scene import Camera, ObjectView, Scene, SceneObject, View


def seen_objects(camera: Camera, objects: Sequence[SceneObject], mask: np.ndarray,
                 ) -> list[ObjectView]:
    """What ``mask``, rendered through ``camera``, shows of each object.

    ``mask`` holds mask_id (object index + 1) per pixel and 0 for floor and background. The box
    is the tight box of the visible pixels with exclusive right and bottom edges, or None for
    an object that is fully hidden; ``pixel_coords`` is the centre's projection, inside the
    image or not.
    """
    n = len(objects)
    counts = np.bincount(mask.ravel(), minlength=n + 1)
    centres = camera.project(np.array([o.position for o in objects], float))
    out = []
    for i in range(n):
        visible = int(counts[i + 1])
        bbox = None
        if visible:
            hit = mask == i + 1
            ys = np.flatnonzero(hit.any(axis=1))
            xs = np.flatnonzero(hit.any(axis=0))
            bbox = (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
        out.append(ObjectView(tuple(float(c) for c in centres[i]), bbox, visible))
    return out


def annotate(scene: Scene, mask: np.ndarray) -> None:
    """Fill each object's ``visible_pixels``, ``bbox`` and ``pixel_coords`` from ``mask``, the
    render of the scene's own camera (see seen_objects)."""
    for obj, seen in zip(scene.objects, seen_objects(scene.camera, scene.objects, mask)):
        obj.visible_pixels, obj.pixel_coords, obj.bbox = (seen.visible_pixels,
                                                          seen.pixel_coords, seen.bbox)


def own_view(scene: Scene) -> View:
    """View 0: the scene's camera and its objects' annotations (after annotate)."""
    return View(0, scene.camera, [ObjectView(o.pixel_coords, o.bbox, o.visible_pixels)
                                  for o in scene.objects])


def smallest_visible(scene: Scene) -> int:
    """The fewest visible pixels of any drawn object (0 for a scene with none)."""
    return min((o.visible_pixels for o in scene.objects if o.drawn), default=0)
