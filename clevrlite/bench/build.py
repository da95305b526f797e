"""Build a MATE-style benchmark directory (DESIGN 5): scenes, images, instances, stats.

One scene per instance, made by construction for that instance. Each instance is written as
a small part file after its scene's files; the jsonl files and stats.json are rebuilt from the
parts at the end, so a killed build resumes (--resume) to the same bytes as an unbroken one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from clevrlite import __version__, serialize
from clevrlite.runs import fsutil, pool
from clevrlite.bench.construct import construct
from clevrlite.bench.mate import SHOTS_NEEDED, write_mate_files
from clevrlite.bench.plan import InstanceSpec, make_plan
from clevrlite.bench.prompts import (build_prompt, choose_shots, question, rationale,
                                     shot_candidates)
from clevrlite.bench.roles import Roles, bench_view, linking_attributes, value_count
from clevrlite.runs.dataset import SceneMaker, encode_png
from clevrlite.errors import UsageError
from clevrlite.placement import PlacementOptions
from clevrlite.serialize import rounded
from clevrlite.solver import minimal_linking_sets
from clevrlite.vocab import Vocabulary, load_vocabulary

PARTS = ".parts"  # one finished instance per file, for --resume
SPLIT_FILES = {"cross_modal": "cross_modal.jsonl", "unimodal": "unimodal.jsonl"}


@dataclass(frozen=True)
class BenchmarkOptions:
    """Everything a benchmark build needs; the CLI maps its flags onto these."""

    out: Path = Path("benchmark")
    size: int = 5500
    unimodal_size: int | None = None  # None: the same as size
    seed: int = 117
    n_objects: tuple[int, int] = (3, 10)
    shots: int = 2
    cot: bool = False
    fmt: str = "json"
    precision: int | str = 2
    balance_linking: bool = False
    workers: int = 1
    backend: str = "auto"
    properties: str | None = None
    resume: bool = False
    width: int = 480
    height: int = 320
    min_pixels: int = 200
    prefix: str = "CLEVRLITE"
    mate_compat: bool = False

    @property
    def solver_precision(self) -> int | None:
        return None if self.precision == "full" else int(self.precision)

    @property
    def examples_needed(self) -> int:
        """Worked examples each scene must offer: MATE's files need two."""
        return max(self.shots, SHOTS_NEEDED if self.mate_compat else 0)


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
    fsutil.check_writable(options.out)
    return load_vocabulary(options.properties)


def build_benchmark(options: BenchmarkOptions, progress: bool = False) -> dict[str, Any]:
    """Build the benchmark into options.out; returns the stats written to stats.json."""
    vocab = validate(options)
    roles = Roles.for_vocab(vocab)
    unimodal = options.size if options.unimodal_size is None else options.unimodal_size
    plan = make_plan(roles, options.n_objects, options.size, unimodal, options.seed,
                     options.balance_linking, options.shots)
    out = options.out
    fsutil.remove_stale_temps(out)
    created = fsutil.make_dirs(out, ("images", "masks", "scenes", PARTS))
    todo = [s for s in plan if not (options.resume and _part_path(out, s).is_file())]
    from tqdm import tqdm

    try:
        with tqdm(total=len(todo), unit="instance", disable=not progress) as bar:
            for _ in pool.run(partial(build_instance, options), todo, options.workers,
                              partial(_make_worker, options)):
                bar.update(1)
    except BaseException:
        fsutil.remove_empty_dirs(created)  # a build that wrote nothing leaves nothing behind
        raise
    fsutil.remove_stale_temps(out)  # writers killed just before this build started are gone now
    return _write_outputs(options, plan, vocab)


def _make_worker(options: BenchmarkOptions) -> SceneMaker:
    vocab = load_vocabulary(options.properties)
    placement = PlacementOptions(width=options.width, height=options.height,
                                 split="bench", prefix=options.prefix)
    return SceneMaker(vocab, placement, options.backend, options.min_pixels)


def _part_path(out: Path, spec: InstanceSpec) -> Path:
    return out / PARTS / f"{spec.id}.json"


def build_instance(options: BenchmarkOptions, maker: SceneMaker, spec: InstanceSpec) -> str:
    """Make, render and write one instance's scene, then its part file; returns its id."""
    vocab, roles, precision = maker.vocab, Roles.for_vocab(maker.vocab), options.solver_precision
    chosen: dict[str, int] = {}

    def constrain(objects, rng) -> None:
        chosen["target"] = construct(spec, objects, rng, vocab, roles, precision,
                                     options.examples_needed)

    placement = replace(maker.placement, n_objects=(spec.n_objects, spec.n_objects))
    scene, result = maker.make(spec.index, options.seed, constrain=constrain,
                               placement=placement, render=spec.task != "data2data")
    if result is not None:
        fsutil.write_bytes(options.out / "images" / f"{scene.stem}.png", encode_png(result.rgb))
        fsutil.write_bytes(options.out / "masks" / f"{scene.stem}.png", encode_png(result.mask))
    data = scene.to_dict()
    fsutil.write_json(options.out / "scenes" / f"{scene.stem}.json", data, indent=2)
    record = instance_record(options, spec, data, chosen["target"], vocab, result is not None)
    fsutil.write_json(_part_path(options.out, spec), record)
    return spec.id


def instance_record(options: BenchmarkOptions, spec: InstanceSpec, data: dict[str, Any],
                    target: int, vocab: Vocabulary, has_image: bool) -> dict[str, Any]:
    """One jsonl line (DESIGN 5) for the instance whose scene JSON is ``data``."""
    precision, shown_precision = options.solver_precision, options.precision
    roles, size_labels = Roles.for_vocab(vocab), {v: k for k, v in vocab.sizes.items()}
    views = [bench_view(o) for o in data["objects"]]
    obj = views[target]
    shown = roles.shown_in_text(spec.task, spec.pointer, spec.target)
    scene_text = (serialize.dumps({"objects": views}, options.fmt, attributes=list(shown),
                                  precision=shown_precision) if shown else None)
    links = minimal_linking_sets(views, target, linking_attributes(spec.pointer, spec.target),
                                 precision=precision)
    rng = np.random.default_rng(np.random.SeedSequence([options.seed, spec.index, 1]))
    hidden = {"img2data": spec.pointer, "data2img": spec.target}.get(spec.task)
    shots = choose_shots(shot_candidates(views, target, spec.task, spec.pointer, spec.target,
                                         roles, precision), options.examples_needed, rng,
                         spec.target, value_count(vocab, spec.target)) or []
    shot_items = [{
        "object": views[s.object_index]["name"], "pointer_attribute": s.pointer,
        "target_attribute": s.target,
        "question": question(s.pointer, rounded(views[s.object_index][s.pointer],
                                                shown_precision), s.target),
        "answer": rounded(views[s.object_index][s.target], shown_precision),
        "rationale": rationale(spec.task, views, s.object_index, s.pointer, s.target,
                               precision, size_labels, hidden),
    } for s in shots]
    pointer_value = rounded(obj[spec.pointer], shown_precision)
    answer = rounded(obj[spec.target], shown_precision)
    text = question(spec.pointer, pointer_value, spec.target)
    fmt = options.fmt if scene_text is not None else None
    return {
        "id": spec.id,
        "scene_id": data["image_filename"].rsplit(".", 1)[0],
        "image": f"images/{data['image_filename']}" if has_image else None,
        "task": spec.task,
        "object_count": len(views),
        "pointer_attribute": spec.pointer,
        "pointer_value": pointer_value,
        "target_attribute": spec.target,
        "target_object": obj["name"],
        "answer": answer,
        "scene_text": scene_text,
        "scene_format": fmt,
        "question": text,
        "prompt": build_prompt(task=spec.task, scene_text=scene_text, fmt=options.fmt,
                               pointer=spec.pointer, target=spec.target, question_text=text,
                               example_answer=answer, shots=shot_items[:options.shots],
                               cot=options.cot),
        "linking_sets": [list(s) for s in links],
        "min_linking_size": len(links[0]) if links else None,
        "precision": shown_precision,
        "shots": shot_items,
        "rationale": (rationale(spec.task, views, target, spec.pointer, spec.target,
                                precision, size_labels) if options.cot else None),
    }


def _records(out: Path, plan: list[InstanceSpec], split: str) -> Iterator[dict[str, Any]]:
    """The instance records of one split, read back from their part files in plan order."""
    for spec in plan:
        if spec.split == split:
            yield json.loads(_part_path(out, spec).read_text(encoding="utf-8"))


def _write_outputs(options: BenchmarkOptions, plan: list[InstanceSpec],
                   vocab: Vocabulary) -> dict[str, Any]:
    """The two jsonl files (in index order, streamed from the parts) and stats.json."""
    stats: dict[str, Any] = {
        "version": f"clevrlite {__version__}", "seed": options.seed,
        "precision": options.precision, "format": options.fmt, "shots": options.shots,
        "cot": options.cot, "balance_linking": options.balance_linking,
        "n_objects": list(options.n_objects), "counts": {}, "by_cell": {},
        "by_min_linking_size": {}, "vocabulary": vocab.to_dict()}
    for split, filename in SPLIT_FILES.items():
        specs = [s for s in plan if s.split == split]
        cells: Counter = Counter()
        linking: Counter = Counter()

        def lines(specs=specs, cells=cells, linking=linking) -> Iterator[str]:
            for spec in specs:
                text = _part_path(options.out, spec).read_text(encoding="utf-8").strip()
                size = json.loads(text)["min_linking_size"]
                cells[spec.cell] += 1
                linking["coords" if size is None else str(size)] += 1
                yield text

        fsutil.write_lines(options.out / filename, lines())
        stats["counts"][split] = len(specs)
        stats["by_cell"][split] = dict(sorted(cells.items()))
        stats["by_min_linking_size"][split] = dict(sorted(linking.items()))
    if options.mate_compat:
        write_mate_files(options.out, {split: _records(options.out, plan, split)
                                       for split in SPLIT_FILES})
    fsutil.write_json(options.out / "stats.json", stats, indent=2)
    return stats
