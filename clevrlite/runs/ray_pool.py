"""A Ray executor with the local pool's interface: a pool of actors, one renderer each.

Each actor (``ClevrliteWorker``) makes its state (a SceneMaker: one OpenGL context) on its
first item and keeps it; items are fed to the actors a few at a time. Every item is a pure
function of the run's options and its index, and every file is written atomically, so an
actor that dies is restarted by Ray and its items are run again with the same bytes as the
first time. On a GPU cluster, ``gpus_per_worker`` asks Ray for GPUs, and each actor renders on
the EGL device of the GPU Ray gave it (clevrlite.runs.gpus). Output goes straight to the
(shared) file system, as with local workers.

``address``: a cluster to join (``ray://`` or ``host:port``); None joins the one RAY_ADDRESS
names or one running on this machine, else starts one here (a cluster file that a killed
run left behind is not mistaken for a running cluster).

Ray puts the driver's working directory on its workers' import path. Run from a folder that
holds a ``clevrlite/`` directory (a clone's parent), an editable install's actors would
import that folder as a namespace package; each actor therefore gets the installed
package's parent directory on PYTHONPATH, where Python prefers a regular package.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterable, Iterator

from clevrlite.errors import ClevrliteError, UsageError, needs_extra
from clevrlite.runs.pool import describe

NEEDS_RAY = needs_extra("--executor ray needs Ray", "ray")
IN_FLIGHT = 3  # items queued per actor
RESTARTS = 4  # an actor that dies comes back this many times, re-running its items


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(NEEDS_RAY) from None
    return ray


class ClevrliteWorker:
    """The actor's body: it holds one state and runs jobs on it."""

    def __init__(self, setup: Callable[[], Any], environment: dict[str, str],
                 gpus: float) -> None:
        os.environ.update(environment)
        os.environ.setdefault("LP_NUM_THREADS", "0")  # one CPU per actor (runs.pool)
        if gpus:
            from clevrlite.runs.gpus import egl_device_for_cuda

            device = egl_device_for_cuda(0)  # Ray's GPU is the first CUDA sees here
            if device is not None:
                os.environ["EGL_DEVICE_ID"] = str(device)
        self.setup, self.state = setup, None

    def call(self, job: Callable[[Any, Any], Any], item: Any) -> Any:
        if self.state is None:
            self.state = self.setup()
        return job(self.state, item)

    def pid(self) -> int:
        return os.getpid()


class RayPool:
    """``workers`` Ray actors with the state ``setup()`` makes; see the module docstring."""

    def __init__(self, workers: int, setup: Callable[[], Any], address: str | None = None,
                 gpus_per_worker: float = 0.0, environment: dict[str, str] | None = None):
        ray = _ray()
        self._started = False
        if not ray.is_initialized():
            self._started = _connect(ray, address)
        remote = ray.remote(num_cpus=1, num_gpus=gpus_per_worker, max_restarts=RESTARTS,
                            max_task_retries=RESTARTS,
                            runtime_env={"env_vars": {"PYTHONPATH": _import_path()}},
                            )(ClevrliteWorker)
        self.actors = [remote.remote(setup, dict(environment or {}), gpus_per_worker)
                       for _ in range(max(1, workers))]
        self.ray = ray

    def __enter__(self) -> "RayPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def map(self, job: Callable[[Any, Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``job(state, item)`` for every item, in completion order."""
        ray = self.ray
        queue = iter(list(items))
        running: dict[Any, tuple[Any, Any]] = {}  # future -> (actor, item)

        def feed(actor: Any) -> None:
            item = next(queue, _END)
            if item is not _END:
                running[actor.call.remote(job, item)] = (actor, item)

        for actor in self.actors:
            for _ in range(IN_FLIGHT):
                feed(actor)
        try:
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                actor, item = running.pop(done[0])
                yield _result(ray, done[0], item)
                feed(actor)
        finally:
            for future in running:
                ray.cancel(future)

    def close(self) -> None:
        """Stop the actors (and the Ray instance, if this pool started it)."""
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self._started:
            self.ray.shutdown()


def _import_path() -> str:
    """PYTHONPATH for the actors: this clevrlite's parent directory first (module docstring)."""
    import clevrlite

    parent = os.path.dirname(os.path.dirname(os.path.abspath(clevrlite.__file__)))
    return os.pathsep.join(filter(None, [parent, os.environ.get("PYTHONPATH")]))


def _local_cluster_running() -> bool:
    """Whether a Ray cluster runs on this machine: its GCS server process, not the file in
    /tmp/ray that names the last one (it outlives a killed run)."""
    import psutil

    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "gcs_server":
            return True
    return False


def _connect(ray: Any, address: str | None) -> bool:
    """Join ``address``, or a running cluster, or start one here; True when started here."""
    logging.getLogger("ray").setLevel(logging.ERROR)  # its start-up chatter is not ours
    quiet = {"log_to_driver": False, "include_dashboard": False,
             "logging_level": logging.ERROR}
    try:
        if address or os.environ.get("RAY_ADDRESS") or _local_cluster_running():
            ray.init(address=address or "auto", log_to_driver=False)
            return False
        ray.init(address="local", num_cpus=os.cpu_count() or 1, **quiet)
        return True
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray instance"
        raise ClevrliteError(f"cannot start or join Ray at {where}: "
                             f"{' '.join(str(exc).split())[:200]}") from None


def _result(ray: Any, future: Any, item: Any) -> Any:
    """The item's result; its error as a one-line ClevrliteError naming the item."""
    try:
        return ray.get(future)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, ClevrliteError):
            raise type(cause)(f"{describe(item)}: {cause}") from None
        raise ClevrliteError(f"{describe(item)} failed on a Ray worker: "
                             f"{' '.join(str(cause or exc).split())[:300]}") from None
    except ray.exceptions.RayActorError as exc:
        raise ClevrliteError(f"{describe(item)}: its Ray worker died {RESTARTS + 1} times "
                             f"({' '.join(str(exc).split())[:160]}); finished files are kept: "
                             f"rerun with --resume") from None


_END = object()
