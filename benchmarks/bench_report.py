"""Speed of `clevrlite report` and `clevrlite human`, and of their pages in headless Chromium.

Run from the repository root: ``python benchmarks/bench_report.py [--benchmark DIR]``. Without
--benchmark it builds a small one (``--size``, cross-modal and unimodal) in a temporary
folder; the issue's figure is for 3 models on 5,500 + 5,500 instances
(``clevrlite benchmark --out /tmp/r5500``, about 3 minutes on 2 cores). It writes the oracle,
random and text-only baselines, times `clevrlite report` on the three as a user runs it (a
process of its own, start-up included), then opens the site in headless Chromium and reports
the milliseconds from navigation start to the moment the page marks itself ready, the time to
open an instance (its details chunk loaded and shown), and the same for the human page of a
384-instance sample (or the whole benchmark, when smaller). Targets: report under 30 s, page ready under 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import (CHROMIUM_MISSING, chromium_paths, clevrlite_command,  # noqa: E402
                     start_chromium, wait_ready)

KINDS = ("oracle", "random", "text-only")


def run(*args: str) -> float:
    """Seconds a clevrlite command takes, start-up included; fails loudly."""
    start = time.perf_counter()
    subprocess.run([*clevrlite_command(), *args], check=True, capture_output=True)
    return time.perf_counter() - start


def page_ready(chrome, url: str, repeat: int) -> list[float]:
    """Milliseconds from navigation start to ready, over fresh loads of ``url``."""
    times = []
    for _ in range(repeat):
        chrome.get("about:blank")
        chrome.get(url)
        times.append(wait_ready(chrome, timeout=60))
    return times


def open_instance(chrome) -> float:
    """Milliseconds from clicking the last row of the list to its details shown."""
    from selenium.webdriver.common.by import By

    rows = chrome.find_elements(By.CSS_SELECTOR, "#rows tbody tr")
    row = rows[-1]
    wanted = row.get_attribute("data-id")
    start = time.perf_counter()
    row.click()
    while chrome.find_element(By.ID, "detail").get_attribute("data-id") != wanted:
        time.sleep(0.005)
    return 1000 * (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=None)
    parser.add_argument("--size", type=int, default=500, help="instances per split when built")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench = args.benchmark
        if bench is None:
            bench = work / "bench"
            seconds = run("benchmark", "--size", str(args.size), "--out", str(bench), "-q",
                          "--no-audit")
            print(f"built a benchmark of {args.size} + {args.size} instances in {seconds:.1f} s")
        files = []
        for kind in KINDS:
            files.append(work / f"{kind}.jsonl")
            run("baseline", kind, "--benchmark", str(bench), "--out", str(files[-1]))
        lines = sum(1 for _ in open(files[0]))
        took = [run("report", str(bench), "-p", *map(str, files), "--out", str(work / "site"),
                    "--overwrite") for _ in range(2)]
        print(f"report: 3 models x {lines} instances: {min(took):.1f} s (runs: "
              f"{', '.join(f'{t:.1f}' for t in took)}; {os.cpu_count()} CPUs)")
        sample = str(min(384, lines))
        took = run("human", str(bench), "--sample", sample, "--out", str(work / "human"))
        print(f"human: a sample of {sample} in {took:.1f} s")
        if chromium_paths() is None:
            print(f"page timings skipped: {CHROMIUM_MISSING}")
            return
        chrome = start_chromium(work / "profile")
        try:
            ready = page_ready(chrome, (work / "site" / "index.html").as_uri() + "#instances",
                               args.repeat)
            opened = [open_instance(chrome) for _ in range(3)]
            human = page_ready(chrome, (work / "human" / "index.html").as_uri(), args.repeat)
        finally:
            chrome.quit()
        print(f"report page ready: median {statistics.median(ready):.0f} ms, max "
              f"{max(ready):.0f} ms over {len(ready)} loads; an instance opened in "
              f"{statistics.median(opened):.0f} ms (median of {len(opened)})")
        print(f"human page ready: median {statistics.median(human):.0f} ms, max "
              f"{max(human):.0f} ms over {len(human)} loads")


if __name__ == "__main__":
    main()
