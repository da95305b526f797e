"""The built wheel, not the editable install: it builds without setuptools warnings, installs
into a fresh virtual environment, and renders and builds a benchmark from there."""

import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.wheel, pytest.mark.slow]


def test_the_wheel_installs_and_runs_in_a_fresh_venv(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist),
                           str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if re.search(r"\w+Warning\b|^\s*!!", line)]
    assert warnings == [], "\n".join(warnings)
    (wheel,) = dist.glob("clevrlite-*.whl")
    env = tmp_path / "fresh"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = tmp_path / "elsewhere"  # away from the source tree, so only the wheel is imported
    work.mkdir()
    clevrlite = env / "bin" / "clevrlite"
    where = subprocess.run([str(python), "-c", "import clevrlite, sys; print(clevrlite.__file__)"],
                           capture_output=True, text=True, cwd=work)
    assert str(env) in where.stdout, where.stdout + where.stderr
    proc = subprocess.run([str(clevrlite), "render", "--count", "2", "--workers", "1", "--out",
                           "r"], capture_output=True, text=True, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert len(list((work / "r" / "images").glob("*.png"))) == 2
    assert (work / "r" / "scenes.json").is_file()
    proc = subprocess.run([str(clevrlite), "benchmark", "--size", "4", "--unimodal-size", "2",
                           "--n-objects", "3..4", "--workers", "1", "--out", "b"],
                          capture_output=True, text=True, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert len((work / "b" / "cross_modal.jsonl").read_text().splitlines()) == 4
    proc = subprocess.run([str(clevrlite), "baseline", "oracle", "--benchmark", "b", "--out",
                           "o.jsonl"], capture_output=True, text=True, cwd=work)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(clevrlite), "report", "b", "-p", "o.jsonl", "--out", "site"],
                          capture_output=True, text=True, cwd=work)
    assert proc.returncode == 0, proc.stderr  # the pages' static files are package data
    assert {p.name for p in (work / "site").iterdir()} >= {"index.html", "report.js",
                                                            "style.css"}
