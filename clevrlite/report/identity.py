"""A benchmark's identity: which files a site was made from, so that answers given on one
benchmark are recognised when they are shown against another."""

from __future__ import annotations

import hashlib
from pathlib import Path

from clevrlite.bench.reader import benchmark_info


def fingerprint(benchmark_dir: str | Path) -> str:
    """16 hex digits of the sha256 of the benchmark's split files (names and bytes, in the
    order stats.json lists them): the same for a copy, different after any rebuild that
    changes an instance."""
    root = Path(benchmark_dir)
    digest = hashlib.sha256()
    for name, filename in benchmark_info(root).splits.items():
        path = root / filename
        if not path.is_file():
            continue
        digest.update(f"{name}\0{filename}\0".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


__all__ = ["fingerprint"]
