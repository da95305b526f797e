"""Render runs (DESIGN 4.4): options, the file layout of each scene, resume, the index file.

Scenes come from the pipeline (clevrlite.pipeline), one SceneMaker per worker (the pool is
clevrlite.runs.executors'). Every scene depends only on (seed, index, options), so the files
are byte-identical whatever the number of workers. Each file is written atomically
(clevrlite.fsutil) and a scene's JSON last, which marks the scene as complete for --resume.

Opt-in extras (README, "Passes and views"): ``--passes depth,normals`` adds ``depth/`` and
``normals/`` PNGs beside each image (clevrlite.maps), and ``--views K`` renders K views of each
scene, view k >= 1 as ``STEM_vk.png`` in every image folder, listed in the scene JSON's
``views``. View 0 keeps today's names and bytes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from clevrlite import __version__, fsutil, maps, png, serialize
from clevrlite.annotate import own_view
from clevrlite.errors import UsageError
from clevrlite.pipeline import SceneMaker
from clevrlite.placement import PlacementOptions, check_capacity, view_cameras
from clevrlite.runs import manifest
from clevrlite.runs.executors import RunControls, make_pool
from clevrlite.scene import Scene, View, scene_stem, view_stem
from clevrlite.vocab import Vocabulary, load_vocabulary

SUBDIRS = ("images", "masks", "scenes", "text")
# The largest image side every supported driver can render (GL_MAX_RENDERBUFFER_SIZE of
# Mesa llvmpipe; GPUs allow at least as much). Larger sizes failed deep inside OpenGL.
MAX_IMAGE_SIDE = 16384
# Bytes a scene takes on disk at 480x320 (image, mask, scene JSON; the first two grow with the
# pixels), and each text format besides.
BYTES_PER_SCENE = 50_000
TEXT_BYTES = 2_000
# ... and each extra pass's PNG per view (measured at 480x320: depth 12 kB, normals 14 kB)
PASS_BYTES = {"depth": 20_000, "normals": 20_000}
MAX_VIEWS = 1000  # --views above this is surely a typo (each view is a whole render)


@dataclass(frozen=True)
class RenderOptions(RunControls):
    """Everything a render run needs; the CLI maps its flags one to one onto these."""

    out: Path = Path("out")
    count: int = 16
    seed: int = 0
    start_index: int = 0
    placement: PlacementOptions = field(default_factory=PlacementOptions)
    formats: tuple[str, ...] = serialize.FORMATS
    min_pixels: int = 200
    max_visibility_tries: int = 50
    passes: tuple[str, ...] = ()  # extra per-view images: clevrlite.maps.PASSES
    views: int = 1  # cameras per scene; view 0 is the scene's own
    view_ring: bool = False  # views evenly around the scene instead of CLEVR's jitter

    def deciding(self, vocab: Vocabulary) -> dict[str, Any]:
        """The options that decide a scene's bytes (manifest.json): not which scenes. Passes
        and views appear only when asked for, so a default run's manifest is as before
        (manifest.DEFAULTS fills them in when comparing)."""
        p = self.placement
        extras: dict[str, Any] = {}
        if self.passes:
            extras["passes"] = [name for name in maps.PASSES if name in self.passes]
        if self.views != 1:
            extras["views"] = self.views
        if self.view_ring:
            extras["view_ring"] = True
        return {"seed": self.seed, "n_objects": list(p.n_objects), "width": p.width,
                "height": p.height, "min_pixels": self.min_pixels,
                "floor_extent": p.floor_extent, "prefix": p.prefix, "split": p.split,
                "formats": list(self.formats), **extras, "vocabulary": vocab.to_dict()}


@dataclass
class RunSummary:
    """What a run did: scenes rendered now, scenes kept from before, and per-stage seconds."""

    rendered: int = 0
    skipped: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)


def view_paths(out: Path, stem: str, view: int, passes: tuple[str, ...] = (),
               ) -> dict[str, Path]:
    """The PNGs of one view: image, mask, then each pass's (folders named as the passes)."""
    name = f"{view_stem(stem, view)}.png"
    folders = {"image": "images", "mask": "masks", **{p: p for p in maps.PASSES if p in passes}}
    return {kind: out / folder / name for kind, folder in folders.items()}


def scene_paths(out: Path, stem: str, formats: tuple[str, ...], passes: tuple[str, ...] = (),
                views: int = 1) -> dict[str, Path]:
    """Final paths of one scene's files; the scene JSON comes last (it marks completion).
    View 0's PNGs are keyed "image", "mask", "depth", ...; view k's "image.vk" and so on."""
    paths = {}
    for view in range(views):
        suffix = f".v{view}" if view else ""
        paths.update({kind + suffix: path
                      for kind, path in view_paths(out, stem, view, passes).items()})
    for fmt in formats:
        paths[f"text.{fmt}"] = out / "text" / f"{stem}{serialize.EXTENSIONS[fmt]}"
    paths["scene"] = out / "scenes" / f"{stem}.json"
    return paths


def write_view(out: Path, stem: str, view: View, result: Any, passes: tuple[str, ...] = (),
               ) -> None:
    """Write one view's image, mask and passes, each atomically; records the depth scale
    and normals in ``view``."""
    paths = view_paths(out, stem, view.index, passes)
    fsutil.write_bytes(paths["image"], png.encode(result.rgb))
    fsutil.write_bytes(paths["mask"], png.encode(result.mask))
    if "depth" in paths:
        view.depth_scale = maps.depth_scale(result.depth)
        fsutil.write_bytes(paths["depth"], png.encode_smooth16(
            maps.encode_depth(result.depth, view.depth_scale)))
    if "normals" in paths:
        fsutil.write_bytes(paths["normals"], png.encode(result.normals))
        view.normals = True


def write_scene(out: Path, scene: Scene, result: Any, formats: tuple[str, ...],
                timings: dict[str, float] | None = None, passes: tuple[str, ...] = (),
                views: Iterable[tuple[View, Any]] = ()) -> None:
    """Write one scene's image, mask, passes, further ``views`` (pairs of a View and its
    render, views 1.. in order, taken one at a time), text files and scene JSON, each
    atomically; the scene records its views when there are passes or several views."""
    timings = {} if timings is None else timings
    t = time.perf_counter()
    written = [own_view(scene)]
    write_view(out, scene.stem, written[0], result, passes)
    now = time.perf_counter()
    timings["png"] = timings.get("png", 0.0) + now - t
    for view, view_result in views:
        t = time.perf_counter()
        write_view(out, scene.stem, view, view_result, passes)
        written.append(view)
        now = time.perf_counter()
        timings["png"] = timings.get("png", 0.0) + now - t
    if passes or len(written) > 1:
        scene.views = written
    paths = scene_paths(out, scene.stem, formats)
    t, data = now, scene.to_dict()
    for fmt, text in serialize.dumps_each(data, formats).items():
        fsutil.write_text(paths[f"text.{fmt}"], text)
    now = time.perf_counter()
    timings["text"] = timings.get("text", 0.0) + now - t
    fsutil.write_json(paths["scene"], data, indent=2)
    timings["scene_json"] = timings.get("scene_json", 0.0) + time.perf_counter() - now


def scene_complete(out: Path, stem: str, formats: tuple[str, ...],
                   passes: tuple[str, ...] = (), views: int = 1) -> bool:
    """True if every file of the scene is there and whole, for every view and pass: PNGs
    with every chunk's CRC right, JSON that parses, texts not empty (--resume keeps it;
    anything else is made again)."""
    paths = scene_paths(out, stem, formats, passes, views)
    if not all(p.is_file() for p in paths.values()):
        return False
    if not all(png.intact(path) for path in paths.values() if path.suffix == ".png"):
        return False
    try:
        json.loads(paths["scene"].read_text(encoding="utf-8"))
        if "text.json" in paths:
            json.loads(paths["text.json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(paths[f"text.{fmt}"].stat().st_size > 0 for fmt in formats)


def make_scene_maker(options: RenderOptions) -> SceneMaker:
    """A worker's SceneMaker (pool setup): its own vocabulary and renderer."""
    return SceneMaker(load_vocabulary(options.properties), options.placement, options.backend,
                      options.min_pixels, options.max_visibility_tries,
                      normals="normals" in options.passes)


def render_one(options: RenderOptions, maker: SceneMaker, index: int) -> dict[str, float]:
    """Render and write scene ``index`` with all its views; returns its stage seconds."""
    maker.timings = {}
    scene, result = maker.make(index, options.seed)
    cameras = view_cameras(scene, options.views, options.placement, options.view_ring)
    more = (maker.view(scene, view, camera) for view, camera in enumerate(cameras) if view)
    write_scene(options.out, scene, result, options.formats, maker.timings, options.passes,
                more)
    return dict(maker.timings)


def validate_options(options: RenderOptions) -> Vocabulary:
    """Check every option before anything is written; returns the loaded vocabulary."""
    if options.count < 1:
        raise UsageError(f"--count must be at least 1, got {options.count}")
    if options.start_index < 0:
        raise UsageError(f"--start-index must be 0 or more, got {options.start_index}")
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    if options.min_pixels < 0:
        raise UsageError(f"--min-pixels must be 0 or more, got {options.min_pixels}")
    p = options.placement
    if not (16 <= p.width <= MAX_IMAGE_SIDE and 16 <= p.height <= MAX_IMAGE_SIDE):
        raise UsageError(f"--width and --height must be 16 to {MAX_IMAGE_SIDE} pixels, "
                         f"got {p.width}x{p.height}")
    lo, hi = p.n_objects
    if lo < 1 or hi < lo:
        raise UsageError(f"--n-objects must be N or A..B with 1 <= A <= B, got {lo}..{hi}")
    bad = [f for f in options.formats if f not in serialize.FORMATS]
    if bad:
        raise UsageError(f"--formats: unknown format {bad[0]!r}; use a comma-separated list "
                         f"of {','.join(serialize.FORMATS)}")
    bad = [name for name in options.passes if name not in maps.PASSES]
    if bad:
        raise UsageError(f"--passes: unknown pass {bad[0]!r}; use a comma-separated list of "
                         f"{','.join(maps.PASSES)}")
    if not 1 <= options.views <= MAX_VIEWS:
        raise UsageError(f"--views must be 1 to {MAX_VIEWS}, got {options.views}")
    if options.view_ring and options.views < 2:
        raise UsageError(f"--view-ring needs --views 2 or more, got {options.views}")
    for name, value in (("--split", p.split), ("--prefix", p.prefix)):
        if not value or any(c in value for c in "/\\\0"):
            raise UsageError(f"{name} must be a non-empty name without slashes, got {value!r}")
    fsutil.check_writable(options.out)
    per_view = (BYTES_PER_SCENE + sum(PASS_BYTES[name] for name in options.passes)
                ) * p.width * p.height / (480 * 320)
    per_scene = per_view * options.views + TEXT_BYTES * len(options.formats)
    fsutil.check_space(options.out, int(options.count * per_scene), f"{options.count:,} scenes")
    vocab = load_vocabulary(options.properties)
    check_capacity(hi, p, vocab, options.min_pixels)
    return vocab


def render_dataset(options: RenderOptions, progress: bool = False,
                   log: Callable[[str], None] | None = None) -> RunSummary:
    """Render scenes start_index .. start_index+count-1 into options.out (DESIGN 4.4);
    ``log`` hears what --overwrite removed and each worker that died and was replaced."""
    vocab = validate_options(options)
    # workers write here: a Ray worker on a joined cluster has another working directory
    options = replace(options, out=Path(options.out).absolute())
    options.executor.check()
    out = options.out
    p = options.placement
    indices = range(options.start_index, options.start_index + options.count)
    prepared = manifest.prepare(out, manifest.manifest("render", options.deciding(vocab)),
                               options.resume, options.overwrite, log)
    fsutil.remove_stale_temps(out)
    todo = [i for i in indices
            if not (options.resume and scene_complete(out, scene_stem(p.prefix, p.split, i),
                                                      options.formats, options.passes,
                                                      options.views))]
    summary = RunSummary(skipped=len(indices) - len(todo))
    prepared.created += fsutil.make_dirs(out, SUBDIRS + tuple(
        name for name in maps.PASSES if name in options.passes))
    bar = _progress_bar(len(todo), progress)
    try:
        with make_pool(options.executor, options.workers,
                       partial(make_scene_maker, options), log) as workers:
            for timings in workers.map(partial(render_one, options), todo):
                summary.rendered += 1
                for stage, secs in timings.items():
                    summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + secs
                bar.update(1)
    except BaseException:
        prepared.discard_if_unused()  # a run that wrote nothing leaves nothing behind
        raise
    finally:
        bar.close()
    fsutil.remove_stale_temps(out)  # writers killed just before this run started are gone now
    fsutil.sync_tree(out)  # every scene is on disk before the index that lists them
    write_combined(options, indices)
    return summary


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="scene", disable=not enabled, dynamic_ncols=True)


def write_combined(options: RenderOptions, indices: range) -> None:
    """CLEVR's scenes.json, streamed from the per-scene files in index order."""
    p = options.placement
    scenes_dir = options.out / "scenes"
    info = {"split": p.split, "version": f"clevrlite {__version__}", "seed": options.seed,
            "count": len(indices), "start_index": indices.start,
            "license": "Creative Commons Attribution (CC-BY 4.0)"}

    def lines() -> Iterator[str]:
        yield '{"info": ' + json.dumps(info, ensure_ascii=False) + ', "scenes": ['
        for k, i in enumerate(indices):
            path = scenes_dir / f"{scene_stem(p.prefix, p.split, i)}.json"
            data = json.loads(path.read_text(encoding="utf-8"))
            yield ("," if k else "") + json.dumps(data, ensure_ascii=False)
        yield "]}"

    fsutil.write_lines(options.out / "scenes.json", lines())
