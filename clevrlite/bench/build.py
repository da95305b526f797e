"""Build a MATE-style benchmark directory (DESIGN 5): scenes, images, instances, stats.

One scene per instance, made by construction for that instance. The build runs in two phases
on the worker pool: first the example scenes that worked examples come from (a few per object
count, unless examples come from the question's own scene), then the instances, each written
as a small part file after its scene's files. The jsonl files, stats.json and MATE's files are
rebuilt from the parts at the end, so a killed build resumes (--resume) to the same bytes as
an unbroken one.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Iterator

from clevrlite import __version__, serialize
from clevrlite.bench.construct import construct, construct_example
from clevrlite.bench.mate import instance_record
from clevrlite.bench.mate_files import write_mate_files
from clevrlite.bench.options import BenchmarkOptions
from clevrlite.bench.plan import InstanceSpec, make_plan
from clevrlite.bench.presets import get_preset
from clevrlite.bench.roles import Roles, bench_view
from clevrlite.errors import UsageError
from clevrlite.placement import PlacementOptions
from clevrlite.runs import fsutil, pool
from clevrlite.runs.dataset import SceneMaker, encode_png
from clevrlite.scene import scene_stem
from clevrlite.vocab import Vocabulary, load_vocabulary

PARTS = ".parts"  # one finished instance per file, for --resume
SPLIT_FILES = {"cross_modal": "cross_modal.jsonl", "unimodal": "unimodal.jsonl"}
EXAMPLE_SPLIT = "example"  # file stems of example scenes: {prefix}_example_{index}
EXAMPLE_STREAM = 0xE8A  # their random stream, apart from the instances' scenes
EXAMPLES_PER_COUNT = 16  # at most; fewer for small benchmarks (one per 16 instances, >= 2)


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
    if options.size < 1:
        raise UsageError(f"--size must be at least 1, got {options.size}")
    if options.unimodal_size is not None and options.unimodal_size < 0:
        raise UsageError(f"--unimodal-size must be 0 or more, got {options.unimodal_size}")
    if options.shots not in (0, 1, 2):
        raise UsageError(f"--shots must be 0, 1 or 2, got {options.shots}")
    if options.fmt not in serialize.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(serialize.FORMATS)}")
    if options.precision != "full" and options.precision not in range(0, 7):
        raise UsageError(f"--precision must be 0-6 or full, got {options.precision}")
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    lo, hi = options.n_objects
    if lo < 2 or hi < lo:
        raise UsageError(f"--n-objects must be N or A..B with 2 <= A <= B (a pointer needs "
                         f"other objects to tell apart), got {lo}..{hi}")
    preset = get_preset(options.preset)
    if preset is not None:
        for name, why in preset.refuses.items():
            if getattr(options, name):
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"--preset {preset.name} cannot take {flag}: {why}; "
                                 f"drop {flag} or the preset")
    fsutil.check_writable(options.out)
    vocab = _vocabulary(options)
    if preset is not None and preset.name == "mate" and (len(vocab.colors) < 4
                                                         or len(vocab.shapes) < 2):
        raise UsageError("--preset mate needs at least 4 colours and 2 shapes for its unique "
                         "colours and shape; add some with --properties")
    return vocab


def _vocabulary(options: BenchmarkOptions) -> Vocabulary:
    preset = get_preset(options.preset)
    overlays = [preset.vocabulary] if preset is not None and preset.vocabulary else []
    return load_vocabulary(options.properties, overlays)


def example_plan(options: BenchmarkOptions, plan: list[InstanceSpec]) -> list[ExampleSpec]:
    """The example scenes a build needs: per object count, one per 16 of its instances,
    at least 2 and at most EXAMPLES_PER_COUNT (none when examples are same-scene)."""
    if not options.other_scene_shots:
        return []
    counts = Counter(spec.n_objects for spec in plan)
    return [ExampleSpec(n, rank) for n in sorted(counts)
            for rank in range(min(EXAMPLES_PER_COUNT, max(2, math.ceil(counts[n] / 16))))]


def build_benchmark(options: BenchmarkOptions, progress: bool = False) -> dict[str, Any]:
    """Build the benchmark into options.out; returns the stats written to stats.json."""
    vocab = validate(options)
    roles = Roles.for_vocab(vocab)
    unimodal = options.size if options.unimodal_size is None else options.unimodal_size
    plan = make_plan(roles, options.n_objects, options.size, unimodal, options.seed,
                     options.balance_linking, options.examples_needed)
    examples = example_plan(options, plan)
    stems = {n: tuple(_example_stem(options, e) for e in examples if e.n_objects == n)
             for n in {e.n_objects for e in examples}}
    out = options.out
    fsutil.remove_stale_temps(out)
    created = fsutil.make_dirs(out, ("images", "masks", "scenes", PARTS))
    todo_examples = [e for e in examples if not (
        options.resume and (out / "scenes" / f"{_example_stem(options, e)}.json").is_file())]
    todo = [s for s in plan if not (options.resume and _part_path(out, s).is_file())]
    from tqdm import tqdm

    try:
        with tqdm(total=len(todo_examples) + len(todo), unit="instance",
                  disable=not progress) as bar:
            for job, items in ((partial(build_example, options), todo_examples),
                               (partial(build_instance, options, stems), todo)):
                for _ in pool.run(job, items, options.workers, partial(_make_worker, options)):
                    bar.update(1)
    except BaseException:
        fsutil.remove_empty_dirs(created)  # a build that wrote nothing leaves nothing behind
        raise
    fsutil.remove_stale_temps(out)  # writers killed just before this build started are gone now
    return _write_outputs(options, plan, vocab, len(examples))


class _Worker:
    """A build worker's state: its scene maker and the example scenes it has read."""

    def __init__(self, options: BenchmarkOptions) -> None:
        vocab = _vocabulary(options)
        placement = PlacementOptions(width=options.width, height=options.height,
                                     split="bench", prefix=options.prefix)
        self.maker = SceneMaker(vocab, placement, options.backend, options.min_pixels)
        self.vocab, self.roles = vocab, Roles.for_vocab(vocab)
        self.rule = getattr(get_preset(options.preset), "rule", None)
        self._examples: dict[str, list[dict]] = {}

    def example_views(self, out: Path, stem: str) -> list[dict]:
        """The object views of example scene ``stem``, read from its scene file once."""
        if stem not in self._examples:
            data = json.loads((out / "scenes" / f"{stem}.json").read_text(encoding="utf-8"))
            self._examples[stem] = [bench_view(o) for o in data["objects"]]
        return self._examples[stem]

    def close(self) -> None:
        self.maker.close()


def _make_worker(options: BenchmarkOptions) -> _Worker:
    return _Worker(options)


def _part_path(out: Path, spec: InstanceSpec) -> Path:
    return out / PARTS / f"{spec.id}.json"


def _example_stem(options: BenchmarkOptions, spec: ExampleSpec) -> str:
    return scene_stem(options.prefix, EXAMPLE_SPLIT, spec.index)


def _write_scene(out: Path, scene: Any, result: Any) -> dict[str, Any]:
    """A built scene's image and mask (if rendered), then its scene JSON; returns the JSON."""
    if result is not None:
        fsutil.write_bytes(out / "images" / f"{scene.stem}.png", encode_png(result.rgb))
        fsutil.write_bytes(out / "masks" / f"{scene.stem}.png", encode_png(result.mask))
    data = scene.to_dict()
    fsutil.write_json(out / "scenes" / f"{scene.stem}.json", data, indent=2)
    return data


def build_example(options: BenchmarkOptions, worker: _Worker, spec: ExampleSpec) -> str:
    """Make, render and write one example scene; returns its stem."""
    def constrain(objects, rng) -> None:
        construct_example(objects, rng, worker.vocab, worker.roles, options.solver_precision)

    placement = replace(worker.maker.placement, n_objects=(spec.n_objects, spec.n_objects),
                        split=EXAMPLE_SPLIT)
    scene, result = worker.maker.make(spec.index, options.seed, constrain=constrain,
                                      placement=placement, stream=EXAMPLE_STREAM)
    _write_scene(options.out, scene, result)
    return scene.stem


def build_instance(options: BenchmarkOptions, stems: dict[int, tuple[str, ...]],
                   worker: _Worker, spec: InstanceSpec) -> str:
    """Make, render and write one instance's scene, then its part file; returns its id."""
    chosen: dict[str, int] = {}

    def constrain(objects, rng) -> None:
        chosen["target"] = construct(spec, objects, rng, worker.vocab, worker.roles,
                                     options.solver_precision, options.examples_needed,
                                     worker.rule)

    placement = replace(worker.maker.placement, n_objects=(spec.n_objects, spec.n_objects))
    scene, result = worker.maker.make(spec.index, options.seed, constrain=constrain,
                                      placement=placement, render=spec.task != "data2data")
    data = _write_scene(options.out, scene, result)
    examples = [(stem, worker.example_views(options.out, stem))
                for stem in stems.get(spec.n_objects, ())]
    record = instance_record(options, spec, data, chosen["target"], worker.vocab,
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


def _write_outputs(options: BenchmarkOptions, plan: list[InstanceSpec], vocab: Vocabulary,
                   example_scenes: int) -> dict[str, Any]:
    """The two jsonl files (in index order, streamed from the parts), MATE's files if asked,
    and stats.json."""
    stats: dict[str, Any] = {
        "version": f"clevrlite {__version__}", "suite": "mate", "preset": options.preset,
        "seed": options.seed, "precision": options.precision, "format": options.fmt,
        "shots": options.shots,
        "shot_source": "same_scene" if options.same_scene_shots else "other_scenes",
        "example_scenes": example_scenes, "cot": options.cot,
        "balance_linking": options.balance_linking, "n_objects": list(options.n_objects),
        "counts": {}, "by_cell": {}, "by_min_linking_size": {}, "vocabulary": vocab.to_dict()}
    for split, filename in SPLIT_FILES.items():
        specs = [s for s in plan if s.split == split]
        cells: Counter = Counter()
        linking: Counter = Counter()

        def lines(split=split, cells=cells, linking=linking) -> Iterator[str]:
            for record in _parts(options.out, plan, split):
                size = record["min_linking_size"]
                cells[f"{record['object_count']}|{record['task']}|"
                      f"{record['pointer_attribute']}->{record['target_attribute']}"] += 1
                linking["coords" if size is None else str(size)] += 1
                yield json.dumps(_public(record), ensure_ascii=False)

        fsutil.write_lines(options.out / filename, lines())
        stats["counts"][split] = len(specs)
        stats["by_cell"][split] = dict(sorted(cells.items()))
        stats["by_min_linking_size"][split] = dict(sorted(linking.items()))
    if options.mate_compat:
        write_mate_files(options.out, {split: _parts(options.out, plan, split)
                                       for split in SPLIT_FILES}, Roles.for_vocab(vocab),
                         options.fmt, options.precision, (options.width, options.height))
    fsutil.write_json(options.out / "stats.json", stats, indent=2)
    return stats


__all__ = ["BenchmarkOptions", "ExampleSpec", "build_benchmark", "example_plan",
           "instance_record", "validate"]
