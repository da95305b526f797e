"""Legibility audit: can each object's colour, material and size be read from the image alone?

Renders scenes with `render_dataset` (the files `clevrlite render` writes), then judges every
object from its pixels in the PNG, using its mask to find them:
- colour: the median of its pixels against the palette as it looks after sRGB encoding (CLEVR
  feeds palette/255 to the renderer as linear albedo), allowing for shading by matching each
  palette colour at its best brightness;
- material: a logistic regression per shape on brightness statistics of its pixels (spread,
  highlights, internal edges, tint changes), scored by 5-fold cross-validation;
- size: a threshold per shape on the rendered footprint (square root of its visible pixels
  times its depth over the focal length: its size in world units), scored the same way.
Accuracy is printed per shape and per colour for each attribute; every class must reach 98%.
Pixels on the mask's boundary are left out (antialiasing mixes them with their neighbours).

Usage: python benchmarks/legibility.py [--scenes 300] [--workers 2] [--seed 7]
Exit status 1 when a class falls short.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clevrlite.placement import PlacementOptions  # noqa: E402
from clevrlite.runs.dataset import RenderOptions, render_dataset  # noqa: E402
from clevrlite.vocab import load_vocabulary  # noqa: E402

TARGET = 0.98
FOLDS = 5


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function on [0, 1] values."""
    return np.where(linear <= 0.0031308, 12.92 * linear,
                    1.055 * np.power(linear, 1.0 / 2.4) - 0.055)


def shrink(region: np.ndarray) -> np.ndarray:
    """``region`` without its pixels that have a 4-neighbour outside it."""
    core = region.copy()
    core[1:, :] &= region[:-1, :]
    core[:-1, :] &= region[1:, :]
    core[:, 1:] &= region[:, :-1]
    core[:, :-1] &= region[:, 1:]
    return core


def interior(mask: np.ndarray, mask_id: int) -> np.ndarray:
    """(H, W) bool: pixels of object ``mask_id`` whose four neighbours are the object too."""
    return shrink(mask == mask_id)


def nearest_colour(rgb: np.ndarray, palette: dict[str, np.ndarray]) -> str:
    """Palette name whose colour, scaled to its best brightness, is nearest ``rgb``."""
    best, best_error = "", np.inf
    for name, colour in palette.items():
        scale = max(float(rgb @ colour) / float(colour @ colour), 0.0)
        error = float(np.sum((rgb - scale * colour) ** 2))
        if error < best_error:
            best, best_error = name, error
    return best


def material_features(image: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Brightness statistics of an object's interior pixels (image as float in [0, 1]).
    Gradients are taken one pixel further in, so that their central differences never reach
    the silhouette (or an occluder in front)."""
    pixels = image[core]
    luma = pixels @ np.array([0.2126, 0.7152, 0.0722])
    median = max(float(np.median(luma)), 1e-3)
    p5, p95, p99 = np.percentile(luma, [5, 95, 99])
    chroma = pixels / np.maximum(pixels.sum(axis=1, keepdims=True), 1e-3)
    lum = image @ np.array([0.2126, 0.7152, 0.0722])
    gy, gx = np.gradient(lum)
    inner = shrink(core)
    edges = np.hypot(gx, gy)[inner if inner.sum() >= 10 else core]
    return np.array([p5 / median, p95 / median, p99 / median, luma.std() / median,
                     float(np.mean(luma > 0.85)), edges.mean() / median,
                     float(np.percentile(edges, 90)) / median, chroma.std(axis=0).sum()])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Weights (with bias last) of an L2-regularised logistic regression, by Newton steps."""
    a = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(a.shape[1])
    penalty = l2 * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + penalty @ w
        hess = (a * (p * (1 - p))[:, None]).T @ a + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def cross_validated(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold predictions (bool) of a standardised logistic regression."""
    order = np.random.default_rng(seed).permutation(len(y))
    folds = np.array_split(order, FOLDS)
    predicted = np.zeros(len(y), bool)
    for fold in folds:
        train = np.setdiff1d(order, fold)
        mean, std = x[train].mean(0), x[train].std(0) + 1e-9
        w = fit_logistic((x[train] - mean) / std, y[train].astype(float))
        z = np.column_stack([(x[fold] - mean) / std, np.ones(len(fold))]) @ w
        predicted[fold] = z > 0
    return predicted


def audit(out: Path, seed: int) -> tuple[list[dict], dict]:
    """One record per drawn object: its true attributes and the image-only judgements' inputs."""
    vocab = load_vocabulary()
    palette = {name: 255.0 * srgb_encode(np.array(vocab.rgb(name))) for name in vocab.colors}
    records = []
    for path in sorted((out / "scenes").glob("*.json")):
        scene = json.loads(path.read_text())
        image = np.asarray(Image.open(out / "images" / scene["image_filename"]), float)
        mask = np.asarray(Image.open(out / "masks" / scene["mask_filename"]))
        k = scene["camera"]["intrinsics"] if "intrinsics" in scene["camera"] else None
        focal = (k[0][0] if k else scene["width"] / 2.0
                 / np.tan(np.radians(scene["camera"]["hfov_deg"]) / 2.0))
        for obj in scene["objects"]:
            core = interior(mask, obj["mask_id"])
            if core.sum() < 20:
                continue
            median = np.median(image[core], axis=0)
            records.append({
                "shape": obj["shape"], "color": obj["color"], "material": obj["material"],
                "size": obj["size"],
                "seen_color": nearest_colour(median, palette),
                "material_x": material_features(image / 255.0, core),
                "size_x": np.log(np.sqrt(float((mask == obj["mask_id"]).sum()))
                                 * obj["pixel_coords"][2] / focal),
            })
    return records, palette


def judge(records: list[dict], seed: int) -> dict[str, np.ndarray]:
    """Per attribute, a bool per record: judged right from the image."""
    right = {"color": np.array([r["seen_color"] == r["color"] for r in records])}
    right["material"] = np.zeros(len(records), bool)
    right["size"] = np.zeros(len(records), bool)
    shapes = sorted({r["shape"] for r in records})
    for shape in shapes:
        idx = np.array([i for i, r in enumerate(records) if r["shape"] == shape])
        metal = np.array([records[i]["material"] == "metal" for i in idx])
        x = np.stack([records[i]["material_x"] for i in idx])
        right["material"][idx] = cross_validated(x, metal, seed) == metal
        large = np.array([records[i]["size"] == "large" for i in idx])
        x = np.array([[records[i]["size_x"]] for i in idx])
        right["size"][idx] = cross_validated(x, large, seed) == large
    return right


def report(records: list[dict], right: dict[str, np.ndarray]) -> bool:
    """Print accuracy per shape and per colour for each attribute; True if all reach TARGET."""
    ok = True
    groups: dict[str, dict[str, list[int]]] = {"shape": defaultdict(list),
                                               "color": defaultdict(list)}
    for i, r in enumerate(records):
        groups["shape"][r["shape"]].append(i)
        groups["color"][r["color"]].append(i)
    print(f"{'class':<16}" + "".join(f"{a:>12}" for a in right) + f"{'objects':>10}")
    for kind, members in groups.items():
        for name, idx in sorted(members.items()):
            cells = []
            for attribute, hits in right.items():
                accuracy = float(np.mean(hits[idx]))
                ok &= accuracy >= TARGET
                cells.append(f"{100 * accuracy:>11.1f}{'' if accuracy >= TARGET else '!'}")
            print(f"{kind + ' ' + name:<16}" + "".join(c if c.endswith("!") else c + " "
                                                     for c in cells) + f"{len(idx):>9}")
    totals = "  ".join(f"{a} {100 * float(np.mean(h)):.1f}%" for a, h in right.items())
    print(f"all {len(records)} objects: {totals}; every class >= {100 * TARGET:.0f}%: "
          f"{'yes' if ok else 'NO (! marks the short ones)'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="render into this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "run"
        start = time.perf_counter()
        render_dataset(RenderOptions(out=out, count=args.scenes, workers=args.workers,
                                     seed=args.seed, placement=PlacementOptions()))
        print(f"rendered {args.scenes} scenes (default 3..10 objects) in "
              f"{time.perf_counter() - start:.0f} s; judging each object from its pixels")
        records, _ = audit(out, args.seed)
    return 0 if report(records, judge(records, args.seed)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
