"""Sampling a scene: object attributes, non-overlapping floor positions, camera and lights.

CLEVR's rules with its bugs fixed (DESIGN 4.2): each object's footprint is the circle of radius
``scale`` around its centre, footprints keep a gap of ``min_dist``, and any two objects are at
least ``margin`` apart along the actual camera's left and front axes, so spatial relations are
never ambiguous. Tries are bounded and end in a clear error instead of looping for ever.

Every scene is a pure function of (run seed, scene index, options): the random generator is
seeded from ``SeedSequence([seed, index])``, so the output does not depend on worker count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from clevrlite.errors import PlacementError, UsageError
from clevrlite.crowd import (Bodies, Ranges, box_pixels, largest_pixels, place_crowd,
                             spread_ranges, square_around)
from clevrlite.meshes import rest_height, unit_mesh
from clevrlite.scene import Camera, Light, Scene, SceneObject
from clevrlite.vocab import Vocabulary

# CLEVR's camera and lights (Blender scene base.blend), and their jitter amplitudes.
CAMERA_LOCATION = (7.4811, -6.5076, 5.3437)
CAMERA_HFOV_DEG = 49.13  # 35 mm lens on a 32 mm sensor
CAMERA_JITTER = 0.5
VIEW_STREAM = 1  # spawn key of the views' generators (view_rng)
LIGHT_JITTER = 1.0
# (name, location, intensity): the key light is directional and shadowed (intensity in lux),
# fill and back are point lights (intensity in candela, pyrender's units).
LIGHTS = (
    ("key", (6.4467, -2.9052, 4.2584), 0.6),
    ("fill", (-4.6711, -4.0136, 3.0112), 3.0),
    ("back", (-1.1685, 2.6460, 5.8157), 7.0),
)
BASE_FLOOR_EXTENT = 3.0
# Past CLEVR's 10 objects a scene is crowded (see clevrlite.crowd): objects spread over the
# part of the floor the frame sees, bounded by a square whose half-size grows by 0.175 per
# extra object, and the camera backs off by 3.5% of CLEVR's distance per extra object.
# Measured at 480x320 with 30 objects: backing off less leaves too little room in frame for
# the margin rule (placement needs many attempts), more makes far small objects fall under
# 200 pixels.
CROWD_FROM = 11
SPREAD_GROWTH = 0.175
ZOOM_GROWTH = 0.035
CROWD_ATTEMPTS = 20  # fresh Latin layouts per placement before giving up
# Each further layout aims its visibility estimate this much lower: the estimate is rough
# (mostly small objects in a scene can miss it while their masks would pass), and the final
# mask check decides anyway.
CROWD_RELAX = 0.9


@dataclass(frozen=True)
class PlacementOptions:
    """The knobs of scene sampling; defaults are CLEVR's."""

    n_objects: tuple[int, int] = (3, 10)
    width: int = 480
    height: int = 320
    min_dist: float = 0.25
    margin: float = 0.4
    max_tries: int = 50  # per object, then the scene restarts
    max_restarts: int = 200
    floor_extent: float | None = None  # half-size of the floor square; None grows with count
    min_pixels: int = 200  # visible pixels per object that crowded layouts aim for
    split: str = "new"
    prefix: str = "CLEVRLITE"
    time_budget: float = 10.0  # seconds a scene's placement may take before it fails
    # Turn the camera and lights by a random angle about the vertical axis, and take
    # positions from a disc with no margin rule: the listed coordinates then say nothing of
    # where the camera stands (benchmarks whose questions give boxes).
    turned: bool = False


def scene_rng(seed: int, index: int, stream: int | None = None) -> np.random.Generator:
    """The generator of scene ``index`` of run ``seed``: independent of order and workers.

    ``stream`` keeps another family of scenes of the same run (a benchmark's example scenes)
    independent of the scenes with the same index.
    """
    entropy = [seed, index] if stream is None else [seed, index, stream]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def view_rng(seed: int, index: int, view: int) -> np.random.Generator:
    """The generator of view ``view`` of scene ``index``: independent of the scene's own
    (scene_rng), so extra views leave the scene and view 0 unchanged."""
    return np.random.default_rng(np.random.SeedSequence([seed, index],
                                                        spawn_key=(VIEW_STREAM, view)))


def view_cameras(scene: Scene, count: int, options: PlacementOptions, ring: bool = False,
                 ) -> list[Camera]:
    """``count`` cameras on ``scene``, view 0 being its own.

    Views 1.. stand where CLEVR's jitter puts a camera (its default position for the scene's
    object count, U(-0.5, 0.5) per axis, each view from view_rng); with ``ring``, they are view
    0's camera turned about the vertical axis through its look-at point by k * 360 / count
    degrees, so all stand evenly around the scene at view 0's distance and height.
    """
    cameras = [scene.camera]
    cam = scene.camera
    zoom = zoom_for(len(scene.objects), spread_for(len(scene.objects), options))
    centre = np.asarray(cam.look_at, float)
    for view in range(1, count):
        if ring:
            turned = _turn(2.0 * math.pi * view / count) @ (np.asarray(cam.location) - centre)
            location = tuple(float(c) for c in turned + centre)
        else:
            location = _jitter(view_rng(scene.seed, scene.index, view), CAMERA_LOCATION,
                               CAMERA_JITTER, zoom)
        cameras.append(Camera(location, cam.look_at, cam.hfov_deg, cam.width, cam.height))
    return cameras


def crowded(n_objects: int) -> bool:
    """Whether ``n_objects`` are placed by the crowd layout instead of CLEVR's sampler."""
    return n_objects >= CROWD_FROM


def spread_for(n_objects: int, options: PlacementOptions) -> float:
    """Half-size of the floor square that bounds where objects go: CLEVR's 3 up to 10
    objects, then growing with the count, unless the user fixed the floor."""
    if options.floor_extent is not None:
        return options.floor_extent
    return BASE_FLOOR_EXTENT + SPREAD_GROWTH * max(0, n_objects - CROWD_FROM + 1)


def zoom_for(n_objects: int, spread: float) -> float:
    """Camera and light distance as a multiple of CLEVR's for ``n_objects``."""
    if crowded(n_objects):
        return 1.0 + ZOOM_GROWTH * (n_objects - CROWD_FROM + 1)
    return spread / BASE_FLOOR_EXTENT


# A crowd is refused at once when the smallest object, at the middle depth the crowd spreads
# over, would show (unoccluded, as crowd's estimate counts it) less than this share of
# min_pixels. At 480x320 that is from 40 objects on (a small one would show 171 pixels of 200):
# 45 and 60 used to take 31-61 s to fail. Renders of 39 place in about a second; a benchmark
# whose constructions leave most objects large fails from about 33, after its time budget.
CAPACITY_SHARE = 0.88


def crowd_pixels(n_objects: int, options: PlacementOptions, vocab: Vocabulary) -> float:
    """The pixels the vocabulary's smallest object shows, unoccluded, at the middle depth over
    which a crowd of ``n_objects`` spreads, from CLEVR's camera backed off for the count."""
    spread = spread_for(n_objects, options)
    zoom = zoom_for(n_objects, spread)
    camera = Camera(tuple(float(c) * zoom for c in CAMERA_LOCATION), (0.0, 0.0, 0.0),
                    CAMERA_HFOV_DEG, options.width, options.height)
    axes = _floor_axes(camera)
    front = sum(_crowd_ranges(camera, n_objects, options)[1]) / 2.0
    left = sum(_crowd_ranges(camera, n_objects, options)[0]) / 2.0
    radius = min(unit_mesh(s).radius for s in vocab.shapes.values()) * min(vocab.sizes.values())
    return box_pixels(camera, axes, (left, front), radius)


def check_capacity(n_objects: int, options: PlacementOptions, vocab: Vocabulary,
                   min_pixels: int, extra: int = 0) -> None:
    """A usage error, before any work, when ``n_objects`` (``extra`` of them listed in a text
    but not drawn) cannot all show ``min_pixels`` in the image: it names the pixels a small
    object would get, the most objects that fit, and the image size or --min-pixels that
    would fit these."""
    if not crowded(n_objects) or min_pixels <= 0:
        return
    shown = crowd_pixels(n_objects, options, vocab)
    if shown >= CAPACITY_SHARE * min_pixels:
        return
    most = next((n for n in range(n_objects - 1, CROWD_FROM - 1, -1)
                 if crowd_pixels(n, options, vocab) >= CAPACITY_SHARE * min_pixels),
                CROWD_FROM - 1)
    grow = math.sqrt(CAPACITY_SHARE * min_pixels / max(shown, 1e-6))
    width, height = (math.ceil(options.width * grow), math.ceil(options.height * grow))
    absent = f" (and {extra} more that texts list)" if extra else ""
    raise UsageError(
        f"--n-objects {n_objects - extra}{absent} cannot all show {min_pixels} pixels at "
        f"{options.width}x{options.height}: the camera backs off so far that a small object "
        f"in the middle of the crowd shows about {shown:.0f}; use --n-objects at most "
        f"{most - extra}, an image of about {width}x{height}, or --min-pixels "
        f"{int(shown / CAPACITY_SHARE)}")


def sample_scene(vocab: Vocabulary, index: int, seed: int, options: PlacementOptions,
                 rng: np.random.Generator | None = None,
                 constrain: Callable[[list[SceneObject], np.random.Generator], None] | None = None,
                 ) -> Scene:
    """Sample scene ``index`` of run ``seed``: object count, camera, lights, objects, positions.

    ``constrain`` may change the sampled attributes in place before positions are placed (the
    benchmark uses it to make a pointer value unique), so sizes and footprints stay consistent.
    """
    rng = scene_rng(seed, index) if rng is None else rng
    scene = sample_unplaced(vocab, index, seed, options, rng, constrain)
    place(scene, vocab, options, rng)
    return scene


def sample_unplaced(vocab: Vocabulary, index: int, seed: int, options: PlacementOptions,
                    rng: np.random.Generator,
                    constrain: Callable[[list[SceneObject], np.random.Generator], None] | None
                    = None) -> Scene:
    """Everything of a scene but the object positions (all at the origin): see sample_scene."""
    lo, hi = options.n_objects
    n = int(rng.integers(lo, hi + 1))
    extent = spread_for(n, options)
    zoom = zoom_for(n, extent)
    turn = _turn(float(rng.uniform(0.0, 2.0 * math.pi))) if options.turned else None
    camera = Camera(location=_jitter(rng, CAMERA_LOCATION, CAMERA_JITTER, zoom, turn),
                    look_at=(0.0, 0.0, 0.0), hfov_deg=CAMERA_HFOV_DEG,
                    width=options.width, height=options.height)
    lights = [Light(name, _jitter(rng, loc, LIGHT_JITTER, zoom, turn),
                    intensity if name == "key" else intensity * zoom ** 2)
              for name, loc, intensity in LIGHTS]
    objects = [sample_attributes(vocab, rng) for _ in range(n)]
    if constrain is not None:
        constrain(objects, rng)
    if crowded(n) and options.floor_extent is None and not options.turned:
        extent = square_around(_crowd_ranges(camera, n, options), _floor_axes(camera))
    return Scene(index=index, seed=seed, camera=camera, lights=lights, objects=objects,
                 split=options.split, prefix=options.prefix, floor_extent=extent)


def _jitter(rng: np.random.Generator, base: tuple[float, float, float], amount: float,
            zoom: float, turn: np.ndarray | None = None) -> tuple[float, float, float]:
    moved = np.asarray(base) * zoom + rng.uniform(-amount, amount, 3)
    if turn is not None:
        moved = turn @ moved
    return (float(moved[0]), float(moved[1]), float(moved[2]))


def _turn(angle: float) -> np.ndarray:
    """The rotation by ``angle`` radians about the vertical axis."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def sample_attributes(vocab: Vocabulary, rng: np.random.Generator) -> SceneObject:
    """One object's attributes drawn uniformly from the vocabulary; position left at origin."""
    size = _choice(rng, list(vocab.sizes))
    extras = {}
    for name, attr in vocab.attributes.items():
        if attr.values is not None:
            extras[name] = _choice(rng, list(attr.values))
        else:
            low, high = attr.range or (0.0, 1.0)
            extras[name] = round(float(rng.uniform(low, high)), attr.decimals)
    return SceneObject(shape=_choice(rng, list(vocab.shapes)),
                       color=_choice(rng, list(vocab.colors)),
                       material=_choice(rng, list(vocab.materials)),
                       size=size, scale=vocab.sizes[size], position=(0.0, 0.0, 0.0),
                       rotation=float(rng.uniform(0.0, 360.0)), attributes=extras)


def _choice(rng: np.random.Generator, values: list):
    return values[int(rng.integers(len(values)))]


def place(scene: Scene, vocab: Vocabulary, options: PlacementOptions,
          rng: np.random.Generator) -> None:
    """Give every object of ``scene`` a valid floor position, restarting when one won't fit.

    Restarts re-sample positions only, so attributes chosen (or constructed) earlier survive.
    Crowded scenes use clevrlite.crowd's layout, which also keeps objects in frame.
    """
    axes = _floor_axes(scene.camera)
    if options.turned:
        spots = _disc_spots(scene, options, axes, rng)
        tries = f"{options.max_restarts} restarts of {options.max_tries} tries per object"
        fix = "use fewer objects or a larger floor"
    elif crowded(len(scene.objects)):
        spots = _crowd_spots(scene, vocab, options, axes, rng)
        tries = f"{CROWD_ATTEMPTS} layouts or {options.time_budget:g} s"
        fix = "use fewer objects, a larger floor or image, or a lower --min-pixels"
    else:
        spots = _clevr_spots(scene, options, axes, rng)
        tries = f"{options.max_restarts} restarts of {options.max_tries} tries per object"
        fix = "use fewer objects or a larger floor"
    if spots is None:
        extent = scene.floor_extent
        raise PlacementError(
            f"could not place {len(scene.objects)} objects on a {2 * extent:.4g}x"
            f"{2 * extent:.4g} floor with min_dist {options.min_dist:g} and margin "
            f"{options.margin:g} after {tries}; {fix}")
    for obj, (x, y) in zip(scene.objects, spots):
        z = rest_height(vocab.shapes[obj.shape], obj.scale)
        obj.position = (float(x), float(y), z)


def _clevr_spots(scene: Scene, options: PlacementOptions, axes: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray | None:
    """CLEVR's sampler: floor positions (n, 2), or None when every restart failed."""
    for _ in range(options.max_restarts):
        spots = _try_place([o.scale for o in scene.objects], axes, scene.floor_extent,
                           options, rng)
        if spots is not None:
            return spots
    return None


def _disc_spots(scene: Scene, options: PlacementOptions, axes: np.ndarray,
                rng: np.random.Generator) -> np.ndarray | None:
    """Positions (n, 2) uniform over the disc of radius floor_extent, footprints min_dist
    apart, and no margin rule (turned scenes: nothing in the layout points at the camera);
    None when every restart failed."""
    scales = np.array([o.scale for o in scene.objects], float)
    extent = scene.floor_extent
    for _ in range(options.max_restarts):
        spots = np.empty((len(scales), 2))
        for i, scale in enumerate(scales):
            cand = rng.uniform(-extent, extent, (options.max_tries, 2))
            ok = np.hypot(cand[:, 0], cand[:, 1]) <= extent
            if i:
                dist = np.linalg.norm(cand[:, None, :] - spots[None, :i, :], axis=2)
                ok &= (dist - scales[None, :i] - scale >= options.min_dist).all(axis=1)
            hits = np.flatnonzero(ok)
            if not len(hits):
                break
            spots[i] = cand[hits[0]]
        else:
            return spots
    return None


def _crowd_spots(scene: Scene, vocab: Vocabulary, options: PlacementOptions, axes: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray | None:
    """clevrlite.crowd's layout: floor positions (n, 2), or None when every layout failed."""
    meshes = [unit_mesh(vocab.shapes[o.shape]) for o in scene.objects]
    scales = np.array([o.scale for o in scene.objects], float)
    bodies = Bodies(scale=scales, height=np.array([m.rest_height for m in meshes]) * scales,
                    radius=np.array([m.radius for m in meshes]) * scales)
    cam = scene.camera
    ranges = _crowd_ranges(cam, len(scene.objects), options)
    if min(hi - lo for lo, hi in ranges) < (len(scene.objects) - 1) * options.margin:
        return None  # the floor is too small for the margin rule, whatever the image
    most = largest_pixels(cam, axes, float(bodies.radius.min()))
    if most < options.min_pixels:
        raise PlacementError(
            f"{len(scene.objects)} objects do not fit a {cam.width}x{cam.height} image: the "
            f"camera backs off so far that the smallest object shows at most {most:.0f} "
            f"pixels, under --min-pixels {options.min_pixels}; use fewer objects, a larger "
            f"image or a lower --min-pixels")
    deadline = time.monotonic() + options.time_budget
    for attempt in range(CROWD_ATTEMPTS):
        aim = options.min_pixels * CROWD_RELAX ** attempt
        uv = place_crowd(bodies, cam, axes, ranges, scene.floor_extent,
                         options.min_dist, options.margin, aim, rng, deadline)
        if uv is None and time.monotonic() > deadline:
            # A hard stop, never a next try: what a scene looks like must not depend on
            # how fast the machine is.
            raise PlacementError(
                f"could not place {len(scene.objects)} objects at {cam.width}x{cam.height}: "
                f"{attempt + 1} layouts tried before the scene's time ran out; use fewer "
                f"objects, a larger image, or a lower --min-pixels")
        if uv is not None:
            return uv @ axes
    return None


def _floor_axes(camera: Camera) -> np.ndarray:
    """(2, 2): rows are the camera's left and front directions on the floor."""
    dirs = camera.directions()
    return np.array([dirs["left"][:2], dirs["front"][:2]])


def _crowd_ranges(camera: Camera, n_objects: int, options: PlacementOptions) -> Ranges:
    """Where a crowded scene's left and front values may go (crowd.spread_ranges)."""
    return spread_ranges(camera, _floor_axes(camera), spread_for(n_objects, options),
                         (n_objects - 1) * options.margin)


def _try_place(scales: list[float], axes: np.ndarray, extent: float,
               options: PlacementOptions, rng: np.random.Generator) -> np.ndarray | None:
    """One attempt at all positions (n, 2); None if some object found no spot in its tries.

    Candidates are drawn in the camera's (left, front) floor coordinates, each coordinate
    uniform over the values that keep ``margin`` from every placed object, then rejected if off
    the floor or too close. That is uniform over the valid region, like plain rejection
    sampling, but it still finds the free spots when the margin bands cover most of the floor.
    """
    n = len(scales)
    uv = np.empty((n, 2))
    radii = np.asarray(scales, float)
    reach = np.abs(axes).sum(axis=1) * extent  # the floor square's half-width along each axis
    for i, scale in enumerate(scales):
        cand = np.column_stack([
            _sample_free(rng, -reach[k], reach[k], uv[:i, k], options.margin, options.max_tries)
            for k in range(2)])
        if cand.shape[0] == 0:
            return None
        xy = cand @ axes  # back to world x, y (axes are orthonormal rows)
        ok = (np.abs(xy) <= extent).all(axis=1)
        if i:
            dist = np.linalg.norm(cand[:, None, :] - uv[None, :i, :], axis=2)
            ok &= (dist - radii[None, :i] - scale >= options.min_dist).all(axis=1)
        hits = np.flatnonzero(ok)
        if not len(hits):
            return None
        uv[i] = cand[hits[0]]
    return uv @ axes


def _sample_free(rng: np.random.Generator, lo: float, hi: float, taken: np.ndarray,
                 margin: float, count: int) -> np.ndarray:
    """``count`` values uniform over [lo, hi] minus the open bands (t - margin, t + margin)."""
    starts, ends = [lo], []
    for t in np.sort(taken):
        ends.append(t - margin)
        starts.append(t + margin)
    ends.append(hi)
    a = np.asarray(starts)
    lengths = np.clip(np.asarray(ends) - a, 0.0, None)  # bands between sorted neighbours
    total = lengths.sum()
    if total <= 0.0:
        return np.empty(0)
    r = rng.uniform(0.0, total, count)
    cum = np.cumsum(lengths)
    k = np.minimum(np.searchsorted(cum, r, side="right"), len(a) - 1)
    return a[k] + r - (cum[k] - lengths[k])
