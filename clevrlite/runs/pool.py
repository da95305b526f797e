"""A worker pool for per-item jobs that keep heavy per-process state (one renderer each).

Items run in this process when one worker suffices, else in spawned processes (no GL or thread
state inherited through fork). A worker that dies ends the run with a clear error instead of a
hang; at most a few items per worker are in flight, so memory stays flat on long runs.
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
from typing import Any, Callable, Iterable, Iterator

from clevrlite.errors import ClevrliteError

# State of the current process's worker: what the job's setup function returned.
_STATE: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


def _init(setup: Callable[[], Any], single_threaded_gl: bool,
          parent: int | None = None) -> None:
    if parent is not None:
        _exit_with_parent(parent)
    if single_threaded_gl:
        os.environ.setdefault("LP_NUM_THREADS", "1")  # one llvmpipe thread per worker
    _STATE.clear()
    _STATE["setup"] = setup


def _exit_with_parent(parent: int) -> None:
    """End this worker as soon as process ``parent`` dies (say by kill -9 or pre-emption).

    Otherwise orphaned workers would keep their GL contexts and memory for ever, and keep
    writing into the output folder while a --resume run works there. (Linux sends the signal
    when the thread that started the worker ends; run() starts them from the thread that
    iterates it, which outlives the pool.)
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


def _teardown() -> None:
    state = _STATE.pop("state", None)
    close = getattr(state, "close", None)
    if close is not None:
        close()


def run(job: Callable[[Any, Any], Any], items: Iterable[Any], workers: int,
        setup: Callable[[], Any]) -> Iterator[Any]:
    """Yield ``job(state, item)`` for every item, in completion order.

    ``setup()`` makes each worker's state once (a renderer, say), on its first item; ``job``
    and ``setup`` must be picklable (module-level functions or functools.partial of them).
    """
    items = list(items)
    workers = max(1, min(workers, len(items)))
    if workers == 1:
        _init(setup, single_threaded_gl=False)
        try:
            for item in items:
                yield _call(job, item)
        finally:
            _teardown()
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                             initargs=(setup, True, os.getpid())) as executor:
        pending: set = set()
        queue = iter(items)
        try:
            while True:
                while len(pending) < 4 * workers:
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
            raise ClevrliteError("a worker process died (killed or out of memory); finished "
                                 "files are kept: rerun with --resume") from None
        finally:
            for future in pending:
                future.cancel()


_END = object()
