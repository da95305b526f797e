"""A local worker pool for per-item jobs that keep heavy per-process state (one renderer each).

Items run in spawned processes (no GL or thread state inherited through fork), one worker
included, so a GL driver that crashes takes down a worker, not the run. Each worker has a pipe
of its own and at most IN_FLIGHT items, so memory stays flat on long runs and the pool knows
which item each worker is on. A worker that dies (a crash in the GL driver, the OOM killer) is
replaced, with a one-line warning, and its unfinished items run again on the new one: every
item is a pure function of the run's options and its index, and files are written
atomically, so a redone item gives the same bytes. Restarts are bounded (RESTARTS_PER_WORKER
per worker over the pool's life), and an item that its worker dies on ITEM_DEATHS times ends
the run: each with a one-line error that names the item and says to rerun with --resume.
One pool can run several job lists in turn (a benchmark's example scenes, then its
instances) on the same workers, keeping their state. Workers ignore Ctrl-C: the parent
decides, stops them, and each finishes the item it is on.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from multiprocessing import connection
from typing import Any, Callable, Iterable, Iterator, Sequence

from clevrlite.errors import ClevrliteError

IN_FLIGHT = 2  # items sent to a worker and not yet answered: the one it runs, the next one
RESTARTS_PER_WORKER = 4  # worker deaths a pool survives, per worker, over its life (as Ray)
ITEM_DEATHS = 2  # deaths on one item that end the run (a scene that always crashes)
CAUSES = "killed, out of memory, or a crash in the GL driver"
KEPT = "finished files are kept: rerun with --resume"
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
_NO_STATE = object()
_logger = logging.getLogger(__name__)


def llvmpipe_threads(workers: int) -> str:
    """LP_NUM_THREADS for each of ``workers`` processes sharing this machine's cores.

    With a worker per core, llvmpipe rasterizing in the calling thread (0) measured 12% more
    scenes/s than handing each frame to one raster thread (1); spare cores go to raster
    threads.
    """
    cores = os.cpu_count() or 1
    return "0" if workers >= cores else str(cores // workers)


def _exit_with_parent(parent: int) -> None:
    """End this worker as soon as process ``parent`` dies (say by kill -9 or pre-emption).

    Otherwise orphaned workers would keep their GL contexts and memory for ever, and keep
    writing into the output folder while a --resume run works there. (Linux sends the signal
    when the thread that started the worker ends: the thread that iterates the pool's map.)
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


def _serve(conn: connection.Connection, stop: Any, setup: Callable[[], Any],
           environment: dict[str, str], parent: int, threads: str) -> None:
    """A worker's life: run each ``(job, item)`` that arrives on ``conn``, in order, and answer
    ``(True, result)`` or ``(False, exception)``, until the parent closes the pipe or sets
    ``stop``. The state ``setup()`` makes is kept; it is made on the first item, so that its
    errors reach the caller as errors."""
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    os.environ.setdefault("LP_NUM_THREADS", threads)
    os.environ.update(environment)  # e.g. EGL_DEVICE_ID: workers spread over the GPUs
    state = _NO_STATE
    while True:
        try:
            job, item = conn.recv()
        except (EOFError, OSError):
            return
        if stop.is_set():
            return
        try:
            if state is _NO_STATE:
                state = setup()
            answer = (True, job(state, item))
        except Exception as exc:
            answer = (False, exc)
        if not _send(conn, answer):
            return


def _send(conn: connection.Connection, answer: tuple[bool, Any]) -> bool:
    """Send ``answer`` to the parent; False when it no longer listens."""
    try:
        conn.send(answer)
    except OSError:  # the parent closed the pipe (stopping) or is gone
        return False
    except Exception as exc:  # a result or exception that does not pickle: nothing was sent
        ok, value = answer
        what = "result" if ok else f"error ({type(value).__name__}: {value})"
        return _send(conn, (False, ClevrliteError(f"a worker's {what} cannot be sent back: "
                                                  f"{exc}")))
    return True


@dataclass(eq=False)
class _Worker:
    """One worker process, the parent's end of its pipe, and the items it holds."""

    process: Any
    conn: connection.Connection
    stop: Any  # an Event: skip what is still queued
    running: deque = field(default_factory=deque)  # (position, item), in the order sent

    def stop_soon(self) -> None:
        """Let it finish the item it is on and drop the rest."""
        self.stop.set()
        self.conn.close()

    def reap(self) -> str:
        """Wait for the process to end; how it ended, e.g. ``SIGSEGV`` or ``exit status 3``."""
        self.process.join()
        if not self.conn.closed:
            self.conn.close()
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return signal.Signals(-code).name
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"


class _Todo:
    """Positions of the items still to send: redone ones first, then the rest in order."""

    def __init__(self, count: int) -> None:
        self.redo: deque[int] = deque()
        self.next = 0
        self.count = count

    def __bool__(self) -> bool:
        return bool(self.redo) or self.next < self.count

    def pop(self) -> int:
        if self.redo:
            return self.redo.popleft()
        self.next += 1
        return self.next - 1


class Pool:
    """``workers`` processes, each with the state ``setup()`` makes on its first item.

    ``environments``: extra environment variables per worker, dealt out in turn (worker k
    gets ``environments[k % len]``, and so does the worker that replaces it).
    ``isolate=False`` runs a one-worker pool in this process (for debugging; a GL crash then
    takes the caller down too). ``log`` hears a one-line warning for each worker replaced
    (default: the ``clevrlite.runs.pool`` logger). Use as a context manager.
    """

    def __init__(self, workers: int, setup: Callable[[], Any],
                 environments: Sequence[dict[str, str]] = (), isolate: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        self.workers = max(1, workers)
        self.setup = setup
        self.restarts_left = RESTARTS_PER_WORKER * self.workers
        self.deaths = 0
        self._local = self.workers == 1 and not isolate
        self._state: Any = _NO_STATE
        self._environments = list(environments)
        self._log = log or _logger.warning
        self._slots: list[_Worker | None] = [None] * self.workers

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def pids(self) -> list[int]:
        """Process ids of the live workers, by slot."""
        return [w.process.pid for w in self._slots if w is not None]

    def map(self, job: Callable[[Any, Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``job(state, item)`` for every item, in completion order, each once.

        ``job`` and ``setup`` must be picklable (module-level functions or functools.partial
        of them). A job's exception ends the loop with that exception. Leaving the loop
        early stops the workers that still hold items (each finishes the one it is on).
        """
        items = list(items)
        if not items:
            return
        if self._local:
            if self._state is _NO_STATE:
                self._state = self.setup()
            for item in items:
                yield job(self._state, item)
            return
        todo, item_deaths = _Todo(len(items)), Counter()
        finished = False
        try:
            while True:
                self._feed(job, items, todo)
                live = [w for w in self._slots if w is not None]
                if not todo and not any(w.running for w in live):
                    break
                ready = set(connection.wait([w.conn for w in live]
                                            + [w.process.sentinel for w in live]))
                for slot, worker in enumerate(self._slots):
                    if worker is None or not {worker.conn, worker.process.sentinel} & ready:
                        continue
                    dead = worker.process.sentinel in ready
                    while True:
                        try:  # what it answered before it died counts
                            if not worker.conn.poll():
                                break
                            ok, value = worker.conn.recv()
                        except (EOFError, OSError):
                            dead = True
                            break
                        worker.running.popleft()
                        if not ok:
                            raise value
                        yield value
                    if dead:
                        self._replace(slot, todo, item_deaths)
            finished = True
        finally:
            if not finished:
                self._stop([w for w in self._slots if w is not None and w.running])

    def _feed(self, job: Callable[[Any, Any], Any], items: list, todo: _Todo) -> None:
        """Send items to the workers until each holds IN_FLIGHT (starting workers as needed)."""
        for slot in range(self.workers):
            worker = self._slots[slot]
            while todo and (worker is None or len(worker.running) < IN_FLIGHT):
                if worker is None:
                    worker = self._slots[slot] = self._spawn(slot)
                position = todo.pop()
                try:
                    worker.conn.send((job, items[position]))
                except OSError:  # it died: the wait sees it and replaces it
                    todo.redo.appendleft(position)
                    break
                worker.running.append((position, items[position]))

    def _spawn(self, slot: int) -> _Worker:
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        stop = ctx.Event()
        environment = (self._environments[slot % len(self._environments)]
                       if self._environments else {})
        process = ctx.Process(target=_serve, name=f"clevrlite-worker-{slot}", daemon=True,
                              args=(theirs, stop, self.setup, environment, os.getpid(),
                                    llvmpipe_threads(self.workers)))
        process.start()
        theirs.close()
        return _Worker(process, mine, stop)

    def _replace(self, slot: int, todo: _Todo, item_deaths: Counter) -> None:
        """Worker ``slot`` died: start another with its unfinished items, or end the run.
        ``item_deaths`` counts the deaths on each item (by position) in this map."""
        worker = self._slots[slot]
        self._slots[slot] = None
        how = worker.reap()
        self.deaths += 1
        redo = list(worker.running)
        on = f" on {describe(redo[0][1])}" if redo else " between items"
        if redo:  # the first item it held is the one it was on
            item_deaths[redo[0][0]] += 1
            if item_deaths[redo[0][0]] >= ITEM_DEATHS:
                raise ClevrliteError(f"a worker process died {item_deaths[redo[0][0]]} times "
                                     f"on {describe(redo[0][1])}, the last time with {how} "
                                     f"({CAUSES}); {KEPT}")
        if self.restarts_left == 0:
            raise ClevrliteError(f"worker processes died {self.deaths} times, the last time "
                                 f"with {how}{on} ({CAUSES}); {KEPT}")
        self.restarts_left -= 1
        todo.redo.extendleft(position for position, _ in reversed(redo))
        self._slots[slot] = self._spawn(slot)
        again = f"; a new one redoes {', '.join(describe(item) for _, item in redo)}" \
            if redo else "; started a new one"
        self._log(f"warning: a worker process died with {how}{on}{again} "
                  f"({self.restarts_left} more restarts allowed)")

    def _stop(self, workers: list[_Worker]) -> None:
        """Stop ``workers``: each finishes the item it is on; their slots start afresh."""
        for worker in workers:
            worker.stop_soon()
        for worker in workers:
            worker.reap()
        self._slots = [None if w in workers else w for w in self._slots]

    def close(self) -> None:
        """Stop the workers (each finishes the item it is on) and free their state."""
        if self._state is not _NO_STATE:
            close = getattr(self._state, "close", None)
            self._state = _NO_STATE
            if close is not None:
                close()
        self._stop([w for w in self._slots if w is not None])


def describe(item: Any) -> str:
    """An item as errors and warnings name it: ``scene 17`` for a scene index."""
    index = getattr(item, "index", item)
    return f"scene {index}" if isinstance(index, int) else f"item {item!r}"


def run(job: Callable[[Any, Any], Any], items: Iterable[Any], workers: int,
        setup: Callable[[], Any]) -> Iterator[Any]:
    """One job list on a fresh pool: ``job(state, item)`` for every item, in completion order."""
    with Pool(workers, setup) as pool:
        yield from pool.map(job, items)
