"""Boxes in model answers: parsing under a box convention, validity, and IoU.

Gold boxes are [x1, y1, x2, y2] in pixels from the top-left corner with x2 and y2 exclusive.
A predicted box is read in one of three conventions (``--box-format``): ``xyxy`` (pixels),
``norm1`` (fractions of the width and height) or ``norm1000`` (thousandths, as Qwen2-VL writes
them), and turned into pixels. Null (JSON null, or the words null/none) is the decision that
the object is not in the image. Anything else that is not four finite numbers with x2 > x1 and
y2 > y1 is malformed: it counts as wrong and is reported by count, never raised.
"""

from __future__ import annotations

import math
from typing import Any

BOX_FORMATS = ("xyxy", "norm1", "norm1000")
_SCALE = {"xyxy": None, "norm1": 1.0, "norm1000": 1000.0}


class Malformed:
    """The parse of a box that is neither null nor a valid box."""

    def __repr__(self) -> str:
        return "MALFORMED"


MALFORMED = Malformed()
_NUMBERS = {int, float}
Box = tuple[float, float, float, float]


def is_null(value: Any) -> bool:
    """Whether an answer says "not in the image": null, or the word null or none."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none"))


def parse_box(value: Any, box_format: str, width: int, height: int) -> Box | None | Malformed:
    """A predicted box in pixels, None for null, or MALFORMED."""
    if value is None:
        return None
    kind = type(value)
    if kind is list and len(value) == 4 and box_format == "xyxy":  # the common case, quickly
        x1, y1, x2, y2 = value
        if {type(x1), type(y1), type(x2), type(y2)} <= _NUMBERS and x2 > x1 and y2 > y1 \
                and math.isfinite(x1 + y1 + x2 + y2):
            return (x1, y1, x2, y2)
    if is_null(value):
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return MALFORMED
    numbers = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return MALFORMED
        if not math.isfinite(item):
            return MALFORMED
        numbers.append(float(item))
    x1, y1, x2, y2 = numbers
    if not (x2 > x1 and y2 > y1):
        return MALFORMED
    scale = _SCALE[box_format]
    if scale is not None:
        x1, x2 = x1 / scale * width, x2 / scale * width
        y1, y2 = y1 / scale * height, y2 / scale * height
    return (x1, y1, x2, y2)


def iou(a: Box | list, b: Box | list) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union
