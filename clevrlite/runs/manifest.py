"""Run directories that cannot mix (DESIGN 10): manifest.json, --resume, --overwrite.

Every output directory holds ``manifest.json`` with the options that decide its bytes (not
those that only choose which scenes, like --count and --start-index, so shards by hand still
share a folder). A run into a directory that is not empty must either ``resume`` (and then
every deciding option must match: a one-line error names each that differs) or
``overwrite``: then exactly the files the previous run wrote are removed, found by the names
its manifest says it gave them (``written_by``), and nothing else; a directory without a
manifest that holds anything is refused, since nothing tells clevrlite's files from others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from clevrlite import __version__
from clevrlite.errors import UsageError
from clevrlite import fsutil
from clevrlite.maps import PASSES

MANIFEST = "manifest.json"
# Option names as the CLI spells them, for messages.
FLAGS = {"n_objects": "--n-objects", "fmt": "--format", "unimodal_size": "--unimodal-size",
         "same_scene_shots": "--same-scene-shots", "balance_linking": "--balance-linking",
         "min_pixels": "--min-pixels", "floor_extent": "--floor-extent",
         "mate_compat": "--mate-compat", "vocabulary": "--properties (the vocabulary)",
         "version": "the clevrlite version"}
# Deciding options a manifest leaves out while they hold these values (render's opt-in
# extras, so that a default run's manifest stays as it was before they existed).
DEFAULTS: dict[str, Any] = {"passes": [], "views": 1, "view_ring": False}


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def manifest(command: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """What manifest.json holds: the command, clevrlite's version, the deciding options."""
    return {"command": command, "options": {"version": __version__, **options}}


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """'--seed 5 (the run has 0)' for each deciding option whose value changed."""
    out = []
    for name in dict.fromkeys([*old, *new]):
        before, after = old.get(name, DEFAULTS.get(name)), new.get(name, DEFAULTS.get(name))
        if before != after:
            shown = "a different one" if name == "vocabulary" else json.dumps(after)
            was = "" if name == "vocabulary" else f" (the run has {json.dumps(before)})"
            out.append(f"{flag(name)} {shown}{was}")
    return out


@dataclass
class Prepared:
    """What prepare did, so that a run that fails before writing anything can undo it."""

    out: Path
    created: list[Path]  # directories made (fsutil.make_dirs); runs add theirs
    new_manifest: bool  # no manifest was there before

    def discard_if_unused(self) -> None:
        """After a failed run: if it left no file but its manifest, remove that and the
        folders it made (a run that wrote nothing leaves nothing behind)."""
        fsutil.remove_empty_dirs(self.created)
        if not self.new_manifest or not self.out.is_dir():
            return
        made = {p.name for p in self.created if p.parent == self.out}
        left = [p for p in self.out.iterdir() if p.name != MANIFEST and p.name in made]
        if not left:
            (self.out / MANIFEST).unlink(missing_ok=True)
            fsutil.remove_empty_dirs(self.created)


def written_by(record: Mapping[str, Any]) -> list[tuple[str, re.Pattern]]:
    """What a run with manifest ``record`` wrote into its directory: (folder, pattern of file
    names) pairs, "" being the directory itself. Temporary files of killed writers too."""
    options = record.get("options", {})
    prefix = re.escape(str(options.get("prefix", "CLEVRLITE")))
    temp = re.compile(rf"^\..*\.\d+{re.escape(fsutil.TMP_SUFFIX)}$")
    if record.get("command") == "render":
        stem = rf"{prefix}_{re.escape(str(options.get('split', 'new')))}_\d{{6}}"
        view = r"(_v\d+)?" if int(options.get("views", 1)) > 1 else ""
        passes = [name for name in PASSES if name in options.get("passes", [])]
        files = [("images", rf"{stem}{view}\.png"), ("masks", rf"{stem}{view}\.png"),
                 *((name, rf"{stem}{view}\.png") for name in passes),
                 ("scenes", rf"{stem}\.json"), ("text", rf"{stem}\.(json|yaml|xml|txt)"),
                 ("", r"scenes\.json")]
    else:
        from clevrlite.bench.registry import SUITES, get_suite

        suite = options.get("suite", "mate")
        splits = [s.filename for s in get_suite(suite).splits] if suite in SUITES else []
        stem = rf"{prefix}_(bench|example)_\d+"
        files = [("images", rf"{stem}\.png"), ("masks", rf"{stem}\.png"),
                 ("scenes", rf"{stem}\.json"),
                 (".parts", rf"([a-z]+_\d{{6}}|{stem})\.json"),
                 ("mate", r"(mm|um)_\w+\.jsonl"), ("mate/img", r"[0-9a-f]{32}\.png"),
                 ("", "|".join(re.escape(f) for f in [*splits, "stats.json"]))]
    out = [(folder, re.compile(f"^({pattern})$")) for folder, pattern in files]
    out += [(folder, temp) for folder in {f for f, _ in files}]
    return out + [("", re.compile(f"^{re.escape(MANIFEST)}$"))]


def clear(out: Path, record: Mapping[str, Any]) -> int:
    """Remove what the run of manifest ``record`` wrote in ``out``, and the folders it made
    that are empty then; returns how many files went."""
    removed = 0
    patterns = written_by(record)
    for folder, pattern in patterns:
        where = out / folder
        if not where.is_dir() or where.is_symlink():
            continue
        for path in sorted(where.iterdir()):
            if path.is_file() and not path.is_symlink() and pattern.match(path.name):
                path.unlink()
                removed += 1
    for folder in sorted({f for f, _ in patterns if f}, key=len, reverse=True):
        where = out / folder
        if where.is_dir() and not where.is_symlink() and not any(where.iterdir()):
            where.rmdir()
    return removed


def prepare(out: Path, record: dict[str, Any], resume: bool, overwrite: bool,
            log: Callable[[str], None] | None = None) -> Prepared:
    """Check ``out`` against this run, clear the previous run's files for ``overwrite``
    (``log`` hears how many), and write the manifest."""
    path = out / MANIFEST
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if resume and overwrite:
        raise UsageError("--resume keeps a run's files and --overwrite deletes them; "
                         "choose one")
    if entries and resume:
        old = _read(path)
        if old is None:
            raise UsageError(f"--resume: {str(out)!r} has no {MANIFEST} to check the options "
                             f"against (an older clevrlite, or not a run); use --overwrite to "
                             f"start again there, or another --out")
        if old.get("command") != record["command"]:
            raise UsageError(f"--resume: {str(out)!r} holds a {old.get('command')} run, not "
                             f"a {record['command']} run; choose another --out")
        changed = differences(old.get("options", {}), record["options"])
        if changed:
            raise UsageError(f"--resume with other options than the run in {str(out)!r}: "
                             f"{'; '.join(changed)}; resume with the run's options, or use "
                             f"--overwrite or another --out")
    elif entries:
        if not overwrite:
            raise UsageError(f"--out {str(out)!r} is not empty; add --resume to continue the "
                             f"run there, --overwrite to replace it, or choose another --out")
        old = _read(path)
        if old is None:
            raise UsageError(f"--overwrite: {str(out)!r} holds files but no {MANIFEST}, so "
                             f"nothing tells clevrlite's files from yours; choose another "
                             f"--out, or empty it yourself")
        removed = clear(out, old)
        if log is not None:
            log(f"--overwrite: removed {removed} files the previous {old.get('command')} run "
                f"wrote in {out}")
    new = not path.is_file()
    created = fsutil.make_dirs(out)
    fsutil.write_json(path, record, indent=2)
    return Prepared(out, created, new)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
