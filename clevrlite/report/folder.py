"""Output folders of the sites: written whole under a temporary name, then renamed into place.

A site is many files; a run that fails half-way must leave nothing behind, and a user's
folder that is not one of our sites must never be cleared. Images are hard-linked from the
benchmark (copied where links cannot cross file systems) and referenced relatively, so a site
folder can move.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from clevrlite.errors import UsageError
from clevrlite.fsutil import (check_replaceable, check_writable, make_dirs, remove_empty_dirs,
                              write_text)

MARKER = ".clevrlite-site"


@contextmanager
def site_folder(out: Path, kind: str, overwrite: bool) -> Iterator[Path]:
    """A fresh temporary folder to write the ``kind`` site into; on success it replaces
    ``out`` (which must be absent, empty, or with ``overwrite`` a site of ours)."""
    out = Path(out)
    check_replaceable(out, overwrite, MARKER, "site")
    check_writable(out)
    created = make_dirs(out.parent)
    tmp = out.parent / f".{out.name}.{os.getpid()}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        write_text(tmp / MARKER, f"clevrlite {kind}\n")
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty_dirs(created)
        raise


def _replace(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``; an earlier site there is moved aside first, then removed."""
    if out.is_dir() and any(out.iterdir()):
        old = out.parent / f".{out.name}.{os.getpid()}.old"
        os.rename(out, old)
        os.rename(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, out)


def link_file(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source``, or a copy where a link is impossible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileExistsError:
        return
    except OSError:
        shutil.copyfile(source, target)


def link_images(benchmark: Path, relative: list[str], site: Path) -> None:
    """Each benchmark image path (relative to the benchmark, ``images/...``) linked to the same
    relative path in ``site``; a missing image is a one-line usage error."""
    for rel in sorted(set(relative)):
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise UsageError(f"{str(benchmark)!r}: image path {rel!r} leaves the benchmark "
                             f"directory")
        source = benchmark / rel
        if not source.is_file():
            raise UsageError(f"image {str(source)!r} does not exist; the benchmark directory "
                             f"is incomplete")
        link_file(source, site / rel)


__all__ = ["MARKER", "link_file", "link_images", "site_folder"]
