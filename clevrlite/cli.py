"""The `clevrlite` command: a thin click layer that parses, calls the library and prints.

Every error a user can cause is printed as one line and exits 2 (usage) or 1 (runtime); a
Python traceback means a bug in clevrlite.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import click

from clevrlite import __version__
from clevrlite.errors import ClevrliteError
from clevrlite.scoring import BASELINE_KINDS

SPLIT_HELP = ("A split of the benchmark (cross_modal, unimodal, gmner, ...) or all "
              "[default: {}].")


class ObjectCount(click.ParamType):
    """`N` or `A..B` (inclusive), parsed to a (low, high) pair."""

    name = "N|A..B"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        low, sep, high = text.partition("..")
        try:
            lo, hi = (int(low), int(high)) if sep else (int(text), int(text))
        except ValueError:
            self.fail(f"{text!r} is not N or A..B; use e.g. 6 or 3..10", param, ctx)
        if lo < 1:
            self.fail(f"{text!r}: every scene needs at least 1 object; use e.g. 3..10",
                      param, ctx)
        if hi < lo:
            self.fail(f"{text!r}: the low end exceeds the high end; did you mean {hi}..{lo}?",
                      param, ctx)
        return (lo, hi)


class FormatList(click.ParamType):
    """A comma-separated subset of the text formats."""

    name = "LIST"

    def convert(self, value, param, ctx):
        from clevrlite.serialize import FORMATS

        if isinstance(value, tuple):
            return value
        items = tuple(dict.fromkeys(v.strip() for v in str(value).split(",") if v.strip()))
        bad = [v for v in items if v not in FORMATS]
        if bad:
            self.fail(f"unknown format {bad[0]!r}; use a comma-separated list of "
                      f"{','.join(FORMATS)} (or 'none')", param, ctx)
        return items


class PassList(click.ParamType):
    """A comma-separated subset of the extra passes (clevrlite.maps.PASSES), or 'none'."""

    name = "LIST"

    def convert(self, value, param, ctx):
        from clevrlite.maps import PASSES

        if isinstance(value, tuple):
            return value
        items = [v.strip() for v in str(value).split(",") if v.strip()]
        if items == ["none"]:
            return ()
        bad = [v for v in items if v not in PASSES]
        if bad:
            self.fail(f"unknown pass {bad[0]!r}; use a comma-separated list of "
                      f"{','.join(PASSES)} (or 'none')", param, ctx)
        return tuple(name for name in PASSES if name in items)


def _workers(value: int | None) -> int:
    """--workers as given (0 and below are refused later, by name), else the CPU count."""
    return value if value is not None else os.cpu_count() or 1


def _formats(value: str):
    return () if value.strip() == "none" else FormatList().convert(value, None, None)


def run_options(command):
    """The flags render and benchmark share: where items run, and resume or overwrite."""
    decorators = [
        click.option("--overwrite", is_flag=True,
                     help="Clear clevrlite's old files in --out first (else a non-empty "
                          "--out needs --resume)."),
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
                     show_default=True, help="Local worker processes, or actors on Ray."),
        click.option("--ray-address", default=None,
                     help="Ray cluster to join [default: a running one, else start one]."),
        click.option("--gpus-per-worker", type=float, default=0.0, show_default=True,
                     help="GPUs each Ray actor asks for (it renders on the EGL device of "
                          "its GPU)."),
        click.option("--gpus", default=None,
                     help="Spread local workers over GPUs: 'all' or CUDA indices like 0,2 "
                          "(see `clevrlite doctor`)."),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def _executor(executor, ray_address, gpus_per_worker, gpus):
    from clevrlite.runs.executors import ExecutorOptions

    return ExecutorOptions(executor=executor, ray_address=ray_address,
                           gpus_per_worker=gpus_per_worker, gpus=gpus)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clevrlite")
def cli() -> None:
    """CLEVR-style 3D scenes without Blender, and MATE-style cross-modal benchmarks."""


@cli.command()
@click.option("--n-objects", type=ObjectCount(), default="3..10", show_default=True,
              help="Objects per scene: N, or A..B inclusive (uniform per scene).")
@click.option("--count", type=int, default=16, show_default=True, help="Scenes to render.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output directory.")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option("--width", type=int, default=480, show_default=True)
@click.option("--height", type=int, default=320, show_default=True)
@click.option("--formats", default="json,yaml,xml,text", show_default=True,
              help="Text serializations to write (comma-separated, or 'none').")
@click.option("--workers", type=int, default=None,
              help="Worker processes, one renderer each [default: CPU count].")
@click.option("--backend", type=click.Choice(["auto", "egl", "osmesa"]), default="auto",
              show_default=True, help="OpenGL platform: EGL (GPU or Mesa llvmpipe) or OSMesa.")
@click.option("--properties", type=click.Path(path_type=Path), default=None,
              help="JSON vocabulary file, added to (or replacing) the default one.")
@click.option("--resume", is_flag=True, help="Skip scenes whose files are all present.")
@click.option("--min-pixels", type=int, default=200, show_default=True,
              help="Every object must show at least this many pixels in the final image.")
@click.option("--start-index", type=int, default=0, show_default=True,
              help="First scene index (for sharding by hand).")
@click.option("--prefix", default="CLEVRLITE", show_default=True, help="File name prefix.")
@click.option("--split", default="new", show_default=True, help="Split name in file names.")
@click.option("--floor-extent", type=float, default=None,
              help="Half-size of the floor square [default: 3, growing past 10 objects].")
@click.option("--passes", type=PassList(), default="none", show_default=True,
              help="Extra images per view: depth (16-bit PNG, camera z in units of the scene "
                   "JSON's depth_scale metres) and normals (camera space), comma-separated.")
@click.option("--views", type=int, default=1, show_default=True,
              help="Cameras per scene, each with its own image, mask and annotations; view 0 "
                   "is the scene's own camera.")
@click.option("--view-ring", is_flag=True,
              help="Place views evenly around the scene (view 0 turned about the vertical "
                   "axis) instead of CLEVR's camera jitter.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@run_options
def render(n_objects, count, out, seed, width, height, formats, workers, backend, properties,
           resume, min_pixels, start_index, prefix, split, floor_extent, passes, views,
           view_ring, quiet, overwrite, executor, ray_address, gpus_per_worker, gpus) -> None:
    """Render CLEVR-style scenes with masks, scene JSON and text serializations."""
    from clevrlite.runs.dataset import RenderOptions, render_dataset
    from clevrlite.placement import PlacementOptions

    if floor_extent is not None and floor_extent <= 0:
        raise click.BadParameter("must be greater than 0", param_hint="--floor-extent")
    options = RenderOptions(
        out=out, count=count, seed=seed, start_index=start_index,
        placement=PlacementOptions(n_objects=n_objects, width=width, height=height,
                                   floor_extent=floor_extent, split=split, prefix=prefix),
        formats=_formats(formats), workers=_workers(workers), backend=backend,
        properties=str(properties) if properties else None, resume=resume,
        min_pixels=min_pixels, overwrite=overwrite, passes=passes, views=views,
        view_ring=view_ring, executor=_executor(executor, ray_address, gpus_per_worker, gpus))
    start = time.perf_counter()
    summary = render_dataset(options, progress=not quiet and sys.stderr.isatty(),
                             log=lambda line: click.echo(line, err=True))
    if not quiet:
        secs = time.perf_counter() - start
        kept = f" ({summary.skipped} kept from before)" if summary.skipped else ""
        rate = f", {summary.rendered / secs:.1f} scenes/s" if summary.rendered else ""
        click.echo(f"rendered {summary.rendered} scenes{kept} into {out} in {secs:.1f} s{rate}")


class Precision(click.ParamType):
    """Decimals shown for numbers: an integer 0-6, or 'full' for every digit."""

    name = "0-6|full"

    def convert(self, value, param, ctx):
        if value == "full" or isinstance(value, int):
            return value
        if str(value).isdigit() and 0 <= int(value) <= 6:
            return int(value)
        self.fail(f"{value!r} is not a number of decimals 0-6 or 'full'", param, ctx)


@cli.command()
@click.option("--size", type=int, default=5500, show_default=True,
              help="Cross-modal instances (balanced over object count x task x pair).")
@click.option("--unimodal-size", type=int, default=None,
              help="Unimodal control instances [default: same as --size].")
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmark"),
              show_default=True)
@click.option("--seed", type=int, default=117, show_default=True)
@click.option("--n-objects", type=ObjectCount(), default="3..10", show_default=True)
@click.option("--shots", type=click.IntRange(0, 2), default=2, show_default=True,
              help="Worked examples per prompt, each from another scene with its own image.")
@click.option("--same-scene-shots", is_flag=True,
              help="Take the examples from the question's own scene, as MATE does (leaky: a "
                   "text-only reader can rule the example objects out).")
@click.option("--cot", is_flag=True, help="Add worked rationales (chain of thought).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml", "xml", "text"]),
              default="json", show_default=True, help="How the scene text is written.")
@click.option("--precision", type=Precision(), default="2", show_default=True,
              help="Decimals of numbers in texts and answers, or 'full'.")
@click.option("--coords", type=click.Choice(["contact", "centre"]), default="contact",
              show_default=True,
              help="How texts give 3d_coords: where the object rests on the floor (z = 0), or "
                   "its centre (MATE's text, whose z tells cubes from other shapes).")
@click.option("--balance-linking", is_flag=True,
              help="Also balance the smallest linking-set size (1, 2, 3, coords) per cell.")
@click.option("--workers", type=int, default=None, help="Worker processes [default: CPUs].")
@click.option("--backend", type=click.Choice(["auto", "egl", "osmesa"]), default="auto",
              show_default=True)
@click.option("--properties", type=click.Path(path_type=Path), default=None,
              help="JSON vocabulary file, added to (or replacing) the default one.")
@click.option("--resume", is_flag=True, help="Keep instances already written.")
@click.option("--mate-compat", is_flag=True,
              help="Also write MATE's dev files (OUT/mate/), which MATE's own code reads.")
@click.option("--suite", default="mate", show_default=True,
              help="mate: MATE's cross-modal linking; grounding: boxes and absent objects; "
                   "gmner: passages whose entities are grounded in the image or absent; or a "
                   "suite another package registers.")
@click.option("--preset", type=click.Choice(["mate"]), default=None,
              help="MATE's setup: cone added, 2-3 unique colours and 1 unique shape per "
                   "scene, same-scene examples, MATE's files; flags given explicitly win.")
@click.option("--no-audit", "audit", flag_value=False, default=True,
              help="Skip the validity audit at the end (stats.json then has none).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@run_options
@click.pass_context
def benchmark(ctx, out, workers, properties, preset, quiet, overwrite, executor, ray_address,
              gpus_per_worker, gpus, **settings) -> None:
    """Build a benchmark: MATE-style entity linking, or a grounding suite."""
    from click.core import ParameterSource

    from clevrlite.bench.build import BenchmarkOptions, build_benchmark

    given = {name: value for name, value in settings.items()
             if ctx.get_parameter_source(name) != ParameterSource.DEFAULT or preset is None}
    options = BenchmarkOptions.from_preset(
        preset, out=out, workers=_workers(workers),
        properties=str(properties) if properties else None, overwrite=overwrite,
        executor=_executor(executor, ray_address, gpus_per_worker, gpus), **given)
    start = time.perf_counter()
    stats = build_benchmark(options, progress=not quiet and sys.stderr.isatty(),
                            log=lambda line: click.echo(line, err=True))
    if not quiet:
        counts = stats["counts"]
        written = ", ".join(f"{n} {split.replace('_', '-')}" for split, n in counts.items())
        click.echo(f"wrote {written} instances into {out} in "
                   f"{time.perf_counter() - start:.1f} s")
    if "audit" in stats:
        from clevrlite.scoring.audit import headline

        line = headline(stats["audit"])
        if not quiet or not stats["audit"]["passed"]:
            click.echo(f"{line}; see `clevrlite audit {out}`", err=not stats["audit"]["passed"])


@cli.command()
@click.argument("benchmark_dir", type=click.Path(path_type=Path))
@click.option("--split", default="all", help=SPLIT_HELP.format("all"))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--cells", is_flag=True, help="Also list every cell (object count, task, pair).")
def audit(benchmark_dir, split, as_json, cells) -> None:
    """Check that nothing can be answered without the image: blind readers against chance.

    Exits 1 when a task's gap exceeds 3 points."""
    from clevrlite.scoring.audit import audit as run_audit
    from clevrlite.scoring.audit import format_audit

    report = run_audit(benchmark_dir, split)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json
               else format_audit(report, cells))
    if not report.passed:
        sys.exit(1)


@cli.command()
@click.option("--backend", type=click.Choice(["auto", "egl", "osmesa"]), default="auto",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
def doctor(backend, as_json) -> None:
    """Show the OpenGL platform and whether rendering runs on a GPU or in software."""
    from clevrlite.pipeline import egl_devices, gl_report
    from clevrlite.runs.gpus import describe

    info = gl_report(backend)
    facts = egl_devices() if info["platform"] == "egl" else None
    info["gpus"] = describe(facts)
    if as_json:
        click.echo(json.dumps({**info, "egl_device_facts": facts}, indent=2))
        return
    width = max(map(len, info))
    for key, value in info.items():
        click.echo(f"{key:>{width}}: {value}")
    if info.get("software"):
        click.echo("rendering runs on the CPU (software rasterizer); fine for small runs, "
                   "a GPU node with EGL is much faster")
    else:
        click.echo("rendering runs on the GPU")


@cli.command()
@click.option("--benchmark", "benchmark_dir", type=click.Path(path_type=Path), required=True,
              help="Benchmark directory written by `clevrlite benchmark`.")
@click.option("--predictions", type=click.Path(path_type=Path), required=True,
              help='JSON lines {"id": ..., "prediction": "raw model output"}.')
@click.option("--mode", type=click.Choice(["lenient", "mate"]), default="lenient",
              show_default=True, help="Answer parsing: forgiving, or MATE's strict rule.")
@click.option("--split", default="auto",
              help="Instances to score: a split of the benchmark, all, or auto (the splits "
                   "the predictions cover) [default: auto].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--box-format", type=click.Choice(["xyxy", "norm1", "norm1000"]), default="xyxy",
              show_default=True, help="How predicted boxes are written: pixels, 0-1, or "
                                      "0-1000 (as Qwen2-VL writes them).")
@click.option("--iou-rule", type=click.Choice(["ge", "gt"]), default="ge", show_default=True,
              help="A box is right at IoU >= 0.5 (ge, as the public GMNER scorers compute) "
                   "or > 0.5 (gt, the Twitter-GMNER paper's wording).")
@click.option("--duplicates", type=click.Choice(["count", "first"]), default="count",
              show_default=True,
              help="gmner: every predicted entity counts, or only the first for an entity "
                   "(as the Twitter-GMNER release's H-Index scores).")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Also plot the breakdowns (by object count, by condition) to this PNG.")
def score(benchmark_dir, predictions, mode, split, as_json, box_format, iou_rule, duplicates,
          plot) -> None:
    """Score model predictions against a benchmark, with breakdowns."""
    from clevrlite.scoring.evaluate import score as score_predictions
    from clevrlite.scoring.output import format_table, plot_accuracy

    report = score_predictions(benchmark_dir, predictions, mode=mode, split=split,
                               box_format=box_format, iou_rule=iou_rule,
                               duplicates=duplicates)
    if plot is not None:
        plot_accuracy(report, plot)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else format_table(report))


@cli.command()
@click.argument("kind", type=click.Choice(BASELINE_KINDS))
@click.option("--benchmark", "benchmark_dir", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Predictions file to write (JSON lines).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", default="all", help=SPLIT_HELP.format("all"))
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def baseline(kind, benchmark_dir, out, seed, split, overwrite) -> None:
    """Write baseline predictions (random, oracle, text-only, text-only-shots, lookalike,
    blind, first-hop, no-conjunction: which apply depends on the suite)."""
    from clevrlite.scoring.baselines import write_baseline

    count = write_baseline(kind, benchmark_dir, out, seed=seed, split=split,
                           overwrite=overwrite)
    click.echo(f"wrote {count} {kind} predictions to {out}")


@cli.command()
@click.argument("scene_file", type=click.Path(path_type=Path))
@click.option("--attributes", default="shape,color,material,size",
              show_default=True, help="Attributes to consider (comma-separated).")
@click.option("--task", type=click.Choice(["img2data", "data2img", "img2img", "data2data"]),
              default=None, help="Linking sets for this task by MATE's rule (with --target, "
                                 "and --pointer for cross-modal tasks).")
@click.option("--pointer", default=None, help="The question's pointer attribute (with --task).")
@click.option("--target", default=None, help="The question's target attribute (with --task).")
def inspect(scene_file, attributes, task, pointer, target) -> None:
    """Print unique pointer values and minimal linking sets of each object of a scene."""
    from clevrlite.inspect_scene import describe

    click.echo(describe(scene_file, [a.strip() for a in attributes.split(",") if a.strip()],
                        task=task, pointer=pointer, target=target))


@cli.command()
@click.option("--benchmark", "benchmark_dir", type=click.Path(path_type=Path), required=True,
              help="Benchmark directory written by `clevrlite benchmark`.")
@click.option("--base-url", required=True,
              help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM) or "
                   "http://localhost:11434/v1 (Ollama).")
@click.option("--model", required=True, help="Model name the endpoint serves.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Predictions file to write (JSON lines, what `clevrlite score` reads).")
@click.option("--split", default="all", help=SPLIT_HELP.format("all"))
@click.option("--concurrency", type=int, default=4, show_default=True,
              help="Requests in flight at once.")
@click.option("--retries", type=int, default=5, show_default=True,
              help="Tries again after 429, 5xx, timeouts and broken answers, with backoff.")
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="Seconds to wait for one answer.")
@click.option("--limit", type=int, default=None, help="Only the first N instances.")
@click.option("--resume", is_flag=True, help="Keep the answers already in --out; ask the rest.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Environment variable holding the API key (never printed).")
@click.option("--max-tokens", type=int, default=None, help="Answer length limit.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def predict(benchmark_dir, base_url, model, out, split, concurrency, retries, timeout, limit,
            resume, api_key_env, max_tokens, temperature, quiet) -> None:
    """Ask a model behind an OpenAI-compatible endpoint, writing predictions to score."""
    from clevrlite.predict import PredictOptions, predict as run

    options = PredictOptions(benchmark=benchmark_dir, base_url=base_url, model=model, out=out,
                             split=split, concurrency=concurrency, retries=retries,
                             timeout=timeout, limit=limit, resume=resume,
                             api_key_env=api_key_env, max_tokens=max_tokens,
                             temperature=temperature)
    summary = run(options, progress=not quiet and sys.stderr.isatty())
    if not quiet:
        kept = f" ({summary.skipped} from before)" if summary.skipped else ""
        click.echo(f"answered {summary.done}{kept}, failed {summary.failed}, tokens "
                   f"{summary.prompt_tokens} in / {summary.completion_tokens} out -> {out}")
    if summary.failed:
        raise ClevrliteError(f"{summary.failed} requests failed (first: {summary.errors[0]}); "
                             f"rerun with --resume to ask them again")


@cli.command("export")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--to", "to", type=click.Choice(["hf", "lmms-eval", "vlmevalkit", "verl", "trl",
                                               "coco", "twitter-gmner"]), required=True,
              help="hf: Hugging Face parquet; lmms-eval: a task folder; vlmevalkit: its TSV; "
                   "verl, trl: RL datasets; coco: instance masks of a render run; "
                   "twitter-gmner: the Twitter-GMNER release's files, of a gmner benchmark.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Destination directory (must be empty unless --overwrite).")
@click.option("--split", default="all", help=SPLIT_HELP.format("all"))
@click.option("--overwrite", is_flag=True,
              help="Replace an earlier export in --out (never a folder of other files).")
def export_command(source, to, out, split, overwrite) -> None:
    """Export a benchmark (or a render run, --to coco) to another tool's format."""
    from clevrlite.export import export

    start = time.perf_counter()
    counts = export(source, to, out, overwrite=overwrite, split=split)
    written = ", ".join(f"{n} {name}" for name, n in counts.items())
    click.echo(f"exported {written} as {to} into {out} in {time.perf_counter() - start:.1f} s")


@cli.command("report")
@click.argument("benchmark_dir", type=click.Path(path_type=Path))
@click.argument("more", nargs=-1, type=click.Path(path_type=Path), metavar="[FILE]...")
@click.option("--predictions", "-p", type=click.Path(path_type=Path), multiple=True,
              help="Predictions file (JSON lines, as `clevrlite score` reads); more files may "
                   "follow it or repeat the option. A human file from `clevrlite human` is "
                   "one more model.")
@click.option("--name", "names", multiple=True, metavar="FILE=LABEL",
              help="A model's display name [default: the file's stem]; repeat per file.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write the site into (opens from disk: OUT/index.html).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier site in --out.")
@click.option("--mode", type=click.Choice(["lenient", "mate"]), default="lenient",
              show_default=True, help="Answer parsing, as for `clevrlite score`.")
@click.option("--box-format", type=click.Choice(["xyxy", "norm1", "norm1000"]), default="xyxy",
              show_default=True, help="How predicted boxes are written, as for score.")
@click.option("--iou-rule", type=click.Choice(["ge", "gt"]), default="ge", show_default=True,
              help="A box is right at IoU >= 0.5 (ge) or > 0.5 (gt), as for score.")
@click.option("--duplicates", type=click.Choice(["count", "first"]), default="count",
              show_default=True, help="gmner: every predicted entity counts, or the first.")
def report_command(benchmark_dir, more, predictions, names, out, overwrite, mode, box_format,
                   iou_rule, duplicates) -> None:
    """Write a static site of the scores, curves and every instance of one or more models.

    BENCHMARK_DIR is a folder `clevrlite benchmark` wrote; give predictions files as
    --predictions A.jsonl [B.jsonl ...]. Open OUT/index.html in a browser (no server needed).
    """
    from clevrlite.report.models import ScoreOptions
    from clevrlite.report.site import build_report

    files = [*predictions, *more]
    if not files:
        raise click.UsageError("give at least one predictions file: --predictions A.jsonl")
    summary = build_report(benchmark_dir, files, out, names=names, overwrite=overwrite,
                           options=ScoreOptions(mode, box_format, iou_rule, duplicates))
    click.echo(f"wrote a report of {len(summary.models)} model"
               f"{'s' if len(summary.models) != 1 else ''} on {summary.instances} instances "
               f"to {out / 'index.html'} in {summary.seconds:.1f} s")
    for model in summary.models:
        if model.partial:
            click.echo(f"{model.name} is partial: {model.answered} of {model.total} answered "
                       f"(missing ids count as wrong, as score counts them)")


@cli.command("human")
@click.argument("benchmark_dir", type=click.Path(path_type=Path))
@click.option("--sample", "size", type=int, default=384, show_default=True,
              help="Instances to answer, stratified by task, object count, cell and condition.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Which sample (the same seed gives the same instances in the same order).")
@click.option("--split", default="all", help=SPLIT_HELP.format("all"))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write the page into (opens from disk: OUT/index.html).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier page in --out.")
def human_command(benchmark_dir, size, seed, split, out, overwrite) -> None:
    """Write a page on which a person answers a stratified sample, one instance at a time.

    Its Download button gives a predictions file for `clevrlite score` and `clevrlite report`.
    """
    from clevrlite.report.human import build_human

    summary = build_human(benchmark_dir, size, out, seed=seed, split=split, overwrite=overwrite)
    click.echo(f"wrote sample {summary.sample_id} of {summary.size} instances to "
               f"{out / 'index.html'} in {summary.seconds:.1f} s")


RESUMABLE = ("render", "benchmark", "predict")


class Stopped(BaseException):
    """SIGTERM arrived: unwind (workers finish the item they are on and stop), then exit."""


def _stop(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough; the pool is stopping
    raise Stopped()  # commands whose killed or failed runs --resume continues


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and turn every user error into one line."""
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), "")
    prog = f"clevrlite {command}".strip() if command in cli.commands else "clevrlite"
    signal.signal(signal.SIGTERM, _stop)
    try:
        code = cli.main(args=args, prog_name="clevrlite", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(f"{prog}: interrupted; finished files are kept (use --resume)", err=True)
        sys.exit(130)
    except Stopped:
        again = " again with --resume to finish the run" if command in RESUMABLE else ""
        click.echo(f"{prog}: stopped by SIGTERM; finished files are kept: run the same "
                   f"command{again}", err=True)
        sys.exit(143)
    except click.ClickException as exc:
        hint = f" (see '{prog} --help')" if isinstance(exc, click.UsageError) else ""
        click.echo(f"{prog}: error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except ClevrliteError as exc:
        click.echo(f"{prog}: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # the machine, not clevrlite: disk full, file system gone, ...
        path = exc.filename2 or exc.filename  # a failed rename names its target second
        where = f": {path}" if path else ""
        kept = "; finished files are kept (use --resume)" if command in RESUMABLE else ""
        click.echo(f"{prog}: error: {exc.strerror or exc}{where}{kept}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo(f"{prog}: interrupted; finished files are kept (use --resume)", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
