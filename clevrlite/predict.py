"""Model in the loop (DESIGN 9): send a benchmark's prompts to an OpenAI-compatible endpoint.

Any server that speaks the Chat Completions protocol works: vLLM, SGLang, Ollama, LM Studio,
hosted APIs. Each instance becomes one user message holding its images (as base64 data URLs,
in the order its prompt numbers them) and then its prompt text. Answers go to a predictions
file that ``clevrlite score`` reads: one JSON line per answered instance, written whole, so a
killed run leaves no half line and ``--resume`` finishes the job.

Requests run ``concurrency`` at a time; 429, 5xx, timeouts and broken bodies are retried with
exponential backoff (honouring Retry-After), up to ``retries`` times, after which the instance
counts as failed and is left for a later ``--resume``. An endpoint that cannot be reached at
all, or that fails ``STOP_AFTER`` requests in a row (``STOP_BEFORE_ANY`` over at least seven
back-off units while none has been answered yet and the failures are not rate limits), stops
the run with one line naming the URL and the last status; the file is created only once an
answer has come, so a run that got none leaves nothing behind. Each line names the benchmark it answers (its fingerprint), which
``clevrlite score`` checks. The API key comes from the environment (OPENAI_API_KEY, or the
variable ``--api-key-env`` names) and is never printed.
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from clevrlite.errors import ClevrliteError, UsageError, needs_extra
from clevrlite.bench.reader import fingerprint, load_instances

NEEDS_OPENAI = needs_extra("predict needs the openai client library", "predict")
RETRY_STATUS = (408, 409, 429)  # and every 5xx
# Requests failed in a row, none answered between, before a run stops: a server failing
# every request stops within seconds, while one failing half of them at random (which
# retries ride out) would need a million requests to reach it by chance.
STOP_AFTER = 20
# A server that has not answered once in this run and fails for any reason but a rate limit
# is most likely misconfigured or down: it stops sooner, after STOP_BEFORE_ANY failures in a
# row that span at least GRACE_BACKOFFS back-off units (7 s at the defaults, where 20 failures
# took 40 s), so that a server still loading its model (503 for a few seconds) is waited for
# whatever the concurrency. A 429 says the server works, so it waits for STOP_AFTER.
STOP_BEFORE_ANY = 8
GRACE_BACKOFFS = 7  # the first three retries' waits: 1 + 2 + 4


@dataclass(frozen=True)
class PredictOptions:
    """What a predict run needs; the CLI maps its flags onto these."""

    benchmark: Path
    base_url: str
    model: str
    out: Path
    split: str = "all"
    concurrency: int = 4
    retries: int = 5
    timeout: float = 120.0
    limit: int | None = None
    resume: bool = False
    api_key_env: str = "OPENAI_API_KEY"
    max_tokens: int | None = None
    temperature: float | None = 0.0
    backoff: float = 1.0  # seconds before the first retry, doubling each time


@dataclass
class PredictSummary:
    """What a run did."""

    done: int = 0
    failed: int = 0
    skipped: int = 0  # answered by an earlier run
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: list[str] = field(default_factory=list)  # the first few failures, one line each


class Unreachable(ClevrliteError):
    """The endpoint could not be reached at all, or failed too many requests in a row."""


class _Health:
    """Shared by the request threads: whether any request got through, and how many have
    failed in a row since the last that did."""

    def __init__(self, base_url: str, grace: float = 0.0) -> None:
        self.base_url = base_url
        self.grace = grace  # seconds a run of failures must last before the first answer
        self.reached = threading.Event()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._since = 0.0  # when the current run of failures began

    def answered(self) -> None:
        with self._lock:
            self._in_a_row = 0
        self.reached.set()

    def failed(self, exc: BaseException) -> None:
        """Count a failed request; raises Unreachable once STOP_AFTER have failed in a row
        (STOP_BEFORE_ANY lasting ``grace`` seconds before the first answer, unless
        rate-limited)."""
        patient = self.reached.is_set() or getattr(exc, "status_code", None) == 429
        limit = STOP_AFTER if patient else STOP_BEFORE_ANY
        now = time.monotonic()
        with self._lock:
            if self._in_a_row == 0:
                self._since = now
            self._in_a_row += 1
            count = self._in_a_row
            give_up = count >= limit and (patient or now - self._since >= self.grace)
        if give_up:
            self.stop.set()
            raise Unreachable(f"stopped after {count} requests in a row failed, the last "
                              f"with {_status(exc)} from {self.base_url} ({_one_line(exc)}); "
                              f"fix the endpoint, then rerun with --resume")


class _LazyLines:
    """Appends JSON lines to a file that is created only when the first line comes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "ab")
        self._fh.write((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def image_url(path: Path) -> str:
    """A PNG file as a data URL."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def messages(instance: dict[str, Any], benchmark: Path) -> list[dict[str, Any]]:
    """The chat messages of one instance: its images, then its prompt."""
    images = instance.get("images")
    if images is None:  # benchmarks from before multi-image prompts
        images = [instance["image"]] if instance.get("image") else []
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image_url(benchmark / path)}}
        for path in images]
    content.append({"type": "text", "text": instance["prompt"]})
    return [{"role": "user", "content": content}]


def _api_key(env: str) -> str:
    if env != "OPENAI_API_KEY" and env not in os.environ:
        raise UsageError(f"--api-key-env {env}: the environment has no {env}; export it or "
                         f"leave the flag out (local servers need no key)")
    return os.environ.get(env) or "no-key"  # local servers (vLLM, Ollama) accept any


def _client(options: PredictOptions) -> Any:
    try:
        import openai
    except ImportError:
        raise UsageError(NEEDS_OPENAI) from None
    return openai.OpenAI(base_url=options.base_url, api_key=_api_key(options.api_key_env),
                         timeout=options.timeout, max_retries=0)


def answered(path: Path) -> set[str]:
    """Ids a predictions file already holds; a last line cut off by a kill is dropped."""
    if not path.is_file():
        return set()
    data = path.read_bytes()
    good = data if data.endswith(b"\n") or not data else data[: data.rfind(b"\n") + 1]
    if len(good) != len(data):
        with open(path, "r+b") as fh:
            fh.truncate(len(good))
    ids = set()
    for lineno, line in enumerate(good.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            ids.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{path}:{lineno}: not a predictions line; move the file away or "
                             f"drop --resume") from None
    return ids


def _retryable(exc: BaseException) -> tuple[bool, float | None]:
    """Whether a failed request is worth another try, and the server's Retry-After."""
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return True, None
    if isinstance(exc, openai.APIStatusError):
        after = exc.response.headers.get("retry-after") if exc.response is not None else None
        try:
            wait_for = float(after) if after is not None else None
        except ValueError:
            wait_for = None
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500, wait_for
    return isinstance(exc, (ValueError, openai.APIResponseValidationError)), None


def _status(exc: BaseException) -> str:
    """What a failed request got, in a few words: "HTTP 500", "a timeout"."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError):
        return "a timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "a connection error"
    return "a broken answer" if isinstance(exc, ValueError) else type(exc).__name__


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _ask(client: Any, options: PredictOptions, instance: dict[str, Any], health: _Health,
         source: str) -> dict[str, Any]:
    """One instance's predictions line, after retries; raises the last error. A connection
    failure before any request has got through means the endpoint is not there at all."""
    import openai

    request: dict[str, Any] = {"model": options.model,
                               "messages": messages(instance, options.benchmark)}
    if options.max_tokens is not None:
        request["max_tokens"] = options.max_tokens
    if options.temperature is not None:
        request["temperature"] = options.temperature
    delay = options.backoff
    for attempt in range(options.retries + 1):
        try:
            response = client.chat.completions.create(**request)
            text = response.choices[0].message.content
            if text is None:
                raise ValueError("the answer has no text content")
            health.answered()
            usage = getattr(response, "usage", None)
            return {"id": instance["id"], "prediction": text, "model": options.model,
                    "usage": {"prompt_tokens": getattr(usage, "prompt_tokens", None),
                              "completion_tokens": getattr(usage, "completion_tokens", None)}
                    if usage is not None else None, "benchmark": source}
        except Exception as exc:  # noqa: BLE001 - every failure is retried or reported
            retry, after = _retryable(exc)
            if isinstance(exc, openai.APIConnectionError) and not isinstance(
                    exc, openai.APITimeoutError) and not health.reached.is_set():
                raise Unreachable(f"cannot reach {options.base_url}: "
                                  f"{_one_line(exc.__cause__ or exc)}") from None
            health.failed(exc)
            if not retry or attempt == options.retries or health.stop.is_set():
                raise
            if health.stop.wait(after if after is not None
                                else delay * (1 + random.random() / 4)):
                raise
            delay *= 2
    raise AssertionError("unreachable")


def predict(options: PredictOptions, progress: bool = False) -> PredictSummary:
    """Answer every instance of the benchmark (or the first ``limit``) into ``options.out``."""
    if options.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {options.concurrency}")
    if options.limit is not None and options.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {options.limit}")
    if options.timeout <= 0 or options.retries < 0:
        raise UsageError("--timeout must be positive and --retries 0 or more")
    if not options.base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url {options.base_url!r} is not an http(s) URL; give e.g. "
                         f"http://localhost:8000/v1")
    instances = [i for split in load_instances(options.benchmark, options.split).values()
                 for i in split]
    if options.limit is not None:
        instances = instances[:options.limit]
    out = options.out
    if out.exists() and not options.resume:
        raise UsageError(f"--out {str(out)!r} already exists; use --resume to finish it, or "
                         f"choose another file")
    if not out.parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: directory {str(out.parent)!r} does not exist")
    done = answered(out) if options.resume else set()
    todo = [i for i in instances if i["id"] not in done]
    summary = PredictSummary(skipped=len(instances) - len(todo))
    client = _client(options)
    health = _Health(options.base_url, GRACE_BACKOFFS * options.backoff)
    source = fingerprint(options.benchmark)
    lines = _LazyLines(out)
    from tqdm import tqdm

    with tqdm(total=len(todo), unit="answer", disable=not progress) as bar, \
            ThreadPoolExecutor(options.concurrency) as pool:
        pending: set = set()
        queue: Iterator[dict] = iter(todo)
        try:
            while True:
                while len(pending) < 2 * options.concurrency and not health.stop.is_set():
                    instance = next(queue, None)
                    if instance is None:
                        break
                    pending.add(pool.submit(_ask, client, options, instance, health, source))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        line = future.result()
                    except Unreachable:
                        health.stop.set()
                        raise
                    except Exception as exc:  # noqa: BLE001 - counted, reported, resumable
                        summary.failed += 1
                        if len(summary.errors) < 5:
                            summary.errors.append(_one_line(exc))
                    else:
                        lines.write(line)
                        summary.done += 1
                        usage = line.get("usage") or {}
                        summary.prompt_tokens += usage.get("prompt_tokens") or 0
                        summary.completion_tokens += usage.get("completion_tokens") or 0
                    bar.update(1)
        except BaseException:
            health.stop.set()
            for future in pending:
                future.cancel()
            raise
        finally:
            lines.close()
    return summary
