"""Antialiasing along object silhouettes and the edges of the key shadow on the floor.

The colour pass renders one sample per pixel (multisampling costs a software rasterizer a
third of a frame and cannot resolve an id buffer). Silhouettes and shadow edges are where
aliasing shows, and the pass says exactly where they are (the instance mask, and the stencil
that marks the floor in shadow): each pixel on a boundary between two labels takes a weighted
mean of itself and its four neighbours, which softens stair-steps the way a box filter would,
and leaves every other pixel, so interiors and the open floor stay exact. Pure numpy.
"""

from __future__ import annotations

import numpy as np


def boundary(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels with a 4-neighbour of another mask id."""
    edge = np.zeros(mask.shape, bool)
    vertical = mask[1:, :] != mask[:-1, :]
    horizontal = mask[:, 1:] != mask[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    return edge


def edge_labels(mask: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """(H, W) int32 labels whose boundaries are the edges to smooth: the mask ids, and floor
    pixels in the key shadow as a label of their own."""
    labels = mask.astype(np.int32)
    labels[shadow & (mask == 0)] = -1
    return labels


def smooth_edges(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``rgb`` (H, W, 3) uint8 with the pixels on ``mask``'s label boundaries filtered
    (weights 4 for the pixel, 1 for each 4-neighbour, clamped at the image border)."""
    ys, xs = np.nonzero(boundary(mask))
    if not len(ys):
        return rgb
    h, w = mask.shape
    image = rgb.astype(np.uint16)
    total = image[ys, xs] * 4
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        total += image[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)]
    out = rgb.copy()
    out[ys, xs] = (total + 4) // 8
    return out
