"""Crash-safe file writing: every file appears under its final name complete or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from clevrlite.errors import UsageError

TMP_SUFFIX = ".part"


def temp_name(path: Path) -> Path:
    """The temporary sibling a file is written to before it is renamed into place."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, then rename it to ``path`` atomically."""
    tmp = temp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Atomic UTF-8 text write."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any, *, indent: int | None = None) -> None:
    """Atomic JSON write (UTF-8, non-ASCII kept, trailing newline)."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=indent) + "\n")


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Atomic write of many lines, streamed to the temporary file so memory stays flat."""
    tmp = temp_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
                fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary files left by a killed run under ``folder``; returns how many."""
    if not folder.is_dir():
        return 0
    stale = list(folder.rglob(f".*{TMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def check_writable(out: Path, flag: str = "--out") -> None:
    """Fail early with a usage error if ``out`` cannot be created or written to.

    Creates nothing: it looks at the deepest existing ancestor, so a bad run leaves no trace.
    """
    probe = out.resolve()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{flag} {str(out)!r}: {str(probe)!r} is a file, not a directory; "
                         f"choose another path")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {str(out)!r} is not writable ({str(probe)!r} denies "
                         f"writing); choose a writable directory")
