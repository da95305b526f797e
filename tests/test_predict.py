"""clevrlite predict against a real HTTP server on 127.0.0.1 speaking Chat Completions."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from chat_server import ChatServer
from helpers import clevrlite_command, run_cli
from clevrlite.errors import UsageError
from clevrlite.predict import PredictOptions, predict
from clevrlite.scoring.evaluate import score

SECRET = "sk-test-do-not-print-7731"


def run(*args, env=None, **kwargs):
    """The console script in a process of its own, with the API key in its environment."""
    return run_cli(*args, env={**os.environ, "OPENAI_API_KEY": SECRET, **(env or {})}, **kwargs)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """A small MATE benchmark with multi-image prompts (examples from other scenes)."""
    from clevrlite.bench.build import BenchmarkOptions, build_benchmark

    out = tmp_path_factory.mktemp("predict") / "bench"
    build_benchmark(BenchmarkOptions(out=out, size=12, unimodal_size=6, n_objects=(3, 4),
                                     workers=1))
    return out


def instances(bench):
    return [json.loads(l) for f in ("cross_modal.jsonl", "unimodal.jsonl")
            for l in (bench / f).read_text().splitlines()]


def oracle_reply(bench):
    """Answers each prompt with its gold answer, found by the prompt text."""
    gold = {i["prompt"]: i["answer"] for i in instances(bench)}

    def reply(request):
        text = request["messages"][0]["content"][-1]["text"]
        return 'Sure. {"answer": ' + json.dumps(gold[text]) + "}"
    return reply


def test_answers_images_and_prompt_then_score(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    with ChatServer(oracle_reply(bench)) as server:
        proc = run("predict", "--benchmark", str(bench), "--base-url", server.base_url,
                   "--model", "ok", "--out", str(out))
        requests = list(server.requests)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "answered 18, failed 0, tokens 198 in / 126 out" in proc.stdout
    assert all(r["headers"].get("authorization", r["headers"].get("Authorization"))
               == f"Bearer {SECRET}" for r in requests)
    by_prompt = {i["prompt"]: i for i in instances(bench)}
    for r in requests:
        content = r["body"]["messages"][0]["content"]
        inst = by_prompt[content[-1]["text"]]
        urls = [c["image_url"]["url"] for c in content[:-1]]
        assert [base64.b64decode(u.split(",", 1)[1]) for u in urls] == \
            [(bench / p).read_bytes() for p in inst["images"]]
        assert all(u.startswith("data:image/png;base64,") for u in urls)
        assert r["body"]["model"] == "ok" and r["path"] == "/v1/chat/completions"
    assert score(bench, out).overall == 100.0


def test_rate_limits_are_retried_until_they_pass(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    with ChatServer() as server:
        summary = predict(PredictOptions(benchmark=bench, base_url=server.base_url,
                                         model="flaky", out=out, limit=4, backoff=0.01))
        calls = list(server.calls.values())
    assert (summary.done, summary.failed) == (4, 0)
    assert calls == [3, 3, 3, 3]  # two 429s, then the answer


def test_server_errors_fail_cleanly_and_resume_finishes(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    with ChatServer() as server:
        proc = run("predict", "--benchmark", str(bench), "--base-url", server.base_url,
                   "--model", "broken", "--out", str(out), "--retries", "1", "--limit", "3")
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "3 requests failed" in lines[0] and "--resume" in lines[0]
        assert "Traceback" not in proc.stderr
        assert not out.exists()  # a run that got no answer leaves nothing behind
        assert sum(server.calls.values()) == 6  # two tries each, under STOP_BEFORE_ANY
        proc = run("predict", "--benchmark", str(bench), "--base-url", server.base_url,
                   "--model", "ok", "--out", str(out), "--limit", "3", "--resume")
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize("model, options, why", [
    ("garbage", {"retries": 1}, "Expecting value"),
    ("slow", {"timeout": 0.5, "retries": 0}, "timed out"),
])
def test_broken_and_slow_answers_count_as_failed(bench, tmp_path, model, options, why):
    out = tmp_path / "p.jsonl"
    with ChatServer(slow_seconds=2.0) as server:
        summary = predict(PredictOptions(benchmark=bench, base_url=server.base_url, model=model,
                                         out=out, limit=2, backoff=0.01, **options))
    assert (summary.done, summary.failed) == (0, 2) and why in summary.errors[0]
    assert not out.exists()


def test_slow_answers_within_the_timeout_are_kept(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    with ChatServer(slow_seconds=0.5) as server:
        summary = predict(PredictOptions(benchmark=bench, base_url=server.base_url,
                                         model="slow", out=out, limit=4, concurrency=4,
                                         timeout=5))
    assert summary.done == 4


def test_a_killed_run_leaves_whole_lines_and_resume_finishes_it(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    with ChatServer(slow_seconds=0.3) as server:
        proc = subprocess.Popen([*clevrlite_command(), "predict", "--benchmark", str(bench),
                                 "--base-url", server.base_url, "--model", "slow", "--out",
                                 str(out), "--concurrency", "2", "--quiet"],
                                env={**os.environ, "OPENAI_API_KEY": SECRET})
        deadline = time.time() + 20
        while time.time() < deadline and len(out.read_bytes().splitlines()
                                             if out.exists() else []) < 4:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with out.open("ab") as fh:
            fh.write(b'{"id": "cm_0000')  # a line cut off mid-write
        done = run("predict", "--benchmark", str(bench), "--base-url", server.base_url,
                   "--model", "ok", "--out", str(out), "--resume")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(i["id"] for i in instances(bench))
    assert "from before" in done.stdout


def test_unreachable_endpoint_is_one_line_with_the_url(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    args = ["predict", "--benchmark", str(bench), "--base-url", "http://127.0.0.1:9/v1",
            "--model", "m", "--out", str(out)]
    proc = run(*args)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "http://127.0.0.1:9/v1" in lines[0] and "refused" in lines[0]
    assert not out.exists()  # it used to leave 0 bytes that the next run refused
    again = run(*args)
    assert "already exists" not in again.stderr and "refused" in again.stderr


def test_a_server_failing_every_request_stops_early_naming_status_and_url(bench, tmp_path):
    """HTTP 500 forever used to cost 6 tries of every instance (48 requests and 72 s for 8);
    a server that never answered stops after STOP_BEFORE_ANY failures (about 7 s at the
    default back-off, benchmarks/RESULTS.md; a short one here)."""
    from clevrlite.predict import STOP_BEFORE_ANY, Unreachable

    out = tmp_path / "p.jsonl"
    with ChatServer() as server:
        with pytest.raises(Unreachable) as stopped:
            predict(PredictOptions(benchmark=bench, base_url=server.base_url, model="broken",
                                   out=out, concurrency=2, backoff=0.05))
        requests = sum(server.calls.values())
    line = str(stopped.value)
    for words in ("HTTP 500", server.base_url, "in a row", "--resume"):
        assert words in line and "\n" not in line
    counted = int(re.search(r"stopped after (\d+) requests in a row", line).group(1))
    assert STOP_BEFORE_ANY <= counted <= requests <= STOP_BEFORE_ANY + 4  # two in flight
    assert not out.exists()


def test_a_server_still_loading_is_waited_for_whatever_the_concurrency(bench, tmp_path):
    """503 for a while at start-up: many requests fail in a row within the first back-offs,
    more than STOP_BEFORE_ANY at this concurrency, but the run waits the grace and finishes."""
    from clevrlite.predict import STOP_BEFORE_ANY

    out = tmp_path / "p.jsonl"
    with ChatServer(loading_seconds=0.5) as server:
        summary = predict(PredictOptions(benchmark=bench, base_url=server.base_url,
                                         model="loading", out=out, limit=8, concurrency=8,
                                         backoff=0.1))
        failed = sum(1 for r in server.requests if r["body"]["model"] == "loading") - 8
    assert (summary.done, summary.failed) == (8, 0)
    assert failed >= STOP_BEFORE_ANY  # the old rule would have stopped here


def test_one_answer_resets_the_run_of_failures(bench, tmp_path):
    """A server that fails two requests in three never stops the run: retries ride it out."""
    out = tmp_path / "p.jsonl"
    with ChatServer() as server:
        summary = predict(PredictOptions(benchmark=bench, base_url=server.base_url,
                                         model="flaky", out=out, backoff=0.001, retries=3))
    assert (summary.done, summary.failed) == (18, 0)


def test_lines_name_the_benchmark_and_score_refuses_another(bench, tmp_path):
    from clevrlite.bench.build import BenchmarkOptions, build_benchmark
    from clevrlite.bench.reader import fingerprint

    out = tmp_path / "p.jsonl"
    with ChatServer(oracle_reply(bench)) as server:
        predict(PredictOptions(benchmark=bench, base_url=server.base_url, model="ok", out=out,
                               limit=3))
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert {r["benchmark"] for r in rows} == {fingerprint(bench)}
    assert fingerprint(bench).startswith("mate-seed117-")
    other = tmp_path / "other"
    build_benchmark(BenchmarkOptions(out=other, size=12, unimodal_size=6, n_objects=(3, 4),
                                     workers=1, seed=1))
    with pytest.raises(UsageError, match=r"was made for another benchmark \(mate-seed117-"):
        score(other, out)


def test_bad_input(bench, tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text("")
    proc = run("predict", "--benchmark", str(bench), "--base-url", "http://x/v1", "--model",
               "m", "--out", str(out))
    assert proc.returncode == 2 and "--resume" in proc.stderr
    proc = run("predict", "--benchmark", str(bench), "--base-url", "localhost:8000", "--model",
               "m", "--out", str(tmp_path / "q.jsonl"))
    assert proc.returncode == 2 and "http" in proc.stderr
    proc = run("predict", "--benchmark", str(bench), "--base-url", "http://x/v1", "--model",
               "m", "--out", str(tmp_path / "r.jsonl"), "--api-key-env", "NO_SUCH_KEY_VAR")
    assert proc.returncode == 2 and "NO_SUCH_KEY_VAR" in proc.stderr


def test_a_missing_extra_names_the_pip_command(bench, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(UsageError, match=r"pip install -e '\.\[predict\]'"):
        predict(PredictOptions(benchmark=bench, base_url="http://x/v1", model="m",
                               out=tmp_path / "p.jsonl"))
