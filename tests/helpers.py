"""Helpers the test modules share: running the CLI (in this process or as users do), reading
what a run wrote, and the one-line error contract."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Ran:
    """What a command gave: its exit code and output (like subprocess.CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str) -> Ran:
    """``clevrlite ARGS`` through the console script's own entry point, in this process: the
    same parsing, errors and exit codes, without a process start. A bug's exception is not
    caught, so the test shows its traceback."""
    from clevrlite.cli import main

    out, err = io.StringIO(), io.StringIO()
    handler = signal.getsignal(signal.SIGTERM)
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        signal.signal(signal.SIGTERM, handler)
    return Ran(code, out.getvalue(), err.getvalue())


def clevrlite_command() -> list[str]:
    """The installed console script next to this interpreter, else the module entry point."""
    script = Path(sys.prefix) / "bin" / "clevrlite"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "clevrlite.cli"]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``clevrlite ARGS`` in a process of its own, as a user runs it (for signals, kills,
    environments and anything a fresh interpreter must show)."""
    return subprocess.run([*clevrlite_command(), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def start_cli(*args: str) -> subprocess.Popen:
    """``clevrlite ARGS`` started in its own process group, for tests that kill it."""
    return subprocess.Popen([*clevrlite_command(), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def assert_one_line_error(proc: Ran | subprocess.CompletedProcess, code: int,
                          *words: str) -> str:
    """The command failed with ``code`` and a single stderr line that names the command and
    contains every word; never a traceback."""
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("clevrlite"), lines[0]
    assert "error:" in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included) by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def read_jsonl(path: Path) -> list[dict]:
    """The objects of a JSON-lines file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def score_json(benchmark: Path, predictions: Path, *args: str) -> dict:
    """What ``clevrlite score --json`` prints for a predictions file."""
    ran = invoke("score", "--benchmark", str(benchmark), "--predictions", str(predictions),
                 "--json", *args)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def write_baseline(benchmark: Path, kind: str, out: Path) -> Path:
    """A baseline's predictions file (``clevrlite baseline KIND``)."""
    ran = invoke("baseline", kind, "--benchmark", str(benchmark), "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    return out


CHROMIUM_MISSING = ("Chromium and chromedriver are not installed: "
                    "apt-get install chromium chromium-driver")
# Headless Chromium on a closed network: without the background-networking flags it stalls.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) executables, or None where either is missing."""
    import shutil

    browser = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                    if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium(profile: Path, downloads: Path | None = None,
                   size: tuple[int, int] = (1280, 900)):
    """Headless Chromium under Selenium with a fresh profile; downloads go to ``downloads``.
    The caller checks chromium_paths() first (and skips with CHROMIUM_MISSING)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                 f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    if downloads is not None:
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads), "download.prompt_for_download": False})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    if downloads is not None:
        chrome.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": str(downloads)})
    return chrome


def wait_ready(chrome, timeout: float = 20) -> float:
    """Wait until the page marks itself ready (body data-ready); its milliseconds from
    navigation start to ready."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(chrome, timeout).until(
        lambda c: c.execute_script("return document.body && document.body.dataset.ready"))
    return float(chrome.execute_script("return Number(document.body.dataset.readyMs)"))
