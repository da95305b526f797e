"""Pre-emption and fault injection (issue 7): nothing is lost or corrupt, nothing hangs.

Runs are killed with SIGKILL at several moments (the whole process group, or only the main
process) and resumed; a worker killed with SIGSEGV is replaced and its scenes redone; the
result must equal, byte for byte, an uninterrupted run made with a different number of
workers. Also: missing OpenGL libraries, and the pool's bounds on workers that keep dying.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Iterator

import pytest
from helpers import invoke, run_cli, start_cli, tree

from clevrlite import fsutil
from clevrlite.runs import dataset, pool
from clevrlite.runs.dataset import render_one
from clevrlite.errors import ClevrliteError

SMALL = ["--width", "160", "--height", "120", "--min-pixels", "20", "--quiet"]
RENDER = ["render", "--count", "60", "--seed", "7", "--n-objects", "3..6", *SMALL]
BENCH = ["benchmark", "--size", "16", "--unimodal-size", "8", "--shots", "1", "--seed", "5",
         "--n-objects", "3..5", "--quiet"]

# what the pool says when a worker dies, and when it gives up (after the item and signal)
WARNING = r"warning: a worker process died with SIGSEGV on scene {}; a new one redoes " \
          r"scene {}(, scene \d+)? \({} more restarts allowed\)"
GAVE_UP = r" \(killed, out of memory, or a crash in the GL driver\); finished files are kept: " \
          r"rerun with --resume"


def count_files(folder: Path, pattern: str = "*.json") -> int:
    return sum(1 for _ in folder.glob(pattern)) if folder.is_dir() else 0


def wait_for_files(proc: subprocess.Popen, folder: Path, at_least: int,
                   pattern: str = "*.json", timeout: float = 120) -> None:
    """Poll until ``folder`` holds ``at_least`` finished files; fail if the run ended first."""
    deadline = time.monotonic() + timeout
    while count_files(folder, pattern) < at_least:
        assert proc.poll() is None, f"the run ended before the kill: {proc.communicate()}"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run and every process it started, like a pre-empted node."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)


def children_of(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_same_tree(got: Path, want: Path) -> None:
    got_files, want_files = tree(got), tree(want)
    assert not [name for name in got_files if name.endswith(fsutil.TMP_SUFFIX)]
    assert sorted(got_files) == sorted(want_files)
    differ = [name for name in want_files if got_files[name] != want_files[name]]
    assert not differ, f"{len(differ)} files differ, e.g. {differ[:5]}"


@pytest.fixture(scope="module")
def reference_render(tmp_path_factory) -> Path:
    """The uninterrupted run, with one worker (the killed runs use two)."""
    out = tmp_path_factory.mktemp("ref") / "render"
    proc = invoke(*RENDER, "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def reference_benchmark(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "bench"
    proc = invoke(*BENCH, "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


# ---------------------------------------------------------------------- kill and --resume

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")


def test_render_killed_twice_then_resumed_equals_an_uninterrupted_run(tmp_path,
                                                                       reference_render):
    out = tmp_path / "render"
    scenes = out / "scenes"
    for at_least in (1, 30):  # early (workers still starting) and half way
        proc = start_cli(*RENDER, "--workers", "2", "--out", str(out),
                         *(["--resume"] if at_least > 1 else []))
        wait_for_files(proc, scenes, at_least)
        kill_group(proc)
        assert proc.returncode == -signal.SIGKILL
        assert not (out / "scenes.json").exists()
    kept = count_files(scenes)
    assert 30 <= kept < 60

    proc = invoke(*RENDER[:-1], "--workers", "2", "--resume", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"({kept} kept from before)" in proc.stdout
    assert_same_tree(out, reference_render)


@needs_proc
def test_workers_exit_when_only_the_main_process_is_killed(tmp_path, reference_render):
    """kill -9 of the main process must not leave workers running (and writing) for ever."""
    out = tmp_path / "render"
    proc = start_cli(*RENDER, "--workers", "2", "--out", str(out))
    try:
        wait_for_files(proc, out / "scenes", 3)
        workers = children_of(proc.pid)
        assert len(workers) >= 2  # two workers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if alive(pid)], "orphaned workers still run"
    finally:
        kill_group(proc)
    proc = invoke(*RENDER, "--workers", "2", "--resume", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert_same_tree(out, reference_render)


@needs_proc
def test_a_worker_killed_with_sigsegv_is_replaced_and_its_scenes_redone(tmp_path,
                                                                        reference_render):
    """A crash in the GL driver takes one worker mid-run: one warning line, exit 0, and the
    files of an uninterrupted run with another worker count."""
    out = tmp_path / "render"
    proc = start_cli(*RENDER, "--workers", "2", "--out", str(out))
    try:
        wait_for_files(proc, out / "scenes", 3)
        victim = next(pid for pid in children_of(proc.pid)
                      if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes())
        os.kill(victim, signal.SIGSEGV)
        _, stderr = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 0, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert re.fullmatch(WARNING.format(r"\d+", r"\d+", 7), lines[0]), lines[0]
    assert_same_tree(out, reference_render)


def _crash_on_scene_17(options, maker, index: int):
    if index == 17:
        _segfault()
    return render_one(options, maker, index)


def test_a_scene_that_always_crashes_its_worker_stops_the_run_in_one_line(tmp_path, monkeypatch,
                                                                          reference_render):
    """Bounded, not a loop: the scene is named, what finished is kept whole, and once the
    cause is gone --resume completes the run."""
    monkeypatch.setattr(dataset, "render_one", _crash_on_scene_17)
    out = tmp_path / "render"
    proc = invoke(*RENDER, "--workers", "2", "--out", str(out))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    *warnings, error = proc.stderr.strip().splitlines()
    assert len(warnings) == 1 and re.fullmatch(WARNING.format(17, 17, 7), warnings[0])
    assert re.fullmatch(r"clevrlite render: error: a worker process died 2 times on scene 17, "
                        r"the last time with SIGSEGV" + GAVE_UP, error), error
    kept, want = tree(out), tree(reference_render)
    assert len(kept) > 1 and not [n for n in kept if n.endswith(fsutil.TMP_SUFFIX)]
    assert not [n for n in kept if kept[n] != want[n]]
    monkeypatch.undo()
    proc = invoke(*RENDER, "--workers", "2", "--resume", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert_same_tree(out, reference_render)


def test_resume_repairs_every_state_a_kill_can_leave(tmp_path, reference_render):
    """Scenes cut off between their files, stale temporary files, no scenes.json yet."""
    out = tmp_path / "render"
    shutil.copytree(reference_render, out)
    stem = "CLEVRLITE_new_{:06d}".format
    (out / "scenes.json").unlink()
    (out / "scenes" / f"{stem(3)}.json").unlink()  # killed before its scene JSON
    (out / "text" / f"{stem(3)}.xml").unlink()
    (out / "scenes" / f"{stem(8)}.json").unlink()  # killed right after the image
    for sub in ("masks", "text"):
        for path in (out / sub).glob(f"{stem(8)}.*"):
            path.unlink()
    (out / "masks" / f"{stem(11)}.png").unlink()  # a file lost afterwards
    (out / "scenes" / f"{stem(12)}.json").write_text('{"objects": [')  # not valid JSON
    image = out / "images" / f"{stem(20)}.png"  # cut short (a disk that filled up)
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    mask = out / "masks" / f"{stem(21)}.png"  # one byte flipped inside a chunk
    data = bytearray(mask.read_bytes())
    data[len(data) // 2] ^= 0x40
    mask.write_bytes(bytes(data))
    dead = 2 ** 22 + 1  # above any Linux pid_max: no such process
    for name in (f"images/.{stem(3)}.png.{dead}.part", f"scenes/.{stem(8)}.json.{dead}.part",
                 f".scenes.json.{dead}.part"):
        (out / name).write_bytes(b"\x89PNG truncated")
    proc = invoke(*RENDER[:-1], "--workers", "1", "--resume", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "rendered 6 scenes (54 kept from before)" in proc.stdout
    assert_same_tree(out, reference_render)


def test_stale_temporary_files_of_live_writers_are_kept(tmp_path):
    """A shard still writing into the same folder keeps its temporary files."""
    dead = tmp_path / f".a.png.{2 ** 22 + 1}{fsutil.TMP_SUFFIX}"
    live = tmp_path / f".b.png.{os.getpid()}{fsutil.TMP_SUFFIX}"
    odd = tmp_path / "sub" / f".c.png.x{fsutil.TMP_SUFFIX}"
    odd.parent.mkdir()
    for path in (dead, live, odd):
        path.write_bytes(b"")
    assert fsutil.remove_stale_temps(tmp_path) == 2
    assert [p.name for p in tmp_path.rglob("*.part")] == [live.name]


def test_benchmark_killed_then_resumed_equals_an_uninterrupted_run(tmp_path,
                                                                    reference_benchmark):
    out = tmp_path / "bench"
    proc = start_cli(*BENCH, "--workers", "2", "--out", str(out))
    wait_for_files(proc, out / ".parts", 4)
    kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "stats.json").exists()
    proc = invoke(*BENCH, "--workers", "2", "--resume", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for name in ("cross_modal.jsonl", "unimodal.jsonl", "stats.json"):
        assert (out / name).read_bytes() == (reference_benchmark / name).read_bytes(), name
    assert_same_tree(out, reference_benchmark)


def test_benchmark_resume_redoes_a_truncated_image(tmp_path, reference_benchmark):
    out = tmp_path / "bench"
    shutil.copytree(reference_benchmark, out)
    (out / "stats.json").unlink()  # as if killed before the end
    image = sorted((out / "images").glob("*.png"))[3]
    image.write_bytes(image.read_bytes()[:100])
    proc = invoke(*BENCH, "--workers", "1", "--resume", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert_same_tree(out, reference_benchmark)


# -------------------------------------------------------------------------------- no GL

@pytest.fixture()
def no_gl_env(tmp_path) -> dict[str, str]:
    """An environment whose EGL and OSMesa libraries are broken (empty files first on the
    loader's path), as on a machine where they are missing; works where they are installed."""
    libs = tmp_path / "broken-gl"
    libs.mkdir()
    for name in ("libEGL.so.1", "libEGL.so", "libOSMesa.so.8", "libOSMesa.so.6",
                 "libOSMesa.so"):
        (libs / name).write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(libs),
                                                           env.get("LD_LIBRARY_PATH")]))
    return env


EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"


@pytest.mark.skipif(sys.platform != "linux", reason="breaks the libraries via the ELF loader")
@pytest.mark.parametrize("args,packages", [
    (["doctor"], EGL_PACKAGES),
    (["doctor", "--backend", "egl"], EGL_PACKAGES),
    (["doctor", "--backend", "osmesa"], "libosmesa6"),
    (["render", "--workers", "1"], EGL_PACKAGES),
    (["render", "--workers", "2"], EGL_PACKAGES),
    (["render", "--workers", "1", "--backend", "osmesa"], "libosmesa6"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_missing_gl_libraries_name_the_debian_packages(tmp_path, no_gl_env, args, packages):
    out = tmp_path / "out"
    if args[0] == "render":
        args = [*args, "--count", "2", *SMALL, "--out", str(out)]
    proc = run_cli(*args, env=no_gl_env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"clevrlite {args[0]}: error: no OpenGL context")
    assert f"install the Debian package{'s' if ' ' in packages else ''} {packages}" in lines[0]
    assert not out.exists()


# ------------------------------------------------------------------- workers that crash

def _setup() -> str:
    return "state"


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)  # what a crash in the GL driver does to a worker


def _crash_setup() -> str:
    _segfault()
    return "never"


def _job(state: str, item: int) -> int:
    if item == 5:
        _segfault()
    time.sleep(0.01)
    return item


def _once(marker: Path, crashing: set[int], state: str, item: int) -> tuple[int, int]:
    """(item, worker pid); the first time an item of ``crashing`` runs, its worker crashes."""
    if item in crashing and not (marker / str(item)).exists():
        (marker / str(item)).touch()
        _segfault()
    time.sleep(0.005)
    return item, os.getpid()


def _failing_job(state: str, item: int) -> int:
    if item == 5:
        raise ValueError("bad item 5")
    return item


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM interrupts the test after ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"no result within {seconds} s: the pool hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_worker_that_dies_is_replaced_and_every_item_comes_once(tmp_path):
    """Only the dead worker is replaced: the other keeps its process (and state), in this
    job list and the next; items it had answered are not run or yielded again."""
    warnings: list[str] = []
    with deadline(60), pool.Pool(2, _setup, log=warnings.append) as workers:
        first = list(workers.map(partial(_once, tmp_path, {10}), range(40)))
        second = list(workers.map(partial(_once, tmp_path, {50}), range(40, 60)))
    assert sorted(item for item, _ in first) == list(range(40))
    assert sorted(item for item, _ in second) == list(range(40, 60))
    pids = {pid for _, pid in first}
    assert len(pids) == 3  # the two first workers, and the one that replaced a dead one
    assert len({pid for _, pid in second} - pids) == 1
    assert len(warnings) == 2
    assert re.fullmatch(WARNING.format(10, 10, 7), warnings[0]), warnings[0]
    assert re.fullmatch(WARNING.format(50, 50, 6), warnings[1]), warnings[1]
    assert multiprocessing.active_children() == []


def test_restarts_are_bounded_over_the_pool_s_life(tmp_path, monkeypatch):
    monkeypatch.setattr(pool, "RESTARTS_PER_WORKER", 1)
    warnings: list[str] = []
    with deadline(60), pytest.raises(ClevrliteError) as failed:
        with pool.Pool(2, _setup, log=warnings.append) as workers:
            list(workers.map(partial(_once, tmp_path, set(range(40))), range(40)))
    assert [w[w.rindex("("):] for w in warnings] == ["(1 more restarts allowed)",
                                                     "(0 more restarts allowed)"]
    assert re.fullmatch(r"worker processes died 3 times, the last time with SIGSEGV on scene "
                        r"\d+" + GAVE_UP, str(failed.value)), failed.value
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("job,setup", [(_job, _setup), (_job, _crash_setup)],
                         ids=["job", "setup"])
def test_a_worker_that_always_dies_ends_the_run_naming_the_item(job, setup):
    warnings: list[str] = []
    with deadline(60), pytest.raises(ClevrliteError) as failed:
        with pool.Pool(2, setup, log=warnings.append) as workers:
            list(workers.map(job, range(40)))
    message = re.fullmatch(r"a worker process died 2 times on scene (\d+), the last time with "
                           r"SIGSEGV" + GAVE_UP, str(failed.value))
    assert message, failed.value
    if setup is _setup:
        assert message[1] == "5"
        assert len(warnings) == 1 and re.fullmatch(WARNING.format(5, 5, 7), warnings[0])
    else:  # each worker dies on the first item it holds
        assert 1 <= len(warnings) <= 3
    assert multiprocessing.active_children() == []


def test_an_error_in_a_worker_reaches_the_caller():
    with deadline(60), pytest.raises(ValueError, match="bad item 5"):
        list(pool.run(_failing_job, range(40), 2, _setup))
    assert multiprocessing.active_children() == []


def test_the_pool_returns_every_item_when_nothing_fails():
    with deadline(60):
        assert sorted(pool.run(_failing_job, [1, 2, 3, 4, 6, 7], 2, _setup)) == [1, 2, 3, 4, 6, 7]


@needs_proc
def test_temp_files_of_killed_but_unreaped_writers_are_removed(tmp_path):
    """A writer killed a moment ago may still be a zombie; its temp file is stale all the same."""
    child = subprocess.Popen(["true"])  # exits at once and stays unreaped until wait()
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        stale = tmp_path / f".a.png.{child.pid}{fsutil.TMP_SUFFIX}"
        live = tmp_path / f".b.png.{os.getpid()}{fsutil.TMP_SUFFIX}"
        stale.write_text("x")
        live.write_text("y")
        assert fsutil.remove_stale_temps(tmp_path) == 1
        assert not stale.exists() and live.exists()
    finally:
        child.wait()
