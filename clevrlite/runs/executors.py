"""Choosing where a run's items execute: local worker processes, or actors on a Ray cluster.

Both give a pool with ``map(job, items)`` and ``close()`` (clevrlite.runs.pool.Pool,
clevrlite.runs.ray_pool.RayPool), so render and benchmark runs do not care which.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from clevrlite.errors import UsageError

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ExecutorOptions:
    """Where items run: ``local`` processes (spread over ``gpus``: "all" or CUDA indices),
    or ``ray`` actors (at ``ray_address``, each asking for ``gpus_per_worker`` GPUs)."""

    executor: str = "local"
    ray_address: str | None = None
    gpus_per_worker: float = 0.0
    gpus: str | None = None

    def check(self) -> None:
        if self.executor not in EXECUTORS:
            raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, got "
                             f"{self.executor!r}")
        if self.executor == "local" and (self.ray_address or self.gpus_per_worker):
            raise UsageError("--ray-address and --gpus-per-worker need --executor ray")
        if self.executor == "ray" and self.gpus:
            raise UsageError("--gpus spreads local workers; on Ray use --gpus-per-worker")
        if self.gpus_per_worker < 0:
            raise UsageError(f"--gpus-per-worker must be 0 or more, got {self.gpus_per_worker}")


@dataclass(frozen=True)
class RunControls:
    """How and where a render run or benchmark build goes, never what it writes: the fields
    that its manifest.json leaves out (a run may resume with other values of these)."""

    workers: int = 1
    backend: str = "auto"
    properties: str | None = None
    resume: bool = False
    overwrite: bool = False
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)


CONTROL_FIELDS = tuple(f.name for f in fields(RunControls))


def make_pool(options: ExecutorOptions, workers: int, setup: Callable[[], Any],
              log: Callable[[str], None] | None = None) -> Any:
    """A pool of ``workers`` with state ``setup()``, on the chosen executor; ``log`` hears a
    one-line warning for each local worker that died and was replaced."""
    options.check()
    if options.executor == "ray":
        from clevrlite.runs.ray_pool import RayPool

        return RayPool(workers, setup, options.ray_address, options.gpus_per_worker)
    from clevrlite.runs.pool import Pool

    environments: list[dict[str, str]] = []
    if options.gpus:
        from clevrlite.pipeline import egl_devices
        from clevrlite.runs.gpus import plan, worker_environments

        environments = worker_environments(plan(options.gpus, egl_devices() or []))
    return Pool(workers, setup, environments, log=_above_bars(log) if log else None)


def _above_bars(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log``, with a progress bar on the terminal cleared while it writes and drawn again
    below the line."""
    from tqdm import tqdm

    def write(line: str) -> None:
        with tqdm.external_write_mode(file=sys.stderr):
            log(line)

    return write
