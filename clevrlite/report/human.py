"""`clevrlite human`: a stratified sample on a static page where a person answers it.

The page shows one instance at a time (its image, the scene text or passage, the question)
and takes the answer as the question allows it: a button per allowed value, typed text, a box
dragged on the image, null ("not in the image") where the task has absent objects, and for
gmner a type and a box (or null) per mention. Answers stay in the browser's localStorage under
the sample's own id, so a reload resumes, and the Download button writes a JSON-lines
predictions file ({"id", "prediction": "{\\"answer\\": ...}", "seconds", "benchmark",
"sample"}) that `clevrlite score` and `clevrlite report` read. The page never holds the gold
answers. ``benchmark`` is the fingerprint of the benchmark answered, which `report` checks.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from clevrlite.bench.reader import benchmark_info, load_instances
from clevrlite.bench.registry import get_suite
from clevrlite.bench.suite import Suite
from clevrlite.fsutil import write_text
from clevrlite.report.assets import js_data, static_text
from clevrlite.report.folder import link_images, site_folder
from clevrlite.bench.reader import fingerprint
from clevrlite.report.sample import stratified_sample


@dataclass(frozen=True)
class HumanSummary:
    """What a human-page run wrote."""

    out: Path
    sample_id: str
    size: int
    seconds: float


def answer_kind(inst: dict[str, Any]) -> str:
    """How a person answers: entities (a type and a box per mention), box, parts (a chain
    question's two-part answer: buttons for the part the image shows, a field for the other),
    choice or text."""
    if isinstance(inst.get("entities"), list):
        return "entities"
    if inst.get("target_attribute") == "bbox":
        return "box"
    if "+" in str(inst.get("target_attribute") or ""):
        return "parts"
    return "choice" if inst.get("choices") else "text"


def null_allowed(suite: Suite, inst: dict[str, Any]) -> bool:
    """Whether the question may point at an object the image does not show: its task's
    cells take turns between conditions (the grounding suite's data2img), or gmner."""
    if answer_kind(inst) == "entities":
        return True
    return len(set(suite.conditions(inst["task"]) or [])) > 1


def instructions(prompt: str) -> str:
    """The prompt's first paragraph, what the task asks, less its sentences about the worked
    examples (the page shows none)."""
    first = prompt.split("\n\n", 1)[0].strip()
    sentences = re.split(r"(?<=\.)\s+", first)
    return " ".join(s for s in sentences if "example" not in s.lower())


def scene_table(scene_text: str | None) -> dict[str, list] | None:
    """A JSON scene text as a table, each value written as the text writes it (the same
    content, easier for people to read); None for other formats, shown as they are."""
    if not scene_text:
        return None
    try:
        data = json.loads(scene_text)
    except ValueError:
        return None
    objects = data.get("objects") if isinstance(data, dict) else None
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        return None
    columns = list(dict.fromkeys(key for obj in objects for key in obj))
    rows = [["" if key not in obj else obj[key] if isinstance(obj[key], str)
             else json.dumps(obj[key], ensure_ascii=False) for key in columns]
            for obj in objects]
    return {"columns": columns, "rows": rows}


def item(inst: dict[str, Any], suite: Suite) -> dict[str, Any]:
    """What the page shows of one instance; never its answer."""
    kind = answer_kind(inst)
    out: dict[str, Any] = {"id": inst["id"], "task": inst["task"],
                           "objects": inst["object_count"], "cell": suite.cell(inst),
                           "kind": kind, "image": inst.get("image"),
                           "null": null_allowed(suite, inst),
                           "instructions": instructions(inst.get("prompt") or "")}
    if kind == "entities":
        text = inst.get("text") or ""
        out["passage"] = text
        out["mentions"] = [{"start": e["start"], "end": e["end"],
                            "text": text[e["start"]:e["end"]]} for e in inst["entities"]]
    else:
        out["question"] = inst.get("question") or ""
        out["scene_text"] = inst.get("scene_text")
        out["scene_table"] = scene_table(inst.get("scene_text"))
        choices = inst.get("choices") or {}
        if kind == "choice":  # a list, or the chain suite's {attribute: values}
            out["choices"] = list(choices[inst["target_attribute"]]
                                  if isinstance(choices, dict) else choices)
        if kind == "parts":
            out["parts"] = [{"name": name, "choices": list(choices[name]) if name in choices
                             else None} for name in inst["target_attribute"].split("+")]
    return out


def sample_id(identity: str, seed: int, ids: list[str]) -> str:
    """12 hex digits naming the sample: the benchmark, the seed and the ids drawn."""
    return hashlib.sha256("\0".join([identity, str(seed), *ids]).encode()).hexdigest()[:12]


def build_human(benchmark_dir: str | Path, size: int, out: str | Path, seed: int = 0,
                split: str = "all", overwrite: bool = False) -> HumanSummary:
    """Draw the sample and write the human page into ``out``."""
    start = time.perf_counter()
    root, out = Path(benchmark_dir), Path(out)
    info = benchmark_info(root)
    suite = get_suite(info.suite)
    loaded = load_instances(root, split)
    instances = [inst for name in loaded for inst in loaded[name]]
    chosen = stratified_sample(instances, size, seed, suite.cell)
    identity = fingerprint(root)
    ids = [inst["id"] for inst in chosen]
    name = sample_id(identity, seed, ids)
    types = sorted({str(e.get("type")) for inst in instances
                    for e in inst.get("entities") or [] if e.get("type") is not None})
    data = {"sample": name, "seed": seed, "size": len(chosen),
            "benchmark": {"name": root.resolve().name, "path": str(root),
                          "suite": info.suite, "fingerprint": identity,
                          "splits": {k: len(v) for k, v in loaded.items()}},
            "width": info.width, "height": info.height, "types": types,
            "items": [item(inst, suite) for inst in chosen]}
    title = f"clevrlite human evaluation: {data['benchmark']['name']}"
    page = static_text("human.html").replace("<!--TITLE-->", escape(title))
    with site_folder(out, "human", overwrite) as site:
        for asset in ("human.js", "style.css"):
            write_text(site / asset, static_text(asset))
        write_text(site / "index.html", page)
        write_text(site / "sample.js", js_data("CLEVRLITE_SAMPLE", data))
        link_images(root, [inst["image"] for inst in chosen if inst.get("image")], site)
    return HumanSummary(out, name, len(chosen), time.perf_counter() - start)


__all__ = ["HumanSummary", "answer_kind", "build_human", "item", "null_allowed", "sample_id"]
