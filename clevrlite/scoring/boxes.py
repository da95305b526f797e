"""Boxes in model answers: parsing under a box convention, validity, and IoU.

Gold boxes are [x1, y1, x2, y2] in pixels from the top-left corner with x2 and y2 exclusive.
A predicted box is read in one of three conventions (``--box-format``): ``xyxy`` (pixels),
``norm1`` (fractions of the width and height) or ``norm1000`` (thousandths, as Qwen2-VL writes
them), and turned into pixels. An answer may also be a list of boxes (``[[x1, y1, x2, y2],
...]``, as E2E-GMNER writes GMNER regions, an entity having several): it is judged by its best
IoU. Null (JSON null, or the words null/none) is the decision that the object is not in the
image. Anything else that is not boxes of four finite numbers with x2 > x1 and y2 > y1 is
malformed: it counts as wrong and is reported by count, never raised.

A region is right when its IoU with the gold box reaches the threshold 0.5: ``ge`` (IoU >= 0.5,
what the public GMNER scorers compute, the default) or ``gt`` (IoU > 0.5, the wording of the
Twitter-GMNER paper).
"""

from __future__ import annotations

import math
from typing import Any

BOX_FORMATS = ("xyxy", "norm1", "norm1000")
IOU_THRESHOLD = 0.5
IOU_RULES = ("ge", "gt")
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


class Boxes(tuple):
    """Several predicted boxes for one answer; judged by the best of them."""


def parse_box(value: Any, box_format: str, width: int,
              height: int) -> Box | Boxes | None | Malformed:
    """A predicted box in pixels (or several, as Boxes), None for null, or MALFORMED."""
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
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (list, tuple)) for v in value):
        boxes = [parse_box(v, box_format, width, height) for v in value]
        if any(b is None or b is MALFORMED or isinstance(b, Boxes) for b in boxes):
            return MALFORMED
        return boxes[0] if len(boxes) == 1 else Boxes(boxes)
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


def region_right(overlap: float | None, rule: str = "ge") -> bool:
    """Whether an IoU passes the threshold under ``rule`` (``ge`` or ``gt``)."""
    if overlap is None:
        return False
    return overlap > IOU_THRESHOLD if rule == "gt" else overlap >= IOU_THRESHOLD


def iou(a: Box | Boxes | list, b: Box | list) -> float:
    """Intersection over union of two boxes (0 when they do not overlap); for several
    predicted boxes, the best of theirs."""
    if isinstance(a, Boxes):
        return max(iou(box, b) for box in a)
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union
