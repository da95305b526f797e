"""The scene pipeline: one finished scene from (seed, index, options).

Sample attributes (a caller may constrain them), place the objects, render, annotate from the
mask, and place again while an object shows too few pixels; then, for render runs with
``--views``, render the finished scene from more cameras. Render runs (clevrlite.runs) and
benchmark builds (clevrlite.bench) both make their scenes here; it is the one module outside
clevrlite.render that touches the renderer.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from clevrlite.annotate import annotate, seen_objects, smallest_visible
from clevrlite.errors import PlacementError
from clevrlite.placement import PlacementOptions, place, sample_unplaced, scene_rng
from clevrlite.scene import Camera, Scene, SceneObject, View
from clevrlite.vocab import Vocabulary

# Seconds one scene may spend on placing and re-placing before the run stops with an error.
SCENE_BUDGET = 30.0


class SceneMaker:
    """Makes finished scenes in one process: sampled, placed, rendered, annotated, visible."""

    def __init__(self, vocab: Vocabulary, placement: PlacementOptions, backend: str = "auto",
                 min_pixels: int = 200, max_visibility_tries: int = 50,
                 normals: bool = False) -> None:
        from clevrlite.render import Renderer  # GL is only touched once a maker exists

        self.vocab = vocab
        self.placement = placement
        self.min_pixels = min_pixels
        self.max_visibility_tries = max_visibility_tries
        self.renderer = Renderer(placement.width, placement.height, vocab, backend=backend,
                                 normals=normals)
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        self.renderer.close()

    def _timed(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - start
        return now

    def make(self, index: int, seed: int,
             constrain: Callable[[list[SceneObject], np.random.Generator], None] | None = None,
             placement: PlacementOptions | None = None, render: bool = True,
             stream: int | None = None) -> tuple[Scene, Any]:
        """Scene ``index`` of run ``seed`` with every object at least ``min_pixels`` visible.

        When an object is too hidden, positions are placed again (attributes are kept) and the
        scene re-rendered, a bounded number of times; all randomness comes from the scene's
        own generator, so the result is still a pure function of (seed, index, options).
        With ``render=False`` the scene is only sampled and placed (a text-only scene);
        ``stream`` picks an independent family of scenes (see placement.scene_rng).
        """
        placement = replace(placement or self.placement, min_pixels=self.min_pixels)
        t = time.perf_counter()
        rng = scene_rng(seed, index, stream)
        scene = sample_unplaced(self.vocab, index, seed, placement, rng, constrain)
        t = self._timed("sampling", t)
        deadline = time.monotonic() + SCENE_BUDGET
        for attempt in range(self.max_visibility_tries if render else 1):
            if attempt and time.monotonic() > deadline:  # a hard stop: output never
                raise PlacementError(                     # depends on the machine's speed
                    f"scene {index}: {len(scene.objects)} objects still hid each other "
                    f"after {attempt} placements and {SCENE_BUDGET:g} s at "
                    f"{placement.width}x{placement.height}; lower --min-pixels, use fewer "
                    f"objects or a larger image")
            left = max(deadline - time.monotonic(), 0.1)
            place(scene, self.vocab, replace(placement, time_budget=min(
                placement.time_budget, left)), rng)
            t = self._timed("placement", t)
            if not render:
                return scene, None
            result = self.renderer.render(scene)
            for stage, secs in self.renderer.last_timings.items():
                self.timings[stage] = self.timings.get(stage, 0.0) + secs
            t = time.perf_counter()
            annotate(scene, result.mask)
            t = self._timed("annotate", t)
            if smallest_visible(scene) >= self.min_pixels:
                return scene, result
        raise PlacementError(
            f"scene {index}: could not make all {len(scene.objects)} objects show at least "
            f"{self.min_pixels} pixels in {self.max_visibility_tries} placements at "
            f"{placement.width}x{placement.height}; lower --min-pixels, use fewer "
            f"objects or a larger image")

    def view(self, scene: Scene, index: int, camera: Camera) -> tuple[View, Any]:
        """View ``index`` of a finished scene, seen through ``camera``: what it shows of each
        object, and the render. The scene is not changed; no visibility rule applies (an
        object may be hidden or out of frame in this view)."""
        result = self.renderer.render(replace(scene, camera=camera))
        for stage, secs in self.renderer.last_timings.items():
            self.timings[stage] = self.timings.get(stage, 0.0) + secs
        t = time.perf_counter()
        view = View(index, camera, seen_objects(camera, scene.objects, result.mask))
        self._timed("annotate", t)
        return view, result


def gl_report(backend: str = "auto") -> dict[str, Any]:
    """What ``clevrlite doctor`` reports: the GL context's facts (clevrlite.render.gl_info)."""
    from clevrlite.render import gl_info

    return gl_info(backend)


def egl_devices() -> list[dict[str, Any]] | None:
    """Every EGL device with its CUDA ordinal where known (None: EGL cannot list them), for
    spreading workers over GPUs."""
    from clevrlite.render.backend import egl_device_facts

    return egl_device_facts()
