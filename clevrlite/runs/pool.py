"""A local worker pool for per-item jobs that keep heavy per-process state (one renderer each).

Items run in spawned processes (no GL or thread state inherited through fork), one worker
included, so a GL driver that crashes takes down a worker and the run ends with a clear error
instead of a core dump. A worker that dies ends the run with that error instead of a hang; at
most a few items per worker are in flight, so memory stays flat on long runs. One pool can
run several job lists in turn (a benchmark's example scenes, then its instances) on the same
workers, keeping their state. Workers ignore Ctrl-C: the parent decides, finishes or cancels
what is in flight, and stops them.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Sequence

from clevrlite.errors import ClevrliteError

# State of the current process's worker: what the job's setup function returned.
_STATE: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
DIED = ("a worker process died (killed, out of memory, or a crash in the GL driver); "
        "finished files are kept: rerun with --resume")


def llvmpipe_threads(workers: int) -> str:
    """LP_NUM_THREADS for each of ``workers`` processes sharing this machine's cores.

    With a worker per core, llvmpipe rasterizing in the calling thread (0) measured 12% more
    scenes/s than handing each frame to one raster thread (1); spare cores go to raster
    threads.
    """
    cores = os.cpu_count() or 1
    return "0" if workers >= cores else str(cores // workers)


def _init(setup: Callable[[], Any], environments: Sequence[dict[str, str]], counter: Any,
          parent: int | None = None, threads: str = "0") -> None:
    if parent is not None:
        _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    os.environ.setdefault("LP_NUM_THREADS", threads)
    with counter.get_lock():
        rank = counter.value
        counter.value += 1
    if environments:  # e.g. EGL_DEVICE_ID: workers spread over the GPUs
        os.environ.update(environments[rank % len(environments)])
    _STATE.clear()
    _STATE["setup"] = setup


def _exit_with_parent(parent: int) -> None:
    """End this worker as soon as process ``parent`` dies (say by kill -9 or pre-emption).

    Otherwise orphaned workers would keep their GL contexts and memory for ever, and keep
    writing into the output folder while a --resume run works there. (Linux sends the signal
    when the thread that started the worker ends; the pool starts them from the thread that
    made it, which outlives the pool.)
    """
    try:  # Linux: the kernel kills us the moment the parent exits
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # it died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere: poll
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="clevrlite-parent-watch", daemon=True).start()


def _call(job: Callable[[Any, Any], Any], item: Any) -> Any:
    if "state" not in _STATE:  # made lazily so its errors reach the caller as errors
        _STATE["state"] = _STATE["setup"]()
    return job(_STATE["state"], item)


class Pool:
    """``workers`` processes, each with the state ``setup()`` makes on its first item.

    ``environments``: extra environment variables per worker, dealt out in turn (worker k
    gets ``environments[k % len]``). ``isolate=False`` runs a one-worker pool in this process
    (for debugging; a GL crash then takes the caller down too). Use as a context manager.
    """

    def __init__(self, workers: int, setup: Callable[[], Any],
                 environments: Sequence[dict[str, str]] = (), isolate: bool = True) -> None:
        self.workers = max(1, workers)
        self.setup = setup
        self._local = self.workers == 1 and not isolate
        self._executor: ProcessPoolExecutor | None = None
        self._environments = list(environments)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init,
                initargs=(self.setup, self._environments, ctx.Value("i", 0), os.getpid(),
                          llvmpipe_threads(self.workers)))
        return self._executor

    def map(self, job: Callable[[Any, Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``job(state, item)`` for every item, in completion order.

        ``job`` and ``setup`` must be picklable (module-level functions or functools.partial
        of them). Leaving the loop early cancels what has not started.
        """
        items = list(items)
        if not items:
            return
        if self._local:
            if "state" not in _STATE or _STATE.get("setup") is not self.setup:
                _STATE.clear()
                _STATE["setup"] = self.setup
            for item in items:
                yield _call(job, item)
            return
        executor = self._start()
        pending: set = set()
        queue = iter(items)
        try:
            while True:
                while len(pending) < 4 * self.workers:
                    item = next(queue, _END)
                    if item is _END:
                        break
                    pending.add(executor.submit(_call, job, item))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool:
            raise ClevrliteError(DIED) from None
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the workers (each finishes the item it is on) and free their state."""
        if self._local:
            state = _STATE.pop("state", None)
            close = getattr(state, "close", None)
            if close is not None:
                close()
            _STATE.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def run(job: Callable[[Any, Any], Any], items: Iterable[Any], workers: int,
        setup: Callable[[], Any]) -> Iterator[Any]:
    """One job list on a fresh pool: ``job(state, item)`` for every item, in completion order."""
    with Pool(workers, setup) as pool:
        yield from pool.map(job, items)


_END = object()
