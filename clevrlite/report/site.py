"""`clevrlite report`: the data of a report site and its writing.

The site is one folder that opens from disk: index.html with the tables and curves written
in, our own report.js and style.css, data/index.js (a compact row per instance: id, task,
cell, pair, object count, condition, linking size and each model's outcome) and
details/chunk_NNNN.js files of CHUNK instances each (prompt, marks, gold, raw outputs, boxes)
that the page loads when an instance is opened. Data files assign to a global, because
Chromium forbids fetching JSON from file:// pages. Images are hard links into images/. The
same inputs give the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Sequence

from clevrlite.bench.reader import benchmark_info, load_instances
from clevrlite.bench.registry import get_suite
from clevrlite.bench.suite import Suite
from clevrlite.errors import UsageError
from clevrlite.fsutil import write_text
from clevrlite.report.assets import js_data, json_text, static_text
from clevrlite.report.curves import Curve, curves
from clevrlite.report.details import NOT_SCORED, OUTCOME_CODES, instance_details
from clevrlite.report.folder import link_images, site_folder
from clevrlite.bench.reader import fingerprint
from clevrlite.report.models import Model, ScoreOptions, load_models
from clevrlite.report.svg import colour
from clevrlite.report.tables import model_label, tables

CHUNK = 100
INDEX_COLUMNS = ("id", "task", "cell", "pair", "objects", "condition", "linking", "outcomes")
CODED = ("task", "cell", "pair", "condition", "linking")  # stored as indices into values


@dataclass(frozen=True)
class ReportSummary:
    """What a report run wrote: where, how many models and instances, and how long it took."""

    out: Path
    models: list[Model]
    instances: int
    seconds: float


def linking_key(inst: dict[str, Any]) -> str:
    """The instance's key in the scorer's by_min_linking_size ("" where it has none)."""
    if "min_linking_size" not in inst:
        return ""
    if inst.get("condition") in ("absent", "absent_lookalike"):
        return "absent"
    size = inst["min_linking_size"]
    return "coords" if size is None else str(size)


def index_data(instances: Sequence[dict[str, Any]], models: Sequence[Model], suite: Suite,
               benchmark: dict[str, Any]) -> dict[str, Any]:
    """The browser's index: a row per instance, categorical columns as indices into lists."""
    values: dict[str, dict[str, int]] = {name: {} for name in CODED}

    def code(column: str, value: str) -> int:
        return values[column].setdefault(value, len(values[column]))

    rows = []
    for inst in instances:
        pair = (f"{inst['pointer_attribute']}->{inst['target_attribute']}"
                if "pointer_attribute" in inst and "target_attribute" in inst else "")
        outcomes = "".join(OUTCOME_CODES.get(m.report.outcomes.get(inst["id"], ""), NOT_SCORED)
                           for m in models)
        rows.append([inst["id"], code("task", inst["task"]), code("cell", suite.cell(inst)),
                     code("pair", pair), int(inst["object_count"]),
                     code("condition", inst.get("condition") or ""),
                     code("linking", linking_key(inst)), outcomes])
    return {
        "benchmark": benchmark,
        "models": [{"name": m.name, "colour": colour(i), "file": m.path.name,
                    "answered": m.answered, "total": m.total, "partial": m.partial}
                   for i, m in enumerate(models)],
        "columns": list(INDEX_COLUMNS),
        "values": {name: list(v) for name, v in values.items()},
        "chunk": CHUNK,
        "rows": rows,
    }


def _models_html(models: Sequence[Model]) -> str:
    items = []
    for i, m in enumerate(models):
        extra = []
        if m.median_seconds is not None:
            extra.append(f"median {m.median_seconds:.1f} s per answer")
        if m.partial:
            extra.append("filter the instances by “answered” to compare models on its "
                         "instances")
        note = f' <span class="note">({"; ".join(extra)})</span>' if extra else ""
        items.append(f'<li><span class="swatch" style="background:{colour(i)}"></span>'
                     f'{model_label(m)} <code>{escape(str(m.path))}</code>{note}</li>')
    return f'<ul class="models">{"".join(items)}</ul>'


def _curves_html(charts: Sequence[Curve]) -> str:
    return "".join(f'<figure class="curve">{c.svg}<figcaption>{escape(c.caption)} '
                   f'<a href="curves/{c.filename}">SVG</a></figcaption></figure>'
                   for c in charts)


def page_html(title: str, subtitle: str, models: Sequence[Model], tables_html: str,
              charts: Sequence[Curve]) -> str:
    """index.html: the static template with the header, tables and curves written in."""
    page = static_text("report.html")
    for key, value in (("TITLE", escape(title)), ("SUBTITLE", escape(subtitle)),
                       ("MODELS", _models_html(models)), ("TABLES", tables_html),
                       ("CURVES", _curves_html(charts))):
        page = page.replace(f"<!--{key}-->", value)
    return page


def build_report(benchmark_dir: str | Path, predictions: Sequence[str | Path], out: str | Path,
                 names: Sequence[str] = (), options: ScoreOptions = ScoreOptions(),
                 overwrite: bool = False) -> ReportSummary:
    """Score each predictions file once and write the report site into ``out``."""
    start = time.perf_counter()
    root, out = Path(benchmark_dir), Path(out)
    info = benchmark_info(root)
    loaded = load_instances(root, "all")
    instances = [inst for split in loaded.values() for inst in split]
    suite = get_suite(info.suite)
    identity = fingerprint(root)
    models = load_models(root, [Path(p) for p in predictions], names, options)
    _check_out(out, root, models)
    size = (info.width, info.height)
    benchmark = {"path": str(root), "name": root.resolve().name, "suite": info.suite,
                 "fingerprint": identity, "splits": {k: len(v) for k, v in loaded.items()},
                 "width": info.width, "height": info.height, "mode": options.mode,
                 "box_format": options.box_format, "iou_rule": options.iou_rule}
    charts = curves(models, instances)
    counts = ", ".join(f"{n} {name.replace('_', '-')}" for name, n in
                       benchmark["splits"].items())
    subtitle = (f"{info.suite} benchmark {benchmark['name']} ({counts} instances, "
                f"fingerprint {identity}); {len(models)} model"
                f"{'s' if len(models) != 1 else ''}; answers read in {options.mode} mode, "
                f"boxes as {options.box_format}")
    with site_folder(out, "report", overwrite) as site:
        for name in ("report.js", "style.css"):
            write_text(site / name, static_text(name))
        write_text(site / "index.html",
                   page_html(f"clevrlite report: {benchmark['name']}", subtitle, models,
                             tables(models, suite.splits), charts))
        (site / "curves").mkdir()
        for chart in charts:
            write_text(site / "curves" / chart.filename, chart.svg)
        (site / "data").mkdir()
        write_text(site / "data" / "index.js",
                   js_data("CLEVRLITE_INDEX", index_data(instances, models, suite, benchmark)))
        (site / "details").mkdir()
        for number, first in enumerate(range(0, len(instances), CHUNK)):
            chunk = [instance_details(inst, models, options, size)
                     for inst in instances[first:first + CHUNK]]
            write_text(site / "details" / f"chunk_{number:04d}.js",
                       "window.CLEVRLITE_CHUNKS=window.CLEVRLITE_CHUNKS||{};"
                       f"CLEVRLITE_CHUNKS[{number}]={json_text(chunk)};\n")
        link_images(root, [p for inst in instances for p in _images(inst)], site)
    return ReportSummary(out, models, len(instances), time.perf_counter() - start)


def _images(inst: dict[str, Any]) -> list[str]:
    paths = [inst.get("image"), *(inst.get("images") or [])]
    return [p for p in paths if isinstance(p, str) and p]


def _check_out(out: Path, root: Path, models: Sequence[Model]) -> None:
    """--out must not be the benchmark or hold an input (replacing it would lose them)."""
    target = out.resolve()
    for path in [root, *(m.path for m in models)]:
        resolved = path.resolve()
        if resolved == target or target in resolved.parents:
            raise UsageError(f"--out {str(out)!r} holds {str(path)!r}; write the site to a "
                             f"folder of its own")


__all__ = ["CHUNK", "ReportSummary", "build_report", "index_data", "linking_key"]
