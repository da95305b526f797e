"""The predictions files a report shows, as models: display names, one score each, and the
checks that refuse a file made for something else.

Each file is scored exactly once, by clevrlite.scoring.evaluate.score, under the settings
`clevrlite score` takes; its Report (EntityReport for gmner, ChainReport for chain) gives
every figure of the tables and its per-instance outcomes drive the instance browser. A file
is refused with one line naming it when it is empty, when any of its ids is not in the
benchmark (a file for another benchmark, or another build of it), or when it says it was
answered on another benchmark (a human file carries the benchmark's fingerprint). A file that
leaves ids out is kept and shown as partial: its missing ids count as missing, exactly as
`score` counts them.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from clevrlite.bench.reader import json_lines
from clevrlite.errors import UsageError
from clevrlite.scoring.chain import ChainReport
from clevrlite.scoring.entities import EntityReport
from clevrlite.scoring.evaluate import Report, read_predictions, score


@dataclass(frozen=True)
class ScoreOptions:
    """How every file is scored: the options of `clevrlite score`, with its defaults."""

    mode: str = "lenient"
    box_format: str = "xyxy"
    iou_rule: str = "ge"
    duplicates: str = "count"


@dataclass
class Model:
    """One predictions file: its name, its scorer report and raw outputs by id."""

    name: str
    path: Path
    report: "Report | EntityReport | ChainReport"
    outputs: dict[str, str]
    seconds: list[float] = field(default_factory=list)  # a human file's time per answer
    scores: dict[str, Any] = field(default_factory=dict)  # report.to_dict(): score --json

    def __post_init__(self) -> None:
        self.scores = self.report.to_dict()

    @property
    def total(self) -> int:
        """Instances scored (of the splits the file covers), missing ones included."""
        return len(self.report.outcomes)

    @property
    def answered(self) -> int:
        return self.total - len(self.report.missing_ids)

    @property
    def partial(self) -> bool:
        return bool(self.report.missing_ids)

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def parse_names(pairs: Sequence[str], paths: Sequence[Path]) -> dict[Path, str]:
    """``--name FILE=LABEL`` values as labels by predictions file. FILE is the path as given,
    another path to the same file, or its file name; a label may itself hold '='."""
    labels: dict[Path, str] = {}
    for pair in pairs:
        chosen = None
        for at in (i for i, char in enumerate(pair) if char == "="):
            key, label = pair[:at], pair[at + 1:]
            match = _match(key, paths)
            if match is not None:
                chosen = (match, label)
                break
        if chosen is None:
            raise UsageError(f"--name {pair!r}: give FILE=LABEL with FILE one of the "
                             f"predictions files ({', '.join(map(str, paths))})")
        path, label = chosen
        if not label.strip():
            raise UsageError(f"--name {pair!r}: the label is empty")
        labels[path] = label.strip()
    return labels


def _match(key: str, paths: Sequence[Path]) -> Path | None:
    for path in paths:
        if str(path) == key or Path(key).resolve() == path.resolve():
            return path
    named = [path for path in paths if path.name == key]
    return named[0] if len(named) == 1 else None


def load_models(benchmark_dir: Path, paths: Sequence[Path], names: Sequence[str] = (),
                options: ScoreOptions = ScoreOptions()) -> list[Model]:
    """Score every predictions file once; refuse name clashes, unknown ids and files made for
    another benchmark (the scorer checks their fingerprint) with one line."""
    if not paths:
        raise UsageError("give at least one predictions file with --predictions")
    paths = [Path(p) for p in paths]
    labels = parse_names(names, paths)
    named = [(labels.get(path, path.stem), path) for path in paths]
    seen: dict[str, Path] = {}
    for name, path in named:
        if name in seen:
            raise UsageError(f"two models are named {name!r}: {str(seen[name])!r} and "
                             f"{str(path)!r}; tell them apart with --name {path}=LABEL")
        seen[name] = path
    models = []
    for name, path in named:
        seconds = _seconds(path)
        report = score(benchmark_dir, path, mode=options.mode, box_format=options.box_format,
                       iou_rule=options.iou_rule, duplicates=options.duplicates)
        if report.unknown_ids:
            raise UsageError(f"{str(path)!r}: {len(report.unknown_ids)} ids are not in the "
                             f"benchmark {str(benchmark_dir)!r} (first: "
                             f"{report.unknown_ids[0]!r}); is it for another benchmark?")
        models.append(Model(name, path, report, read_predictions(path), seconds))
    return models


def _seconds(path: Path) -> list[float]:
    """The seconds per answer that human files carry beside id and prediction."""
    seconds: list[float] = []
    if not path.is_file():
        return seconds
    for _, line in json_lines(path):
        value = line.get("seconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value):
            seconds.append(float(value))
    return seconds


__all__ = ["Model", "ScoreOptions", "load_models", "parse_names"]
