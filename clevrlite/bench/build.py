"""Build a benchmark directory (DESIGN 5 and 8): scenes, images, instances, stats.

One scene per instance, made by construction for that instance by its suite (a
clevrlite.bench.suite.Suite, found in clevrlite.bench.registry). The build runs in two phases on the worker pool: first the
example scenes that worked examples come from (a few per object count, unless examples come
from the question's own scene), then the instances, each written as a small part file after
its scene's files. The jsonl files, stats.json and MATE's files are rebuilt from the parts at
the end, and the suite's guarantees checked again on the written files, so a killed build
resumes (--resume) to the same bytes as an unbroken one.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

from clevrlite import __version__, serialize
from clevrlite.bench.mate_files import write_mate_files
from clevrlite.bench.options import BenchmarkOptions
from clevrlite.bench.plan import InstanceSpec
from clevrlite.bench.presets import get_preset
from clevrlite.bench.roles import COORDS, Roles
from clevrlite.bench.shots import ExampleScene
from clevrlite.bench.registry import get_suite
from clevrlite.bench.suite import BuildContext
from clevrlite.bench.validity import require
from clevrlite.errors import UsageError
from clevrlite.placement import PlacementOptions, check_capacity
from clevrlite import fsutil
from clevrlite.runs import manifest
from clevrlite.runs.executors import make_pool
from clevrlite import png
from clevrlite.pipeline import SceneMaker
from clevrlite.scene import scene_stem
from clevrlite.vocab import Vocabulary, load_vocabulary

PARTS = ".parts"  # one finished instance per file, for --resume
EXAMPLE_SPLIT = "example"  # file stems of example scenes: {prefix}_example_{index}
EXAMPLE_STREAM = 0xE8A  # their random stream, apart from the instances' scenes
EXAMPLES_PER_COUNT = 16  # at most; fewer for small benchmarks (one per 16 instances, >= 2)
# Instances one build makes per split: its plan holds every instance (about 150 bytes each,
# 0.6 GB for two splits of a million) and each is a scene of its own on disk.
MAX_SIZE = 1_000_000
# Bytes a rendered instance takes (image, mask, scene JSON, line) at 480x320; the image and
# mask grow with the pixels.
BYTES_PER_INSTANCE = 60_000


@dataclass(frozen=True)
class ExampleSpec:
    """Example scene ``rank`` of those with ``n_objects`` objects."""

    n_objects: int
    rank: int

    @property
    def index(self) -> int:
        return self.n_objects * 1000 + self.rank


def validate(options: BenchmarkOptions) -> Vocabulary:
    """Check options before anything is written; returns the vocabulary."""
    suite = get_suite(options.suite)
    options.executor.check()
    if options.size < 1:
        raise UsageError(f"--size must be at least 1, got {options.size}")
    if options.unimodal_size is not None and options.unimodal_size < 0:
        raise UsageError(f"--unimodal-size must be 0 or more, got {options.unimodal_size}")
    for flag, size in (("--size", options.size), ("--unimodal-size", options.unimodal_size)):
        if size is not None and size > MAX_SIZE:
            raise UsageError(f"{flag} {size} is more than one build makes (at most "
                             f"{MAX_SIZE:,} instances per split); build several benchmarks "
                             f"with different --seed values")
    if options.shots not in (0, 1, 2):
        raise UsageError(f"--shots must be 0, 1 or 2, got {options.shots}")
    if options.coords not in COORDS:
        raise UsageError(f"--coords must be one of {', '.join(COORDS)}, got {options.coords!r}")
    if options.fmt not in serialize.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(serialize.FORMATS)}")
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    lo, hi = options.n_objects
    if lo < 2 or hi < lo:
        raise UsageError(f"--n-objects must be N or A..B with 2 <= A <= B (a pointer needs "
                         f"other objects to tell apart), got {lo}..{hi}")
    if not suite.takes_mate_options:
        for flag, given in (("--mate-compat", options.mate_compat),
                            ("--preset", options.preset is not None),
                            ("--same-scene-shots", options.same_scene_shots)):
            if given:
                raise UsageError(f"--suite {suite.name} cannot take {flag}: it belongs to the "
                                 f"MATE suite (same-scene examples would also reveal which "
                                 f"objects are absent); drop {flag}")
    preset = get_preset(options.preset)
    if preset is not None:
        for name, why in preset.refuses.items():
            if getattr(options, name):
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"--preset {preset.name} cannot take {flag}: {why}; "
                                 f"drop {flag} or the preset")
    fsutil.check_writable(options.out)
    total = sum(suite.split_size(s, options) for s in suite.splits)
    fsutil.check_space(options.out, int(total * BYTES_PER_INSTANCE * options.width
                                        * options.height / (480 * 320)),
                       f"{total:,} instances")
    vocab = _vocabulary(options)
    check_capacity(hi + suite.max_extra_objects,
                   PlacementOptions(width=options.width, height=options.height), vocab,
                   options.min_pixels, suite.max_extra_objects)
    if preset is not None:
        preset.check_vocabulary(len(vocab.colors), len(vocab.shapes))
    return vocab


def _vocabulary(options: BenchmarkOptions) -> Vocabulary:
    preset = get_preset(options.preset)
    overlays = [preset.vocabulary] if preset is not None and preset.vocabulary else []
    return load_vocabulary(options.properties, overlays)


def plan_of(options: BenchmarkOptions, roles: Roles) -> list[InstanceSpec]:
    """The instances of a build: its suite's splits, balanced (Suite.plan)."""
    return get_suite(options.suite).plan(options, roles)


def example_plan(options: BenchmarkOptions, plan: list[InstanceSpec]) -> list[ExampleSpec]:
    """The example scenes a build needs: per object count, one per 16 of its instances,
    at least 2 and at most EXAMPLES_PER_COUNT (none when examples are same-scene)."""
    if not options.other_scene_shots:
        return []
    counts = Counter(spec.n_objects for spec in plan)
    return [ExampleSpec(n, rank) for n in sorted(counts)
            for rank in range(min(EXAMPLES_PER_COUNT, max(2, math.ceil(counts[n] / 16))))]


def build_benchmark(options: BenchmarkOptions, progress: bool = False,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the benchmark into options.out; returns the stats written to stats.json.
    ``log`` hears what --overwrite removed and each worker that died and was replaced."""
    vocab = validate(options)
    # workers write here: a Ray worker on a joined cluster has another working directory
    options = replace(options, out=Path(options.out).absolute())
    suite = get_suite(options.suite)
    plan = plan_of(options, suite.roles(vocab))
    examples = example_plan(options, plan)
    stems = {n: tuple(_example_stem(options, e) for e in examples if e.n_objects == n)
             for n in {e.n_objects for e in examples}}
    out = options.out
    prepared = manifest.prepare(out, manifest.manifest("benchmark",
                                                      options.deciding(vocab.to_dict())),
                               options.resume, options.overwrite, log)
    fsutil.remove_stale_temps(out)
    prepared.created += fsutil.make_dirs(out, ("images", "masks", "scenes", PARTS))
    todo_examples = [e for e in examples if not (
        options.resume and _kept(out, _example_stem(options, e), _example_part(
            out, _example_stem(options, e))))]
    todo = [s for s in plan if not (options.resume and _kept(
        out, scene_stem(options.prefix, "bench", s.index), _part_path(out, s)))]
    from tqdm import tqdm

    try:
        with tqdm(total=len(todo_examples) + len(todo), unit="instance",
                  disable=not progress) as bar, \
                make_pool(options.executor, options.workers,
                          partial(_make_worker, options), log) as workers:
            for job, items in ((partial(build_example, options), todo_examples),
                               (partial(build_instance, options, stems), todo)):
                for _ in workers.map(job, items):  # the instances need every example
                    bar.update(1)
    except BaseException:
        prepared.discard_if_unused()  # a build that wrote nothing leaves nothing behind
        raise
    fsutil.remove_stale_temps(out)  # writers killed just before this build started are gone now
    fsutil.sync_tree(out)  # every scene and part is on disk before the files that list them
    return _write_outputs(options, plan, vocab, len(examples))


class _Worker:
    """A build worker's state: its scene maker and the example scenes it has read."""

    def __init__(self, options: BenchmarkOptions) -> None:
        vocab = _vocabulary(options)
        placement = PlacementOptions(width=options.width, height=options.height,
                                     split="bench", prefix=options.prefix)
        self.maker = SceneMaker(vocab, placement, options.backend, options.min_pixels)
        self.suite = get_suite(options.suite)
        self.context = BuildContext(options, vocab, self.suite.roles(vocab))
        self._examples: dict[str, ExampleScene] = {}

    def example(self, out: Path, stem: str) -> ExampleScene:
        """Example scene ``stem``, read from its files once."""
        if stem not in self._examples:
            data = json.loads((out / "scenes" / f"{stem}.json").read_text(encoding="utf-8"))
            part = json.loads(_example_part(out, stem).read_text(encoding="utf-8"))
            self._examples[stem] = self.suite.example_scene(stem, data, part["kept"],
                                                            self.context)
        return self._examples[stem]

    def close(self) -> None:
        self.maker.close()


def _make_worker(options: BenchmarkOptions) -> _Worker:
    return _Worker(options)


def _kept(out: Path, stem: str, part: Path) -> bool:
    """Whether --resume keeps a scene and its part file: both JSON files parse and its image
    and mask, if it was rendered, are whole PNGs (a damaged one is made again)."""
    try:
        json.loads(part.read_text(encoding="utf-8"))
        json.loads((out / "scenes" / f"{stem}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    image, mask = out / "images" / f"{stem}.png", out / "masks" / f"{stem}.png"
    if not image.exists() and not mask.exists():
        return True  # a text-only scene
    return png.intact(image) and png.intact(mask)


def _part_path(out: Path, spec: InstanceSpec) -> Path:
    return out / PARTS / f"{spec.id}.json"


def _example_part(out: Path, stem: str) -> Path:
    return out / PARTS / f"{stem}.json"


def _example_stem(options: BenchmarkOptions, spec: ExampleSpec) -> str:
    return scene_stem(options.prefix, EXAMPLE_SPLIT, spec.index)


def _write_scene(out: Path, scene: Any, result: Any) -> dict[str, Any]:
    """A built scene's image and mask (if rendered), then its scene JSON; returns the JSON."""
    if result is not None:
        fsutil.write_bytes(out / "images" / f"{scene.stem}.png", png.encode(result.rgb))
        fsutil.write_bytes(out / "masks" / f"{scene.stem}.png", png.encode(result.mask))
    data = scene.to_dict()
    fsutil.write_json(out / "scenes" / f"{scene.stem}.json", data, indent=2)
    return data


def build_example(options: BenchmarkOptions, worker: _Worker, spec: ExampleSpec) -> str:
    """Make, render and write one example scene and what its suite keeps of it."""
    kept: dict[str, Any] = {}

    def constrain(objects, rng) -> None:
        kept["kept"] = worker.suite.construct_example(objects, rng, worker.context)

    total = spec.n_objects + worker.suite.example_extra
    placement = replace(worker.maker.placement, n_objects=(total, total), split=EXAMPLE_SPLIT,
                        turned=worker.suite.turns_world)
    scene, result = worker.maker.make(spec.index, options.seed, constrain=constrain,
                                      placement=placement, stream=EXAMPLE_STREAM)
    _write_scene(options.out, scene, result)
    fsutil.write_json(_example_part(options.out, scene.stem), kept)
    return scene.stem


def build_instance(options: BenchmarkOptions, stems: dict[int, tuple[str, ...]],
                   worker: _Worker, spec: InstanceSpec) -> str:
    """Make, render and write one instance's scene, then its part file; returns its id."""
    chosen: dict[str, Any] = {}

    def constrain(objects, rng) -> None:
        chosen["chosen"] = worker.suite.construct(spec, objects, rng, worker.context)

    total = spec.n_objects + worker.suite.extra_objects(spec, options.seed)
    placement = replace(worker.maker.placement, n_objects=(total, total),
                        turned=worker.suite.turns_world)
    scene, result = worker.maker.make(spec.index, options.seed, constrain=constrain,
                                      placement=placement, render=spec.task != "data2data")
    data = _write_scene(options.out, scene, result)
    examples = [worker.example(options.out, stem) for stem in stems.get(spec.n_objects, ())]
    record = worker.suite.record(worker.context, spec, data, chosen["chosen"],
                                 result is not None, examples)
    fsutil.write_json(_part_path(options.out, spec), record)
    return spec.id


def _parts(out: Path, plan: list[InstanceSpec], split: str) -> Iterator[dict[str, Any]]:
    """The part records of one split, read back in plan order."""
    for spec in plan:
        if spec.split == split:
            yield json.loads(_part_path(out, spec).read_text(encoding="utf-8"))


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _audit(options: BenchmarkOptions, suite: Any, vocab: Vocabulary) -> dict[str, Any]:
    """The validity audit of the split files just written (clevrlite.scoring.audit), by task
    and by pointer and target."""
    from clevrlite.bench.reader import json_lines
    from clevrlite.scoring.audit import audit_instances
    from clevrlite.scoring.blind import Knowledge

    instances = (obj for split in suite.splits
                 for _, obj in json_lines(options.out / split.filename))
    knowledge = Knowledge(vocab.to_dict(), options.width, options.height)
    return audit_instances(suite.name, instances, knowledge).to_dict(cells=False)


def _write_outputs(options: BenchmarkOptions, plan: list[InstanceSpec], vocab: Vocabulary,
                   example_scenes: int) -> dict[str, Any]:
    """The split files (in index order, streamed from the parts), MATE's files if asked, the
    suite's validity check, and stats.json."""
    suite = get_suite(options.suite)
    stats: dict[str, Any] = {
        "version": f"clevrlite {__version__}", "suite": suite.name, "preset": options.preset,
        "seed": options.seed, "precision": options.precision.label, "format": options.fmt,
        "coords": options.coords,
        "shots": options.shots,
        "shot_source": "same_scene" if options.same_scene_shots else "other_scenes",
        "example_scenes": example_scenes, "cot": options.cot,
        "balance_linking": options.balance_linking, "n_objects": list(options.n_objects),
        "width": options.width, "height": options.height,
        "splits": {s.name: s.filename for s in suite.splits},
        "counts": {}, "by_cell": {}, "by_min_linking_size": {}, "vocabulary": vocab.to_dict()}
    for split in suite.splits:
        cells: Counter = Counter()
        linking: Counter = Counter()

        def lines(split=split.name, cells=cells, linking=linking) -> Iterator[str]:
            for record in _parts(options.out, plan, split):
                cells[suite.cell(record)] += 1
                if "min_linking_size" in record:
                    size = record["min_linking_size"]
                    linking["coords" if size is None else str(size)] += 1
                yield json.dumps(_public(record), ensure_ascii=False)

        fsutil.write_lines(options.out / split.filename, lines())
        stats["counts"][split.name] = sum(s.split == split.name for s in plan)
        stats["by_cell"][split.name] = dict(sorted(cells.items()))
        stats["by_min_linking_size"][split.name] = dict(sorted(linking.items()))
    require(suite.check(options, (r for s in suite.splits
                                  for r in _parts(options.out, plan, s.name))), suite.name)
    if options.audit:
        stats["audit"] = _audit(options, suite, vocab)
    if options.mate_compat:
        write_mate_files(options.out, {s.name: _parts(options.out, plan, s.name)
                                       for s in suite.splits}, Roles.for_vocab(vocab),
                         options.fmt, options.precision, (options.width, options.height),
                         options.coords)
    fsutil.write_json(options.out / "stats.json", stats, indent=2)
    return stats


__all__ = ["BenchmarkOptions", "ExampleSpec", "build_benchmark", "example_plan", "plan_of",
           "validate"]
