"""Depth and normal maps as files (``clevrlite render --passes depth,normals``).

Depth: camera z in metres (the distance along the camera's axis, as in ``pixel_coords``), as a
16-bit grey PNG of ``round(z / depth_scale)``, with ``depth_scale`` (metres per unit) in the
scene JSON; 0 means nothing was drawn there. The scale is 1 mm unless the view's farthest
surface would not fit in 16 bits, then the smallest power-of-two multiple of 1 mm that fits, so
every depth is kept to within half a scale unit (0.5 mm at the default scale).

Normals: the unit surface normal n in the camera axes of the scene JSON (x right, y down,
z forward: a surface that faces the camera has n_z < 0), as an 8-bit RGB PNG of
``round((n + 1) / 2 * 255)``, so each component is kept to within 1/255; (0, 0, 0) means
nothing was drawn there.
"""

from __future__ import annotations

import numpy as np

PASSES = ("depth", "normals")
DEPTH_UNIT = 0.001  # metres per depth-PNG unit, unless the view's depth needs more
_DEPTH_MAX = 0xFFFF


def depth_scale(depth: np.ndarray) -> float:
    """Metres per unit for a depth map: 1 mm, doubled until the farthest depth fits."""
    far = float(depth.max()) if depth.size else 0.0
    scale = DEPTH_UNIT
    while far / scale > _DEPTH_MAX - 0.5:
        scale *= 2.0
    return scale


def encode_depth(depth: np.ndarray, scale: float) -> np.ndarray:
    """(H, W) uint16 units of ``scale`` metres; 0 stays 0 (nothing drawn), and a drawn depth
    under half a unit is kept as 1 so that it still reads as drawn."""
    units = np.rint(np.asarray(depth, np.float64) / scale)
    units = np.where(depth > 0, np.clip(units, 1, _DEPTH_MAX), 0)
    return units.astype(np.uint16)


def decode_depth(units: np.ndarray, scale: float) -> np.ndarray:
    """Depth PNG values back to metres (float64); 0 where nothing was drawn."""
    return np.asarray(units, np.float64) * scale


def decode_normals(coded: np.ndarray) -> np.ndarray:
    """Normal PNG values (H, W, 3) back to camera-space normals (float64, unit length to
    within the 8-bit quantization); (0, 0, 0) where nothing was drawn."""
    coded = np.asarray(coded)
    drawn = coded.any(axis=-1, keepdims=True)
    return np.where(drawn, coded.astype(np.float64) / 127.5 - 1.0, 0.0)
