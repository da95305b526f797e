"""Soak: one long `clevrlite render` run, its workers' memory at the start and at the end.

`make soak` (not part of `make bench`: about 15-30 minutes on 2 cores). Renders --scenes
(default 20,000) scenes with the default options (3..10 objects, 480x320, every annotation and
all four text formats) on --workers local workers, as a user's command in a process of its
own, and samples every few seconds the VmRSS of each worker (and of the main process) from
/proc/PID/status. It prints each worker's RSS after the first scenes and at the end (flat
within 10% is the target), the restarts the run reported (its warning lines), and scenes/s.
--kill-at N sends SIGSEGV to one worker once N scenes are done, to see a restart in a long run.
The output folder is a temporary one, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARNING = "warning: a worker process died"


@dataclass
class Sample:
    """One look at the run: seconds since its start, scenes done, each worker's VmRSS and
    RssAnon (its heap: where a leak shows) in MiB by pid, the main process's VmRSS."""

    seconds: float
    scenes: int
    workers: dict[int, float]
    anon: dict[int, float]
    main: float


@dataclass
class Soak:
    samples: list[Sample] = field(default_factory=list)
    killed: int | None = None


def rss_mib(pid: int, key: str = "VmRSS") -> float | None:
    """``key`` (VmRSS, RssAnon) of process ``pid`` from /proc in MiB, or None once it is
    gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def workers_of(pid: int) -> list[int]:
    """The pool's worker processes under ``pid``: its spawned children, not Python's
    resource tracker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if ppid == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(found)


def scenes_done(out: Path) -> int:
    """Finished scenes: scene JSON files under their final names."""
    try:
        return sum(1 for e in os.scandir(out / "scenes")
                   if e.name.endswith(".json") and not e.name.startswith("."))
    except FileNotFoundError:
        return 0


def watch(proc: subprocess.Popen, out: Path, every: float, kill_at: int | None,
          soak: Soak) -> None:
    """Sample the run until it ends; SIGSEGV one worker once ``kill_at`` scenes are done."""
    start = time.monotonic()
    while proc.poll() is None:
        done = scenes_done(out)
        pids = workers_of(proc.pid)
        if kill_at is not None and soak.killed is None and done >= kill_at and pids:
            os.kill(pids[0], signal.SIGSEGV)
            soak.killed = pids[0]
            pids = pids[1:]
        rss = {pid: value for pid in pids if (value := rss_mib(pid)) is not None}
        anon = {pid: value for pid in rss if (value := rss_mib(pid, "RssAnon")) is not None}
        main = rss_mib(proc.pid)
        if rss and len(anon) == len(rss) and main is not None and proc.poll() is None:
            soak.samples.append(Sample(time.monotonic() - start, done, rss, anon, main))
        time.sleep(every)


def gl_renderer(env: dict[str, str]) -> str:
    ran = subprocess.run([sys.executable, "-m", "clevrlite.cli", "doctor", "--json"],
                         capture_output=True, text=True, env=env)
    try:
        info = json.loads(ran.stdout)
    except ValueError:
        return "unknown GL"
    return f"{info.get('renderer', '?')}, {info.get('version', '?')}"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 ** 2
    return 0.0


def report(soak: Soak, scenes: int, workers: int, seconds: float, restarts: int,
           warm: int) -> bool:
    """Print the figures; True when every worker's RSS stayed within 10% from its first
    sample after ``warm`` scenes (counted from when it appeared) to its last."""
    print(f"{scenes:,} scenes in {seconds:.0f} s: {scenes / seconds:.1f} scenes/s (start-up and "
          f"scenes.json included); restarts seen: {restarts}"
          + (f" (worker {soak.killed} sent SIGSEGV)" if soak.killed else ""))
    started = [s for s in soak.samples if s.scenes >= warm] or soak.samples
    if not started:
        print("no samples: the run was too short for the sampling interval")
        return False
    first, last = started[0], started[-1]
    if last.scenes > first.scenes:
        rate = (last.scenes - first.scenes) / (last.seconds - first.seconds)
        print(f"steady rate between the first and the last sample: {rate:.1f} scenes/s")
    flat = True
    for pid in sorted({pid for s in soak.samples for pid in s.workers}):
        seen = [s for s in soak.samples if pid in s.workers]
        seen = [s for s in seen if s.scenes >= seen[0].scenes + warm] or seen  # warmed up
        a, b = seen[0], seen[-1]
        change = b.workers[pid] / a.workers[pid] - 1
        flat &= abs(change) <= 0.10
        print(f"worker {pid}: VmRSS {a.workers[pid]:.0f} MiB after {a.scenes:,} scenes, "
              f"{b.workers[pid]:.0f} MiB after {b.scenes:,} ({change:+.1%}; "
              f"{len(seen)} samples, min {min(s.workers[pid] for s in seen):.0f}, "
              f"max {max(s.workers[pid] for s in seen):.0f}); RssAnon {a.anon[pid]:.0f} to "
              f"{b.anon[pid]:.0f} MiB")
    change = last.main / first.main - 1
    print(f"main process: VmRSS {first.main:.0f} MiB after {first.scenes:,} scenes, "
          f"{last.main:.0f} MiB after {last.scenes:,} ({change:+.1%})")
    marks = []
    for tenth in range(1, 11):
        at = next((s for s in started if s.scenes >= scenes * tenth / 10), last)
        marks.append(f"{at.scenes:,}: " + "/".join(f"{v:.0f}" for v in at.workers.values()))
    print("worker VmRSS (MiB) at each tenth of the run: " + "  ".join(marks))
    print(f"flat within 10%: {'yes' if flat else 'NO'}")
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warm", type=int, default=None,
                        help="scenes done before the first sample counts [500, or a tenth]")
    parser.add_argument("--kill-at", type=int, default=None,
                        help="send SIGSEGV to one worker once this many scenes are done")
    args = parser.parse_args()
    warm = args.warm if args.warm is not None else min(500, args.scenes // 10)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {memory_gib():.0f} GiB, "
          f"Python {platform.python_version()}, {gl_renderer(env)}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    print(f"soak: clevrlite render --count {args.scenes} --workers {args.workers} (3..10 "
          f"objects, 480x320, all annotations and formats)", flush=True)
    soak = Soak()
    with tempfile.TemporaryDirectory(prefix="clevrlite-soak-") as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "clevrlite.cli", "render", "--count",
                                 str(args.scenes), "--workers", str(args.workers), "--out",
                                 str(out), "--quiet"], stderr=subprocess.PIPE, text=True,
                                env=env)
        watcher = threading.Thread(target=watch, args=(proc, out, args.every, args.kill_at,
                                                       soak), daemon=True)
        watcher.start()
        _, stderr = proc.communicate()
        seconds = time.perf_counter() - start
        watcher.join()
    for line in stderr.splitlines():
        print(f"run: {line}")
    if proc.returncode != 0:
        sys.exit(f"the run failed with exit code {proc.returncode}")
    restarts = sum(1 for line in stderr.splitlines() if line.startswith(WARNING))
    flat = report(soak, args.scenes, args.workers, seconds, restarts, warm)
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
