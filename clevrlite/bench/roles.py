"""Attribute roles, tasks and cells of a MATE-style benchmark (DESIGN 5).

Image-side attributes are what the picture shows best (colour, shape); text-side ones are what
only the text states exactly (name, coordinates, rotation, numeric size). Material is shared
and is never a pointer or target. Linking attributes follow MATE's rule: the attributes both
modalities show in an instance (colour, shape, material, size as small/large), minus the target
and minus what the instance's text withholds (img2data: the pointer; data2img: the target), so
a pointer counts whenever both modalities show it. Coordinates link only when nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from clevrlite.scene import ANNOTATION_KEYS
from clevrlite.vocab import Vocabulary

IMAGE_SIDE = ("color", "shape")
TEXT_SIDE = ("name", "3d_coords", "rotation", "size")
# Seen in the image and stated in the text: candidates for linking.
BOTH_MODALITIES = ("color", "shape", "material", "size")
CROSS_MODAL_TASKS = ("img2data", "data2img")
UNIMODAL_TASKS = ("img2img", "data2data")
TASKS = CROSS_MODAL_TASKS + UNIMODAL_TASKS
COORDS = ("contact", "centre")  # how texts show 3d_coords (shown_coords)
# Attributes whose values differ between objects by nature; revealing other objects' values
# of one of these would let a model answer by elimination.
DISTINCT_BY_NATURE = ("name", "3d_coords", "rotation")


@dataclass(frozen=True)
class Roles:
    """Which attributes sit on which side, for one vocabulary."""

    image: tuple[str, ...]
    text: tuple[str, ...]
    # (task, pointer, target) cells a suite leaves out: a reader of the question and text
    # alone would answer them (clevrlite audit).
    dropped: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def for_vocab(cls, vocab: Vocabulary) -> "Roles":
        """Default roles plus user attributes on the side they declare (text-side only)."""
        extra_text = tuple(n for n, a in vocab.attributes.items() if a.side == "text")
        return cls(image=IMAGE_SIDE, text=TEXT_SIDE + extra_text)

    def pairs(self, task: str) -> list[tuple[str, str]]:
        """(pointer, target) pairs of a task, in a fixed order."""
        pointer_side, target_side = {
            "img2data": (self.image, self.text), "data2img": (self.text, self.image),
            "img2img": (self.image, self.image), "data2data": (self.text, self.text)}[task]
        return [(p, t) for p in pointer_side for t in target_side
                if p != t and (task, p, t) not in self.dropped]

    def text_attributes(self) -> tuple[str, ...]:
        """Every attribute the text can state, in the order the text shows them."""
        return ("name", "color", "shape", "material", "size", "3d_coords", "rotation") + \
            self.text[len(TEXT_SIDE):]

    def shown_in_text(self, task: str, pointer: str, target: str) -> tuple[str, ...] | None:
        """What the text shows: img2data hides the pointer, data2img the target; None: no text."""
        if task == "img2img":
            return None
        hidden = withheld(task, pointer, target)
        return tuple(a for a in self.text_attributes() if a != hidden)


def categorical_values(vocab: Vocabulary, attribute: str) -> list[Any]:
    """The values a categorical attribute can take, in vocabulary order (sizes as their
    scales, as the benchmark states them); empty for names, numbers and coordinates."""
    sections = {"color": vocab.colors, "shape": vocab.shapes, "material": vocab.materials}
    if attribute in sections:
        return list(sections[attribute])
    if attribute == "size":
        return list(vocab.sizes.values())
    extra = vocab.attributes.get(attribute)
    return list(extra.values) if extra is not None and extra.values is not None else []


def value_count(vocab: Vocabulary, attribute: str) -> int:
    """How many values a categorical attribute can take (0 for names, numbers, coordinates)."""
    return len(categorical_values(vocab, attribute))


def withheld(task: str, pointer: str, target: str) -> str | None:
    """The attribute a task's text leaves out: img2data the pointer, data2img the target."""
    return {"img2data": pointer, "data2img": target}.get(task)


def linking_attributes(task: str, pointer: str, target: str) -> tuple[str, ...]:
    """Attributes both modalities show in this instance, minus the target (MATE's rule)."""
    dropped = (target, withheld(task, pointer, target))
    return tuple(a for a in BOTH_MODALITIES if a not in dropped)


def shown_coords(coords: Sequence[float], convention: str) -> list[float]:
    """``3d_coords`` as a benchmark's texts show them (``--coords``): the point where the object
    rests on the floor, [x, y, 0] (contact), or its centre as CLEVR stores it (centre, MATE's
    text: a cube's centre rests lower than a sphere's, so its z tells cubes apart)."""
    if convention == "contact":
        return [float(coords[0]), float(coords[1]), 0.0]
    return list(coords)


def bench_view(obj: Mapping[str, Any], coords: str) -> dict[str, Any]:
    """An object as the benchmark sees it: scene-JSON keys, with ``size`` as its numeric scale
    and ``3d_coords`` as the ``coords`` convention shows them."""
    view = {k: v for k, v in obj.items() if k != "scale" and k not in ANNOTATION_KEYS}
    view["size"] = obj["scale"]
    view["3d_coords"] = shown_coords(obj["3d_coords"], coords)
    return view
