"""Other tools' formats (DESIGN 9): ``clevrlite export DIR --to FORMAT --out DEST``.

hf (Hugging Face parquet with a card), lmms-eval (a task folder), vlmevalkit (its custom TSV),
verl and trl (RL datasets whose rewards are clevrlite's) read a benchmark of any suite;
twitter-gmner (the Twitter-GMNER release's layout) a gmner benchmark; coco a render run.
DEST must be empty, or with ``overwrite`` an earlier export (it holds source.MARKER), which is
cleared first; a folder of anyone else's files is never cleared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from clevrlite.errors import UsageError
from clevrlite.export.source import MARKER, clear, prepare_dest

FORMATS = ("hf", "lmms-eval", "vlmevalkit", "verl", "trl", "coco", "twitter-gmner")


def _exporter(to: str) -> Callable[[Path, Path, str], dict[str, int]]:
    if to == "hf":
        from clevrlite.export.hf import export_hf
        return export_hf
    if to == "lmms-eval":
        from clevrlite.export.lmms_eval import export_lmms_eval
        return export_lmms_eval
    if to == "vlmevalkit":
        from clevrlite.export.vlmevalkit import export_vlmevalkit
        return export_vlmevalkit
    if to == "twitter-gmner":
        from clevrlite.export.twitter_gmner import export_twitter_gmner
        return export_twitter_gmner
    if to in ("verl", "trl"):
        from clevrlite.export.rl import export_rl
        return lambda src, dest, split: export_rl(to, src, dest, split)
    from clevrlite.export.coco import export_coco
    return export_coco


def export(src: str | Path, to: str, dest: str | Path, overwrite: bool = False,
           split: str = "all") -> dict[str, int]:
    """Export ``src`` to format ``to`` in ``dest``; returns what was written, by split."""
    if to not in FORMATS:
        raise UsageError(f"unknown format {to!r}; use one of {', '.join(FORMATS)}")
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise UsageError(f"{str(src)!r} does not exist; give a benchmark or render directory")
    if dest.resolve() == src.resolve() or src.resolve() in dest.resolve().parents:
        raise UsageError(f"--out {str(dest)!r} is inside {str(src)!r}; export elsewhere")
    exporter = _exporter(to)
    prepare_dest(dest, overwrite)
    try:
        return exporter(src, dest, split)
    except BaseException:
        if dest.is_dir() and not any(p.is_file() and p.name != MARKER
                                     for p in dest.rglob("*")):
            clear(dest)  # nothing useful written: leave no half-built tree
        raise


__all__ = ["FORMATS", "export"]
