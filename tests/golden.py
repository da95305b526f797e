"""Golden outputs: fixed builds of every suite and a render run, hashed file by file.

A refactor must leave these bytes unchanged. ``tests/data/golden.json`` holds the hashes of
the last accepted outputs; update it only in a commit that says why the bytes changed:

    .venv/bin/python tests/golden.py --write

Rendered pixels depend on the rasterizer, so the hashes are stored with the GL renderer
string they were made with; on another rasterizer the test skips with that reason.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data" / "golden.json"

# name -> clevrlite command-line arguments (--out and --workers are added)
RUNS: dict[str, list[str]] = {
    "mate-json": ["benchmark", "--size", "256", "--seed", "3", "--format", "json"],
    "mate-yaml-cot": ["benchmark", "--size", "256", "--seed", "4", "--format", "yaml",
                      "--cot", "--shots", "1", "--precision", "full"],
    "mate-text-same-scene": ["benchmark", "--size", "256", "--seed", "8", "--format", "text",
                             "--same-scene-shots", "--balance-linking"],
    "preset-mate": ["benchmark", "--preset", "mate", "--mate-compat", "--size", "256",
                    "--unimodal-size", "256", "--seed", "5"],
    "grounding-xml": ["benchmark", "--suite", "grounding", "--size", "256", "--seed", "6",
                      "--format", "xml"],
    "gmner": ["benchmark", "--suite", "gmner", "--size", "256", "--seed", "7", "--cot"],
    "chain-yaml-cot": ["benchmark", "--suite", "chain", "--size", "256", "--seed", "10",
                       "--format", "yaml", "--cot"],
    "render": ["render", "--count", "50", "--seed", "9"],
}
FOLDERS = ("images", "masks", "scenes", "text", "mate")


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path, folders summed into one hash
    each (with their file count), hidden part files left out."""
    out: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(root).parts):
            continue
        rel = path.relative_to(root).as_posix()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        top = rel.split("/", 1)[0]
        if top in FOLDERS and "/" in rel:
            grouped.setdefault(top, []).append(f"{rel} {digest}")
        else:
            out[rel] = digest
    for top, rows in grouped.items():
        out[f"{top}/ ({len(rows)} files)"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def build(name: str, root: Path, workers: int = 2) -> dict[str, str]:
    """Run ``RUNS[name]`` into ``root/name`` (in process) and hash what it wrote."""
    from click.testing import CliRunner

    from clevrlite.cli import cli

    out = root / name
    result = CliRunner().invoke(cli, [*RUNS[name], "--out", str(out), "--workers",
                                      str(workers), "--quiet"], catch_exceptions=False)
    if result.exit_code:
        raise RuntimeError(f"{name}: exit {result.exit_code}: {result.output}")
    return file_hashes(out)


def renderer() -> str:
    """The GL renderer string the pixels come from."""
    from clevrlite.render import gl_info

    return str(gl_info("auto").get("renderer"))


def main() -> None:
    import tempfile

    if "--write" not in sys.argv:
        sys.exit("usage: python tests/golden.py --write   (rebuilds and records the hashes)")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: build(name, Path(tmp)) for name in RUNS}
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps({"renderer": renderer(), "runs": runs}, indent=1,
                               sort_keys=True) + "\n")
    print(f"wrote {DATA}: {sum(len(r) for r in runs.values())} hashes")


if __name__ == "__main__":
    main()
