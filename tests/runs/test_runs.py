"""Run directories that cannot mix, clean stops, worker isolation, GPU spreading and bounded
placement (DESIGN 10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import assert_one_line_error, clevrlite_command, invoke, run_cli, tree

from clevrlite.errors import ClevrliteError, UsageError
from clevrlite.runs import dataset, gpus
from clevrlite.runs.pool import Pool

SMALL = ["--width", "96", "--height", "64", "--min-pixels", "10", "--n-objects", "3..5",
         "--formats", "json", "--quiet"]


# ------------------------------------------------------------------------------ manifests

def test_resume_with_other_options_names_each_one(tmp_path):
    out = tmp_path / "r"
    assert invoke("render", "--count", "2", "--out", str(out), *SMALL).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "render" and manifest["options"]["seed"] == 0
    before = tree(out)
    line = assert_one_line_error(invoke("render", *SMALL, "--count", "2", "--seed", "5",
                                        "--width", "128", "--resume", "--out", str(out)), 2)
    assert "--seed 5 (the run has 0)" in line and "--width 128 (the run has 96)" in line
    assert tree(out) == before  # nothing touched
    # what only chooses which scenes may change: a resume that extends the run
    assert invoke("render", "--count", "3", "--resume", "--out", str(out), *SMALL).returncode == 0
    assert len(list((out / "scenes").glob("*.json"))) == 3


def test_a_non_empty_out_needs_resume_or_overwrite(tmp_path):
    out = tmp_path / "r"
    assert invoke("render", "--count", "4", "--out", str(out), *SMALL).returncode == 0
    line = assert_one_line_error(invoke("render", "--count", "2", "--seed", "9", "--out",
                                        str(out), *SMALL), 2)
    assert "not empty" in line and "--resume" in line and "--overwrite" in line
    (out / "mine.txt").write_text("keep")
    assert invoke("render", "--count", "2", "--seed", "9", "--overwrite", "--out", str(out),
               *SMALL).returncode == 0
    assert len(list((out / "scenes").glob("*.json"))) == 2  # the old four are gone
    combined = json.loads((out / "scenes.json").read_text())
    assert combined["info"]["seed"] == 9 and len(combined["scenes"]) == 2
    assert (out / "mine.txt").read_text() == "keep"  # not clevrlite's: left alone


def test_overwrite_removes_only_what_the_run_wrote(tmp_path):
    """It used to delete images/, masks/, scenes/ and text/ by name, users' files with them."""
    out = tmp_path / "r"
    assert invoke("render", "--count", "3", "--out", str(out), *SMALL).returncode == 0
    written = len(tree(out))
    (out / "images" / "holiday.jpg").write_bytes(b"\xff\xd8 a photo")
    (out / "text" / "thesis.txt").write_text("chapter one")
    (out / "images" / "CLEVRLITE_new_000001.png.bak").write_bytes(b"a backup")
    proc = invoke("render", "--count", "1", "--seed", "3", "--overwrite", "--out", str(out),
                  *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert f"removed {written} files" in proc.stderr
    assert (out / "images" / "holiday.jpg").read_bytes() == b"\xff\xd8 a photo"
    assert (out / "text" / "thesis.txt").read_text() == "chapter one"
    assert (out / "images" / "CLEVRLITE_new_000001.png.bak").exists()
    assert sorted(p.name for p in (out / "scenes").iterdir()) == ["CLEVRLITE_new_000000.json"]


def test_benchmark_overwrite_keeps_what_it_did_not_write(tmp_path):
    out = tmp_path / "b"
    assert invoke(*BENCH_SMALL, "--out", str(out)).returncode == 0
    (out / "images" / "holiday.jpg").write_bytes(b"a photo")
    (out / "notes.md").write_text("my notes")
    proc = invoke(*BENCH_SMALL, "--seed", "4", "--overwrite", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "removed" in proc.stderr
    assert (out / "images" / "holiday.jpg").read_bytes() == b"a photo"
    assert (out / "notes.md").read_text() == "my notes"
    assert json.loads((out / "manifest.json").read_text())["options"]["seed"] == 4


def test_overwrite_refuses_a_folder_no_run_wrote(tmp_path):
    out = tmp_path / "photos"
    (out / "images").mkdir(parents=True)
    (out / "images" / "holiday.jpg").write_bytes(b"a photo")
    (out / "text").mkdir()
    (out / "text" / "thesis.txt").write_text("chapter one")
    before = tree(out)
    for command in (["render", "--count", "1", *SMALL], BENCH_SMALL):
        line = assert_one_line_error(invoke(*command, "--overwrite", "--out", str(out)), 2,
                                     "no manifest.json", "another --out")
        assert str(out) in line
    assert tree(out) == before


def test_benchmark_directories_do_not_mix_either(tmp_path):
    out = tmp_path / "b"
    args = ["benchmark", "--size", "2", "--unimodal-size", "0", "--shots", "0", "--n-objects",
            "3", "--workers", "1", "--out", str(out), "--quiet"]
    assert invoke(*args).returncode == 0
    line = assert_one_line_error(invoke(*args, "--resume", "--format", "yaml", "--seed", "3"),
                                 2)
    assert "--format \"yaml\" (the run has \"json\")" in line and "--seed 3" in line
    assert "not empty" in assert_one_line_error(invoke(*args), 2)
    line = assert_one_line_error(invoke("render", "--count", "1", "--resume", "--out", str(out),
                                        *SMALL), 2)
    assert "benchmark run, not a render run" in line


def test_files_are_synced_before_the_index(tmp_path, monkeypatch):
    from clevrlite.placement import PlacementOptions
    from clevrlite import fsutil

    events = []
    monkeypatch.setattr(fsutil, "sync_tree", lambda root: events.append(("sync", root)))
    real = dataset.write_combined
    monkeypatch.setattr(dataset, "write_combined",
                        lambda o, i: (events.append(("index", o.out)), real(o, i)))
    options = dataset.RenderOptions(out=tmp_path / "r", count=2, formats=(),
                                    placement=PlacementOptions(width=64, height=48,
                                                               n_objects=(3, 3)),
                                    min_pixels=5)
    dataset.render_dataset(options)
    assert events == [("sync", tmp_path / "r"), ("index", tmp_path / "r")]
    fsutil.sync_tree(tmp_path / "r")  # the real one runs (syncfs, or fsync per file)


# ------------------------------------------------------------------------------ stopping

def test_sigterm_stops_cleanly_and_resume_finishes_to_the_same_bytes(tmp_path):
    args = ["render", "--count", "40", "--workers", "2", "--seed", "4", *SMALL]
    stopped, whole = tmp_path / "stopped", tmp_path / "whole"
    proc = subprocess.Popen([*clevrlite_command(), *args, "--out", str(stopped)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((stopped / "scenes").glob("*.json"))) < 5:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "SIGTERM" in lines[0] and "--resume" in lines[0]
    done = len(list((stopped / "scenes").glob("*.json")))
    assert 5 <= done < 40 and not (stopped / "scenes.json").exists()
    assert not list(stopped.rglob("*.part"))
    assert invoke(*args, "--resume", "--out", str(stopped)).returncode == 0
    assert invoke("render", "--count", "40", "--workers", "1", "--seed", "4", *SMALL, "--out",
               str(whole)).returncode == 0
    assert tree(stopped) == tree(whole)


def test_full_size_scenes_are_the_same_bytes_whatever_the_worker_count(tmp_path):
    """At the default size, with metal reflections and contact darkening in play."""
    runs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        proc = invoke("render", "--count", "6", "--seed", "3", "--workers", workers, "--quiet",
                   "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        runs[workers] = tree(out)
    assert len(runs["1"]) > 20 and runs["1"] == runs["2"]


def test_one_worker_renders_in_a_child_process(tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from clevrlite.placement import PlacementOptions\n"
        "from clevrlite.runs.dataset import RenderOptions, render_dataset\n"
        f"render_dataset(RenderOptions(out=Path({str(tmp_path / 'r')!r}), count=1, workers=1,"
        " formats=(), min_pixels=5, placement=PlacementOptions(width=64, height=48)))\n"
        "print('OpenGL' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"  # the GL context lived in the child


def _crash(state, item):
    if item == 3:
        os.abort()  # what a crash in a GL driver looks like from outside
    return item


def _no_state():
    return None


def test_a_crash_in_the_one_worker_is_a_clean_error():
    with Pool(1, _no_state) as pool:
        with pytest.raises(ClevrliteError, match="worker process died"):
            list(pool.map(_crash, range(6)))


def _environment(state, item):
    time.sleep(0.3)  # long enough for the pool to start its second worker
    return os.environ.get("EGL_DEVICE_ID")


def test_workers_get_their_egl_device_in_turn():
    envs = gpus.worker_environments([1, 3])
    with Pool(2, _no_state, envs) as pool:
        seen = set(pool.map(_environment, range(8)))
    assert seen == {"1", "3"}


# ------------------------------------------------------------------------------- GPUs

NODE = [  # EGL's order is not CUDA's; Mesa's software device comes last
    {"index": 0, "name": "/dev/dri/card1", "cuda": 1, "software": False},
    {"index": 1, "name": "/dev/dri/card0", "cuda": 0, "software": False},
    {"index": 2, "name": "/dev/dri/card2", "cuda": 2, "software": False},
    {"index": 3, "name": "no DRM node", "cuda": None, "software": True},
]


def test_gpu_plans_follow_cuda_indices_through_egl():
    assert gpus.plan("all", NODE) == [1, 0, 2]  # CUDA 0, 1, 2
    assert gpus.plan("0,2", NODE) == [1, 2]
    assert gpus.plan("1", NODE) == [0]
    assert gpus.egl_device_for_cuda(0, NODE) == 1
    assert gpus.egl_device_for_cuda(7, NODE) is None
    with pytest.raises(UsageError, match="no GPU with CUDA index 5"):
        gpus.plan("0,5", NODE)
    with pytest.raises(UsageError, match="'all' or"):
        gpus.plan("first", NODE)
    with pytest.raises(UsageError, match="no GPU EGL device"):
        gpus.plan("all", NODE[3:])
    # a driver without EGL_NV_device_cuda: the GPUs in EGL's order
    plain = [{**d, "cuda": None} for d in NODE]
    assert gpus.plan("all", plain) == [0, 1, 2] and gpus.plan("1", plain) == [1]
    assert "EGL 1 = CUDA 0" in gpus.describe(NODE)
    assert "software" in gpus.describe(NODE[3:])


def test_doctor_says_which_devices_workers_would_use():
    proc = run_cli("doctor")
    assert proc.returncode == 0, proc.stderr
    assert "gpus:" in proc.stdout


def test_gpus_on_a_machine_without_one_is_a_usage_error(tmp_path):
    line = assert_one_line_error(run_cli("render", "--count", "1", "--gpus", "all", "--out",
                                         str(tmp_path / "r"), *SMALL), 2)
    assert "--gpus" in line and "no GPU" in line


BENCH_SMALL = ["benchmark", "--size", "2", "--unimodal-size", "0", "--shots", "0",
               "--n-objects", "3", "--workers", "1", "--quiet"]


# ------------------------------------------------------------------------- placement time

@pytest.mark.parametrize("count", [45, 60, 150, 400])
def test_counts_that_cannot_fit_fail_at_once_naming_the_numbers(tmp_path, count,
                                                               monkeypatch):
    """A capacity estimate refuses them before any worker starts sampling (they took 31-61 s
    to fail)."""
    def no_work(*args, **kwargs):
        raise AssertionError("a worker pool started for a count that cannot fit")

    monkeypatch.setattr(dataset, "make_pool", no_work)
    proc = invoke("render", "--n-objects", str(count), "--count", "1", "--workers", "1",
                  "--formats", "none", "--out", str(tmp_path / "r"))
    line = assert_one_line_error(proc, 2, f"--n-objects {count}", "480x320", "200 pixels")
    assert "at most 39" in line and "--min-pixels" in line
    assert not (tmp_path / "r").exists()


def test_the_largest_count_the_estimate_accepts_renders(tmp_path):
    proc = invoke("render", "--n-objects", "39", "--count", "1", "--workers", "1",
                  "--formats", "none", "--out", str(tmp_path / "r"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    scene = json.loads(next((tmp_path / "r" / "scenes").glob("*.json")).read_text())
    assert len(scene["objects"]) == 39
    assert min(o["visible_pixels"] for o in scene["objects"]) >= 200


def test_a_scene_that_keeps_hiding_objects_stops_at_its_budget(monkeypatch):
    """60 objects at 480x320 place, but some always hide: the scene's budget ends it."""
    from clevrlite.errors import PlacementError
    from clevrlite.placement import PlacementOptions
    from clevrlite import pipeline
    from clevrlite.vocab import load_vocabulary

    monkeypatch.setattr(pipeline, "SCENE_BUDGET", 3.0)
    maker = pipeline.SceneMaker(load_vocabulary(), PlacementOptions(n_objects=(60, 60)))
    try:
        start = time.monotonic()
        with pytest.raises(PlacementError, match="60 objects|could not place 60"):
            maker.make(0, 0)
        assert time.monotonic() - start < 3.0 + 5.0  # the budget, and one last render
    finally:
        maker.close()
