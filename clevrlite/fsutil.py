"""Crash-safe file writing: every file appears under its final name complete or not at all."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
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
    """Delete temporary files left by killed runs under ``folder``; returns how many.

    A temporary file whose writer is still alive (another shard writing into the same folder)
    is kept: deleting it would make that writer's rename fail.
    """
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.rglob(f".*{TMP_SUFFIX}") if not _writer_alive(p)]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that named temporary file ``tmp`` (see temp_name) still runs."""
    pid = tmp.name[: -len(TMP_SUFFIX)].rpartition(".")[2]
    if not pid.isdigit() or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to another user
        return True
    return not _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A killed process that has not been reaped yet still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): trust kill(pid, 0)
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def make_dirs(root: Path, subdirs: Iterable[str] = ()) -> list[Path]:
    """Create ``root`` (with its parents) and ``root/sub`` for each of ``subdirs``.

    Returns the directories this call created, parents first, so a run that fails before
    writing anything can take them away again with remove_empty_dirs.
    """
    missing = []
    probe = root
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    created = []
    for path in [*reversed(missing), *(root / sub for sub in subdirs)]:
        try:
            path.mkdir()
        except FileExistsError:
            continue
        created.append(path)
    return created


def remove_empty_dirs(paths: Iterable[Path]) -> None:
    """Remove the given directories that are still empty, deepest first; keep the rest."""
    for path in sorted(paths, key=lambda p: len(p.parts), reverse=True):
        try:
            path.rmdir()
        except OSError:
            pass


def check_space(out: Path, needed: int, what: str) -> None:
    """A usage error, before any work, when the file system of ``out`` has less free space
    than ``needed`` bytes (``what`` says what they are for)."""
    probe = Path(out).resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise UsageError(f"{what} need about {needed / 1e9:.3g} GB and {str(probe)!r} has "
                         f"{free / 1e9:.3g} GB free; make fewer, or free some space")


def check_writable(out: Path, flag: str = "--out") -> None:
    """Fail early with a usage error if ``out`` cannot be created or written to.

    Leaves no trace: it creates and removes a probe directory in the deepest existing ancestor,
    which also catches read-only and virtual file systems (/proc) and works when run as root.
    """
    probe = out.resolve()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{flag} {str(out)!r}: {str(probe)!r} is a file, not a directory; "
                         f"choose another path")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".clevrlite-probe-", dir=probe))
    except OSError as exc:
        raise UsageError(f"{flag} {str(out)!r} is not writable (cannot create files in "
                         f"{str(probe)!r}: {exc.strerror or exc}); choose a writable "
                         f"directory") from None


def check_replaceable(out: Path, overwrite: bool, marker: str, what: str) -> None:
    """Refuse an ``out`` folder that clevrlite may not replace, with one usage error: a file,
    a non-empty folder without ``overwrite``, or one that no earlier ``what`` of ours wrote
    (it has no ``marker`` file): --overwrite never clears a folder of someone else's files."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder for the {what}")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UsageError(f"--out {str(out)!r} is not empty; choose a new folder or add "
                             f"--overwrite to replace an earlier {what} there")
        if not (out / marker).is_file():
            raise UsageError(f"--out {str(out)!r} is not a folder clevrlite wrote (no "
                             f"{marker}); --overwrite only replaces an earlier {what}")


def sync_tree(root: Path) -> None:
    """Make every file and directory under ``root`` durable (before a run's index is written).

    Linux's syncfs flushes the whole file system ``root`` lives on in one call, which costs
    far less than an fsync per file; elsewhere each file and directory is fsynced.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(root, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        _fsync(path)
    _fsync(root)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
