"""Scoring model predictions on a clevrlite benchmark (DESIGN section 6).

Three layers, each usable on its own:

- parsing: ``extract_answer`` finds the answer in a raw model output, in ``lenient`` mode (the
  last JSON-like object with an "answer" key, tolerant of fences, quotes and prose) or in ``mate``
  mode (MATE's ``main_eval.clean_prediction``, reproduced exactly);
- comparing: ``answers_match`` decides whether a parsed answer equals the gold one;
- scoring: ``score`` reads a benchmark directory and a predictions file and returns a ``Report``
  with the breakdowns and the out-of-scene error (OSE); ``format_table`` and ``plot_accuracy``
  present it.

Comparison rules. lenient: strings match after trimming, collapsing inner whitespace and
case-folding; numbers (also given as strings, "0.7") and coordinate lists match after
``round(x, precision)`` with precision 2, and with precision "full" when the parsed floats are
equal (no tolerance: the text shows every digit, so copying it gives the identical double, and a
tolerance would hide exactly the copying errors "full" exists to measure). mate: exactly MATE's
rule, ``str(gold) == str(predicted).strip()`` on the Python values, with no rounding.

Unparseable predictions count as wrong and are counted separately; missing ids count as wrong
and are listed. OSE is the percent of wrong answers to the predictions given (unparseable ones
included, as MATE counts them; missing ids excluded) whose value equals no object's value of the
target attribute in the scene file, compared as in scoring (in mate mode the scene's values are
first rounded to the benchmark's precision, as its gold answers are). It is 0 when nothing is
wrong.
"""

from __future__ import annotations

import ast
import bisect
import io
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from clevrlite.errors import UsageError
from clevrlite.fsutil import write_bytes

MODES = ("lenient", "mate")
SPLITS = ("auto", "cross_modal", "unimodal", "all")
SPLIT_FILES = {"cross_modal": "cross_modal.jsonl", "unimodal": "unimodal.jsonl"}
TASK_ORDER = ("img2data", "data2img", "img2img", "data2data")
INSTANCE_KEYS = ("id", "scene_id", "task", "object_count", "pointer_attribute",
                 "target_attribute", "answer", "min_linking_size")
PLOT_NEEDS_MATPLOTLIB = "--plot needs matplotlib: pip install 'clevrlite[report]'"

# MATE's src/main_eval.py: ANSWER_JSON_REGEX, applied after removing backslashes and newlines.
MATE_ANSWER_REGEX = re.compile(r'\{ *"answer": .*?\}')
# Lenient fallback for objects that are not JSON at all: {answer: red}, {"answer": red, or an
# object cut off before its closing brace.
_LOOSE_ANSWER = re.compile(
    r"""\{\s*["']?answer["']?\s*:\s*(?P<v>"[^"]*"|'[^']*'|\[[^\]]*\]|[^,{}\[\]\s"'][^,}]*)""",
    re.IGNORECASE)
_MAX_ATTEMPTS = 256
_ANSWER_WORD = re.compile("answer", re.IGNORECASE)
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"',
                               "\u2018": "'", "\u2019": "'"})
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class Parsed(NamedTuple):
    """What a raw output yielded: ``ok`` is False when no answer could be found (unparseable)."""

    ok: bool
    value: Any = None


UNPARSEABLE = Parsed(False)


# ---------------------------------------------------------------------------------- parsing

def extract_answer(text: str, mode: str = "lenient") -> Parsed:
    """The answer in a raw model output: the last object with an "answer" key."""
    _check_mode(mode)
    return _extract_mate(text) if mode == "mate" else _extract_lenient(text)


def _extract_mate(text: str) -> Parsed:
    """MATE's clean_prediction: strip, drop backslashes and newlines, last regex match, json."""
    cleaned = text.strip().replace("\\", "").replace("\n", "")
    matches = MATE_ANSWER_REGEX.findall(cleaned)
    if not matches:
        return UNPARSEABLE
    try:
        return Parsed(True, json.loads(matches[-1])["answer"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return UNPARSEABLE


def _extract_lenient(text: str) -> Parsed:
    """The last answer object of the text as given or with typographic quotes made plain (the
    later one wins; the swap keeps positions), else of the text unescaped once."""
    found = [f for f in (_last_answer_object(text),
                         _last_answer_object(text.translate(_SMART_QUOTES))) if f is not None]
    if not found and '\\"' in text:
        found = [f for f in (_last_answer_object(text.replace('\\"', '"')),) if f is not None]
    if not found:
        return UNPARSEABLE
    return Parsed(True, max(found, key=lambda f: f[0])[1])


def _last_answer_object(text: str) -> tuple[int, Any] | None:
    """(end, answer) of the candidate object that ends last; an outer object beats nested ones.

    Objects are tried from the one that could end last backwards, so the search stops at the
    first success instead of parsing every nested object of a long output; after
    ``_MAX_ATTEMPTS`` failed objects (degenerate output) it gives up.
    """
    mentions = [m.start() for m in _ANSWER_WORD.finditer(text)]
    ends: dict[int, int] = {}
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        if start not in ends:
            _match_braces(text, start, ends)
    reach = {start: (end + 1 if end >= 0 else len(text)) for start, end in ends.items()}
    best: tuple[int, Any] | None = None
    attempts = 0
    for start in sorted(reach, key=lambda s: (reach[s], s), reverse=True):
        stop = reach[start]
        if (best is not None and stop <= best[0]) or attempts == _MAX_ATTEMPTS:
            break
        first = bisect.bisect_left(mentions, start)
        if first == len(mentions) or mentions[first] >= stop:
            continue
        attempts += 1
        candidate = _candidate(text, start, stop, closed=ends[start] >= 0)
        if candidate is not None and (best is None or candidate[0] > best[0]):
            best = candidate
    return best


def _candidate(text: str, start: int, stop: int, closed: bool) -> tuple[int, Any] | None:
    """(end, answer) for the object starting at ``start``, or None if it has no answer key."""
    if closed:
        obj = _load_object(text[start:stop])
        if isinstance(obj, dict):
            key = next((k for k in obj if isinstance(k, str)
                        and k.strip().casefold() == "answer"), None)
            if key is not None:
                return (stop, obj[key])
    loose = _LOOSE_ANSWER.match(text, start, stop)
    return (loose.end(), _loose_value(loose.group("v"))) if loose else None


def _match_braces(text: str, start: int, ends: dict[int, int]) -> None:
    """Record in ``ends`` where the brace at ``start`` and every brace nested in it close.

    Quoted strings (either quote) are skipped, so braces inside values do not count. Braces
    left open at the end of the text get -1. One scan serves all nested braces, which keeps
    long outputs linear.
    """
    stack: list[int] = []
    quote, i = "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            stack.append(i)
        elif ch == "}":
            ends[stack.pop()] = i
            if not stack:
                return
        i += 1
    for open_brace in stack:
        ends[open_brace] = -1


def _load_object(snippet: str) -> Any:
    """Parse a brace-delimited snippet as JSON, a Python literal, or JSON with fixes applied."""
    attempts = (
        lambda s: json.loads(s),
        _literal,
        lambda s: json.loads(_TRAILING_COMMA.sub(r"\1", s if '"' in s else s.replace("'", '"'))),
    )
    for attempt in attempts:
        try:
            return attempt(snippet)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _literal(snippet: str) -> Any:
    """A Python literal (single quotes, None); quiet about odd escapes in model text."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.literal_eval(snippet)


def _loose_value(raw: str) -> Any:
    raw = raw.strip()
    if raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2:
        return raw[1:-1]
    if raw.startswith("["):
        value = _load_object(raw)
        return value if isinstance(value, list) else raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


# ---------------------------------------------------------------------------------- comparing

def answers_match(predicted: Any, gold: Any, precision: int | None = 2,
                  mode: str = "lenient") -> bool:
    """Whether a parsed answer equals the gold value (``precision`` None means "full")."""
    _check_mode(mode)
    if mode == "mate":
        return str(gold) == str(predicted).strip()
    return _lenient_equal(predicted, gold, precision)


def _lenient_equal(predicted: Any, gold: Any, precision: int | None) -> bool:
    if gold is None or isinstance(gold, bool):
        return predicted == gold
    if isinstance(gold, (int, float)):
        number = _as_number(predicted)
        return number is not None and _numbers_equal(number, gold, precision)
    if isinstance(gold, (list, tuple)):
        items = _as_list(predicted)
        return (items is not None and len(items) == len(gold)
                and all(_lenient_equal(p, g, precision) for p, g in zip(items, gold)))
    if isinstance(gold, str):
        if isinstance(predicted, (list, tuple, dict)) or predicted is None:
            return False
        gold_number, pred_number = _as_number(gold), _as_number(predicted)
        if gold_number is not None and pred_number is not None:
            return _numbers_equal(pred_number, gold_number, precision)
        return _normal_text(str(predicted)) == _normal_text(gold)
    return predicted == gold


def _normal_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:1] in "[(" and text[-1:] in "])":
        text = text[1:-1]
    return [part.strip() for part in text.split(",")] if text else None


def _numbers_equal(predicted: float, gold: float, precision: int | None) -> bool:
    if precision is None:
        return float(predicted) == float(gold)
    return round(float(predicted), precision) == round(float(gold), precision)


def round_value(value: Any, precision: int | None) -> Any:
    """``value`` with every float (also inside lists) rounded to ``precision`` decimals."""
    if precision is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        return round(value, precision)
    if isinstance(value, (list, tuple)):
        return [round_value(item, precision) for item in value]
    return value


def parse_precision(value: Any) -> int | None:
    """A benchmark's precision field as decimals, or None for "full"."""
    if value == "full":
        return None
    try:
        decimals = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"precision must be an integer or \"full\"; got {value!r}") from None
    if decimals < 0:
        raise UsageError(f"precision must not be negative; got {value!r}")
    return decimals


def object_value(obj: dict[str, Any], attribute: str) -> Any:
    """An object's value of a benchmark attribute; "size" means the numeric scale."""
    if attribute == "size" and "scale" in obj:
        return obj["scale"]
    return obj.get(attribute)


# ---------------------------------------------------------------------------------- reading

def load_instances(benchmark_dir: str | Path, split: str = "all") -> dict[str, list[dict]]:
    """Instances of a benchmark split ("all": every split file present), keyed by split name."""
    root = Path(benchmark_dir)
    if not root.is_dir():
        raise UsageError(f"benchmark directory {str(root)!r} does not exist; check --benchmark")
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    wanted = [split] if split in SPLIT_FILES else list(SPLIT_FILES)
    present = [name for name in wanted if (root / SPLIT_FILES[name]).is_file()]
    if not present:
        missing = root / SPLIT_FILES[wanted[0]]
        raise UsageError(f"benchmark file {str(missing)!r} does not exist; "
                         f"is {str(root)!r} a clevrlite benchmark directory?")
    loaded = {name: _read_instances(root / SPLIT_FILES[name]) for name in present}
    seen: dict[str, str] = {}
    for name, instances in loaded.items():
        for inst in instances:
            if inst["id"] in seen:
                raise UsageError(f"{root}: instance id {inst['id']!r} occurs in both "
                                 f"{SPLIT_FILES[seen[inst['id']]]} and {SPLIT_FILES[name]}")
            seen[inst["id"]] = name
    return loaded


def _read_instances(path: Path) -> list[dict]:
    instances, ids = [], set()
    for lineno, obj in _json_lines(path):
        missing = [key for key in INSTANCE_KEYS if key not in obj]
        if missing:
            raise UsageError(f"{path}:{lineno}: benchmark instance has no {missing[0]!r} key")
        if not isinstance(obj["object_count"], int) or isinstance(obj["object_count"], bool):
            raise UsageError(f"{path}:{lineno}: \"object_count\" must be an integer")
        obj["id"] = str(obj["id"])
        if obj["id"] in ids:
            raise UsageError(f"{path}:{lineno}: duplicate instance id {obj['id']!r}")
        ids.add(obj["id"])
        instances.append(obj)
    return instances


def read_predictions(path: str | Path) -> dict[str, str]:
    """Predictions by id from a JSON-lines file; any malformed line is a one-line UsageError.

    A null prediction (the model produced nothing) is kept as an empty, unparseable output.
    """
    path = Path(path)
    predictions: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, obj in _json_lines(path):
        for key in ("id", "prediction"):
            if key not in obj:
                raise UsageError(f"{path}:{lineno}: no {key!r} key; each line must be "
                                 f"{{\"id\": ..., \"prediction\": \"raw model output\"}}")
        pid, text = obj["id"], obj["prediction"]
        if not isinstance(pid, (str, int)) or isinstance(pid, bool):
            raise UsageError(f"{path}:{lineno}: \"id\" must be a string; got {json.dumps(pid)}")
        if text is not None and not isinstance(text, str):
            raise UsageError(f"{path}:{lineno}: \"prediction\" must be the raw model output as "
                             f"a string; got {type(text).__name__}")
        pid = str(pid)
        if pid in predictions:
            raise UsageError(f"{path}:{lineno}: duplicate id {pid!r} (first on line "
                             f"{first_line[pid]}); keep one prediction per id")
        predictions[pid] = text or ""
        first_line[pid] = lineno
    if not predictions:
        raise UsageError(f"predictions file {str(path)!r} has no predictions")
    return predictions


def _json_lines(path: Path) -> Iterable[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines file."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"file {str(path)!r} does not exist; check the path") from None
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    with handle:
        try:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{path}:{lineno}: not a JSON line ({exc.msg} at column "
                                     f"{exc.colno}); the file must hold one JSON object per "
                                     f"line") from None
                if not isinstance(obj, dict):
                    raise UsageError(f"{path}:{lineno}: expected a JSON object, got "
                                     f"{type(obj).__name__}")
                yield lineno, obj
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not UTF-8 text; is it a JSON-lines file?") from None


class SceneCache:
    """Scene JSON files of a benchmark, read once each and only when needed."""

    def __init__(self, benchmark_dir: str | Path) -> None:
        self.root = Path(benchmark_dir)
        self._scenes: dict[str, dict] = {}

    def objects(self, scene_id: str) -> list[dict]:
        """The object dicts of a scene."""
        if scene_id not in self._scenes:
            path = self.root / "scenes" / f"{scene_id}.json"
            try:
                scene = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise UsageError(f"scene file {str(path)!r} does not exist; the benchmark "
                                 f"directory is incomplete") from None
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read scene file {str(path)!r}: {exc}") from None
            if not isinstance(scene, dict) or not isinstance(scene.get("objects"), list):
                raise UsageError(f"scene file {str(path)!r} has no \"objects\" list")
            self._scenes[scene_id] = scene
        return self._scenes[scene_id]["objects"]


# ---------------------------------------------------------------------------------- scoring

@dataclass
class Cell:
    """Correct and total counts of one breakdown cell."""

    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        """Accuracy in percent (0 for an empty cell)."""
        return 100.0 * self.correct / self.total if self.total else 0.0

    def add(self, correct: bool) -> None:
        self.correct += int(correct)
        self.total += 1


@dataclass
class Report:
    """Scores of one predictions file; ``to_dict`` is the ``--json`` contract."""

    mode: str
    split: str
    precision: int | None
    overall_cell: Cell = field(default_factory=Cell)
    by_task: dict[str, Cell] = field(default_factory=dict)
    by_object_count: dict[str, Cell] = field(default_factory=dict)
    by_pair: dict[str, Cell] = field(default_factory=dict)
    by_min_linking_size: dict[str, Cell] = field(default_factory=dict)
    by_task_object_count: dict[str, dict[int, Cell]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # correct|wrong|unparseable|missing
    missing_ids: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    unparseable: int = 0
    wrong_answers: int = 0  # wrong among given predictions, unparseable included
    out_of_scene: int = 0

    @property
    def n(self) -> int:
        """Instances scored, missing ones included."""
        return self.overall_cell.total

    @property
    def overall(self) -> float:
        """Overall accuracy in percent."""
        return self.overall_cell.accuracy

    @property
    def ose(self) -> float:
        """Out-of-scene error: percent of wrong answers equal to no object's value (0 if none)."""
        return 100.0 * self.out_of_scene / self.wrong_answers if self.wrong_answers else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output: accuracies in percent, rounded to two decimals."""
        def accuracies(cells: dict[str, Cell]) -> dict[str, float]:
            return {key: round(cell.accuracy, 2) for key, cell in cells.items()}
        return {
            "n": self.n,
            "missing": len(self.missing_ids),
            "overall": round(self.overall, 2),
            "by_task": accuracies(self.by_task),
            "by_object_count": accuracies(self.by_object_count),
            "by_pair": accuracies(self.by_pair),
            "by_min_linking_size": accuracies(self.by_min_linking_size),
            "ose": round(self.ose, 2),
            "unparseable": self.unparseable,
            "unknown": len(self.unknown_ids),
            "mode": self.mode,
            "split": self.split,
        }


def score(benchmark_dir: str | Path, predictions_path: str | Path, mode: str = "lenient",
          split: str = "auto") -> Report:
    """Score a predictions file against a benchmark directory.

    ``split="auto"`` scores every split file that holds at least one predicted id. Ids missing
    from the predictions count as wrong; ids unknown to the benchmark are counted and ignored,
    unless no id is known at all (a predictions file for another benchmark: UsageError). With
    an explicit split, predictions for the other split are ignored.
    """
    _check_mode(mode)
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    pred_path = Path(predictions_path)
    if not pred_path.is_file():
        raise UsageError(f"predictions file {str(pred_path)!r} does not exist; check the path")
    loaded = load_instances(benchmark_dir, "all")
    if split in SPLIT_FILES and split not in loaded:
        load_instances(benchmark_dir, split)  # raises, naming the missing file
    predictions = read_predictions(pred_path)
    known = {inst["id"] for instances in loaded.values() for inst in instances}
    unknown = [pid for pid in predictions if pid not in known]
    if len(unknown) == len(predictions):
        raise UsageError(f"none of the {len(predictions)} ids in {str(pred_path)!r} is in the "
                         f"benchmark {str(benchmark_dir)!r} (first: {unknown[0]!r}); "
                         f"wrong benchmark directory?")
    chosen = _choose_splits(loaded, predictions, split)
    instances = [inst for name in chosen for inst in loaded[name]]
    if not any(inst["id"] in predictions for inst in instances):
        raise UsageError(f"no id in {str(pred_path)!r} belongs to split {split!r} of "
                         f"{str(benchmark_dir)!r}; choose the split the predictions are for")
    report = Report(mode=mode, split="all" if len(chosen) > 1 else chosen[0],
                    precision=_benchmark_precision(instances, Path(benchmark_dir)),
                    unknown_ids=unknown)
    scenes = SceneCache(benchmark_dir)
    for inst in instances:
        _score_instance(report, inst, predictions.get(inst["id"]), scenes)
    _sort_breakdowns(report)
    return report


def _choose_splits(loaded: dict[str, list[dict]], predictions: dict[str, str],
                   split: str) -> list[str]:
    if split in SPLIT_FILES:
        return [split]
    if split == "all":
        return list(loaded)
    return [name for name, insts in loaded.items() if any(i["id"] in predictions for i in insts)]


def _sort_breakdowns(report: Report) -> None:
    """Tasks in TASK_ORDER, counts and linking sizes numerically ("coords" last), pairs by name."""
    def numeric(key: str) -> tuple[int, int]:
        return (0, int(key)) if key.lstrip("-").isdigit() else (1, 0)
    task_rank = {task: i for i, task in enumerate(TASK_ORDER)}
    report.by_task = dict(sorted(report.by_task.items(),
                                 key=lambda kv: (task_rank.get(kv[0], len(task_rank)), kv[0])))
    report.by_object_count = dict(sorted(report.by_object_count.items(),
                                         key=lambda kv: numeric(kv[0])))
    report.by_pair = dict(sorted(report.by_pair.items()))
    report.by_min_linking_size = dict(sorted(report.by_min_linking_size.items(),
                                             key=lambda kv: numeric(kv[0])))
    report.by_task_object_count = {task: dict(sorted(report.by_task_object_count[task].items()))
                                   for task in report.by_task}


def _benchmark_precision(instances: list[dict], root: Path) -> int | None:
    """The instances' precision field; stats.json's when they have none; else 2."""
    values = {json.dumps(inst["precision"]) for inst in instances if "precision" in inst}
    if len(values) > 1:
        raise UsageError(f"benchmark {str(root)!r} mixes precisions {sorted(values)}; "
                         f"a benchmark has one precision")
    if values:
        return parse_precision(json.loads(values.pop()))
    stats = root / "stats.json"
    try:
        return parse_precision(json.loads(stats.read_text(encoding="utf-8")).get("precision", 2))
    except (OSError, ValueError, AttributeError):
        return 2


def _score_instance(report: Report, inst: dict, raw: str | None, scenes: SceneCache) -> None:
    precision = report.precision
    if raw is None:
        outcome, correct = "missing", False
        report.missing_ids.append(inst["id"])
    else:
        parsed = extract_answer(raw, report.mode)
        gold = inst["answer"]
        correct = parsed.ok and answers_match(parsed.value, gold, precision, report.mode)
        outcome = "correct" if correct else ("wrong" if parsed.ok else "unparseable")
        if not correct:
            report.wrong_answers += 1
            report.unparseable += not parsed.ok
            if not parsed.ok or not _in_scene(parsed.value, inst, scenes, report):
                report.out_of_scene += 1
    report.outcomes[inst["id"]] = outcome
    pair = f"{inst['pointer_attribute']}->{inst['target_attribute']}"
    size = inst["min_linking_size"]
    linking = "coords" if size is None else str(size)
    report.overall_cell.add(correct)
    for cells, key in ((report.by_task, inst["task"]),
                       (report.by_object_count, str(inst["object_count"])),
                       (report.by_pair, pair), (report.by_min_linking_size, linking)):
        cells.setdefault(key, Cell()).add(correct)
    per_task = report.by_task_object_count.setdefault(inst["task"], {})
    per_task.setdefault(int(inst["object_count"]), Cell()).add(correct)


def _in_scene(value: Any, inst: dict, scenes: SceneCache, report: Report) -> bool:
    """Whether the predicted value equals some object's value of the target attribute."""
    attribute = inst["target_attribute"]
    for obj in scenes.objects(inst["scene_id"]):
        candidate = object_value(obj, attribute)
        if candidate is None:
            continue
        if report.mode == "mate":
            candidate = round_value(candidate, report.precision)
        if answers_match(value, candidate, report.precision, report.mode):
            return True
    return False


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")


# ---------------------------------------------------------------------------------- output

def format_table(report: Report) -> str:
    """A plain-text summary for terminals: overall, OSE, breakdowns, and the missing ids."""
    precision = "full" if report.precision is None else report.precision
    lines = [
        f"split {report.split}, mode {report.mode}, precision {precision}",
        f"overall   {report.overall:6.1f}%  ({report.overall_cell.correct}/{report.n})",
        f"OSE       {report.ose:6.1f}%  ({report.out_of_scene}/{report.wrong_answers} "
        f"wrong answers out of scene)",
        f"missing {len(report.missing_ids)}, unparseable {report.unparseable}, "
        f"unknown ids {len(report.unknown_ids)}",
    ]
    sections = (("task", report.by_task), ("object count", report.by_object_count),
                ("pointer->target", report.by_pair),
                ("min linking size", report.by_min_linking_size))
    for title, cells in sections:
        width = max([len(title)] + [len(key) for key in cells])
        lines += ["", f"{title:<{width}}  {'acc':>6}  {'n':>6}"]
        lines += [f"{key:<{width}}  {cell.accuracy:5.1f}%  {cell.total:>6}"
                  for key, cell in cells.items()]
    for label, ids in (("missing ids", report.missing_ids),
                       ("unknown ids (ignored)", report.unknown_ids)):
        if ids:
            lines += ["", f"{label} ({len(ids)}):"] + _wrap(ids)
    return "\n".join(lines)


def _wrap(ids: list[str], width: int = 96) -> list[str]:
    rows, row = [], ""
    for item in ids:
        if row and len(row) + 2 + len(item) > width:
            rows.append(row + ",")
            row = ""
        row = f"{row}, {item}" if row else f"  {item}"
    return rows + [row]


def plot_accuracy(report: Report, path: str | Path) -> None:
    """Write a PNG of accuracy versus object count, one line per task (needs matplotlib)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(PLOT_NEEDS_MATPLOTLIB) from None
    out = Path(path)
    if not out.parent.is_dir():
        raise UsageError(f"--plot {str(out)!r}: directory {str(out.parent)!r} does not exist")
    fig = Figure(figsize=(7, 4.5), dpi=120)
    ax = fig.add_subplot()
    for task, cells in report.by_task_object_count.items():
        counts = sorted(cells)
        ax.plot(counts, [cells[c].accuracy for c in counts], marker="o", label=task)
    ax.set_xticks(sorted({c for cells in report.by_task_object_count.values() for c in cells}))
    ax.set_xlabel("objects in scene")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"accuracy by object count ({report.split}, {report.mode})")
    if report.by_task_object_count:
        ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_bytes(out, buffer.getvalue())


__all__ = [
    "Cell", "MODES", "PLOT_NEEDS_MATPLOTLIB", "Parsed", "Report", "SPLITS", "SceneCache",
    "answers_match", "extract_answer", "format_table", "load_instances", "object_value",
    "parse_precision", "plot_accuracy", "read_predictions", "round_value", "score",
]
