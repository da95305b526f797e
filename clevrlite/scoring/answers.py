"""Finding and comparing answers in raw model outputs (DESIGN section 6).

``extract_answer`` finds the answer in a raw model output, in ``lenient`` mode (the last
JSON-like object with an "answer" key, tolerant of fences, quotes and prose) or in ``mate`` mode
(MATE's ``main_eval.clean_prediction`` rule, reproduced); ``answers_match`` decides whether a
parsed answer equals the gold one. The comparison rules are in clevrlite.scoring.evaluate's docstring.
"""

from __future__ import annotations

import ast
import bisect
import json
import math
import re
import warnings
from typing import Any, NamedTuple

from clevrlite.errors import UsageError
from clevrlite.precision import DEFAULT, Precision

MODES = ("lenient", "mate")
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
_SMART = re.compile("[\u201c\u201d\u201e\u2018\u2019]")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SPECIAL = re.compile(r"""[{}"'\\]""")  # what brace matching looks at
_OPEN_BRACE = re.compile(r"\{")
_JSON_ANSWER = re.compile(r'\{\s*"answer"\s*:')
_DECODER = json.JSONDecoder()


class Parsed(NamedTuple):
    """What a raw output yielded: ``ok`` is False when no answer could be found (unparseable)."""

    ok: bool
    value: Any = None


UNPARSEABLE = Parsed(False)


# ---------------------------------------------------------------------------------- parsing

def extract_answer(text: str, mode: str = "lenient") -> Parsed:
    """The answer in a raw model output: the last object with an "answer" key."""
    check_mode(mode)
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
    plain = text if text.isascii() or not _SMART.search(text) else text.translate(_SMART_QUOTES)
    if plain is text:
        quick = _only_json_answer(text)
        if quick is not None:
            return quick
    found = [f for f in (_last_answer_object(text),
                         _last_answer_object(plain) if plain is not text else None)
             if f is not None]
    if not found and '\\"' in text:
        found = [f for f in (_last_answer_object(text.replace('\\"', '"')),) if f is not None]
    if not found:
        return UNPARSEABLE
    return Parsed(True, max(found, key=lambda f: f[0])[1])


def _only_json_answer(text: str) -> Parsed | None:
    """The answer when the text's first brace opens a JSON object whose first key is "answer"
    and nothing after it has a brace or says answer (what RL completions mostly are); else
    None. In that case no other object can end later, so this is what the full search finds,
    only without scanning the text character by character."""
    start = text.find("{")
    if start < 0 or not _JSON_ANSWER.match(text, start):
        return None
    try:
        obj, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    rest = text[end:]
    if not isinstance(obj, dict) or "{" in rest or "}" in rest or _ANSWER_WORD.search(rest):
        return None
    return Parsed(True, obj["answer"])


def _last_answer_object(text: str) -> tuple[int, Any] | None:
    """(end, answer) of the candidate object that ends last; an outer object beats nested ones.

    Objects are tried from the one that could end last backwards, so the search stops at the
    first success instead of parsing every nested object of a long output; after
    ``_MAX_ATTEMPTS`` failed objects (degenerate output) it gives up.
    """
    mentions = [m.start() for m in _ANSWER_WORD.finditer(text)]
    ends: dict[int, int] = {}
    for start in (m.start() for m in _OPEN_BRACE.finditer(text)):
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

    Quoted strings (either quote) are skipped, so braces inside values do not count; inside
    quotes a backslash escapes the next character. Braces left open at the end of the text get
    -1. One scan serves all nested braces, and it visits only the characters that matter
    (braces, quotes, backslashes), which keeps long outputs linear and fast.
    """
    stack: list[int] = []
    quote, escaped = "", -1
    for found in _SPECIAL.finditer(text, start):
        i = found.start()
        if i == escaped:
            continue
        ch = found.group()
        if quote:
            if ch == "\\":
                escaped = i + 1
            elif ch == quote:
                quote = ""
        elif ch == '"' or ch == "'":
            quote = ch
        elif ch == "{":
            stack.append(i)
        elif ch == "}":
            ends[stack.pop()] = i
            if not stack:
                return
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

def answers_match(predicted: Any, gold: Any, precision: Precision | int | str = DEFAULT,
                  mode: str = "lenient") -> bool:
    """Whether a parsed answer equals the gold value, numbers compared at ``precision``."""
    check_mode(mode)
    if mode == "mate":
        return str(gold) == str(predicted).strip()
    return _lenient_equal(predicted, gold, Precision.parse(precision).digits)


def _lenient_equal(predicted: Any, gold: Any, digits: int | None) -> bool:
    if gold is None or isinstance(gold, bool):
        return predicted == gold
    if isinstance(gold, (int, float)):
        number = _as_number(predicted)
        return number is not None and _numbers_equal(number, gold, digits)
    if isinstance(gold, (list, tuple)):
        items = _as_list(predicted)
        return (items is not None and len(items) == len(gold)
                and all(_lenient_equal(p, g, digits) for p, g in zip(items, gold)))
    if isinstance(gold, str):
        if isinstance(predicted, (list, tuple, dict)) or predicted is None:
            return False
        gold_number, pred_number = _as_number(gold), _as_number(predicted)
        if gold_number is not None and pred_number is not None:
            return _numbers_equal(pred_number, gold_number, digits)
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


def _numbers_equal(predicted: float, gold: float, digits: int | None) -> bool:
    if digits is None:
        return float(predicted) == float(gold)
    return round(float(predicted), digits) == round(float(gold), digits)


def round_value(value: Any, precision: Precision | int | str) -> Any:
    """``value`` with every float (also inside lists) rounded at ``precision``."""
    return _round_floats(value, Precision.parse(precision).digits)


def _round_floats(value: Any, digits: int | None) -> Any:
    if digits is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, (list, tuple)):
        return [_round_floats(item, digits) for item in value]
    return value


def check_mode(mode: str) -> None:
    """Refuse an unknown scoring mode with a one-line usage error."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
