"""--executor ray on a local Ray cluster the tests start: same bytes as local runs, an actor
killed mid-run, --ray-address, and errors that name the scene. Run alone with ``-m ray``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import tree

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow]

from clevrlite.bench.build import BenchmarkOptions, build_benchmark  # noqa: E402
from clevrlite.errors import PlacementError  # noqa: E402
from clevrlite.placement import PlacementOptions  # noqa: E402
from clevrlite.runs.dataset import RenderOptions, render_dataset  # noqa: E402
from clevrlite.runs.executors import ExecutorOptions  # noqa: E402

RAY = ExecutorOptions(executor="ray")


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def small(out: Path, count: int = 12, **extra) -> RenderOptions:
    return RenderOptions(out=out, count=count, seed=3, workers=2, min_pixels=10,
                         formats=("json", "text"),
                         placement=PlacementOptions(width=96, height=64, n_objects=(3, 6)),
                         **extra)


def test_render_on_ray_writes_the_same_bytes_as_local(tmp_path):
    render_dataset(small(tmp_path / "local"))
    render_dataset(small(tmp_path / "ray", executor=RAY))
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def test_benchmark_on_ray_writes_the_same_bytes_as_local(tmp_path):
    options = BenchmarkOptions(size=8, unimodal_size=4, n_objects=(3, 4), workers=2,
                               suite="grounding", width=96, height=64, min_pixels=10)
    build_benchmark(replace(options, out=tmp_path / "local"))
    build_benchmark(replace(options, out=tmp_path / "ray", executor=RAY))
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def _actor_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"ClevrliteWorker" in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_a_killed_actor_has_its_scenes_redone_with_the_same_bytes(tmp_path):
    render_dataset(small(tmp_path / "local", count=40))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            render_dataset(small(tmp_path / "ray", count=40, executor=RAY))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "ray" / "scenes").glob("*.json"))) < 6:
        assert worker.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    victims = _actor_pids()
    assert victims, "no ClevrliteWorker actor process found"
    os.kill(victims[0], signal.SIGKILL)
    worker.join(timeout=300)
    assert not errors, errors
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def test_a_failing_scene_is_named(tmp_path):
    options = small(tmp_path / "r", count=2, executor=RAY)
    options = replace(options, min_pixels=0, placement=replace(
        options.placement, n_objects=(40, 40), floor_extent=2.0))
    with pytest.raises(PlacementError, match="scene 0.*40 objects|40 objects.*scene"):
        render_dataset(options)


def test_actors_import_the_installed_package_from_a_clones_parent(tmp_path):
    """Run where a ``clevrlite/`` folder sits (a clone's parent), every actor imported that
    folder and failed with ~100 lines of tracebacks."""
    (tmp_path / "clevrlite").mkdir()
    (tmp_path / "clevrlite" / "README.md").write_text("a clone")
    script = Path(sys.executable).with_name("clevrlite")
    proc = subprocess.run([str(script), "render", "--count", "2", "--width", "96", "--height",
                           "64", "--min-pixels", "10", "--n-objects", "3", "--workers", "2",
                           "--executor", "ray", "--quiet", "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list((tmp_path / "out" / "scenes").glob("*.json"))) == 2


def test_ray_address_joins_a_cluster_started_with_ray_start(tmp_path):
    ray_cli = Path(sys.executable).with_name("ray")
    port = 6390 + os.getpid() % 500
    # As a fresh shell would start it: the module's ray.init set RAY_AUTH_MODE=token and left
    # a token in ~/.ray, with which a client of this cluster retried for 20 s.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")},
           "HOME": str(tmp_path)}
    # --block keeps the cluster in this process group, so it stops at once with the group
    # (`ray stop` would stop the module's cluster too, and took 23 s doing so).
    head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--node-ip-address",
                             "127.0.0.1", "--port", str(port), "--num-cpus", "2",
                             "--include-dashboard", "false", "--disable-usage-stats"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _listening(port):
            assert head.poll() is None, head.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "ray start --head did not come up"
            time.sleep(0.1)
        script = Path(sys.executable).with_name("clevrlite")
        args = ["render", "--count", "6", "--seed", "3", "--width", "96", "--height", "64",
                "--min-pixels", "10", "--n-objects", "3..6", "--formats", "json,text",
                "--workers", "2", "--quiet"]
        proc = subprocess.run([str(script), *args, "--executor", "ray", "--ray-address",
                               f"127.0.0.1:{port}", "--out", str(tmp_path / "ray")],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        local = subprocess.run([str(script), *args, "--out", str(tmp_path / "local")],
                               capture_output=True, text=True, env=env, timeout=300)
        assert local.returncode == 0, local.stderr
        assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=60)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
