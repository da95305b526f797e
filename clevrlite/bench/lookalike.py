"""Absent objects and their look-alikes: the probes of textual bias (DESIGN 8).

An absent object is listed in a scene's text but not drawn in its image. Its description (the
visible attributes colour, shape, material and size, as far as the text shows them) must
identify no image object. Half of the absent objects have a look-alike: exactly one image
object that differs from the description in exactly one shown attribute, every other image
object differing in two or more; an absent object without one differs from every image object
in two or more. A model that grounds a text-only entity onto a visible object that merely
resembles it shows textual bias.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from clevrlite.vocab import Vocabulary

VISIBLE = ("color", "shape", "material", "size")  # what an image shows of an object


def differences(a: dict[str, Any], b: dict[str, Any],
                attributes: Sequence[str] = VISIBLE) -> int:
    """In how many of ``attributes`` (default: the visible ones) two objects differ."""
    return sum(a[k] != b[k] for k in attributes)


def lookalikes(absent: dict[str, Any], drawn: Sequence[dict[str, Any]],
               attributes: Sequence[str] = VISIBLE) -> list[int]:
    """Positions in ``drawn`` of the objects that differ from ``absent`` in one attribute."""
    return [i for i, d in enumerate(drawn) if differences(absent, d, attributes) == 1]


def profile(dicts: Sequence[dict[str, Any]], index: int,
            attributes: Sequence[str] = VISIBLE) -> tuple[int, int]:
    """(identical, one away): how many other objects of ``dicts`` equal ``dicts[index]`` on
    every one of ``attributes``, and how many differ from it in exactly one. A text shows the
    same counts whether the object is drawn or not, so they must not tell the two apart."""
    counts = [differences(dicts[index], d, attributes) for j, d in enumerate(dicts)
              if j != index]
    return counts.count(0), counts.count(1)


def absent_holds(absent: dict[str, Any], drawn: Sequence[dict[str, Any]], lookalike: bool,
                 attributes: Sequence[str] = VISIBLE) -> bool:
    """Whether ``absent`` keeps the probe's rules against the image objects ``drawn``,
    comparing the visible ``attributes`` the text shows."""
    near = [differences(absent, d, attributes) for d in drawn]
    if 0 in near:
        return False
    return near.count(1) == (1 if lookalike else 0)


def _values(vocab: Vocabulary) -> dict[str, list[Any]]:
    return {"color": list(vocab.colors), "shape": list(vocab.shapes),
            "material": list(vocab.materials), "size": list(vocab.sizes)}


def make_absent(absent: dict[str, Any], drawn: Sequence[dict[str, Any]], lookalike: bool,
                vocab: Vocabulary, rng: np.random.Generator,
                attributes: Sequence[str] = VISIBLE, fixed: Sequence[str] = (),
                tries: int = 200, models: Sequence[dict[str, Any]] | None = None) -> bool:
    """Give ``absent`` (an attribute dict, edited in place) visible attributes that keep the
    rules over the shown ``attributes``, leaving ``fixed`` ones (a pointer) as they are: for
    a look-alike, the values of a random image object (of ``models``, default any) with one
    shown attribute different; random values otherwise. False when ``tries`` draws found
    none."""
    values = _values(vocab)
    free = [a for a in attributes if a not in fixed]
    models = drawn if models is None else models
    for _ in range(tries):
        candidate = dict(absent)
        if lookalike:
            if not models:
                return False
            model = models[int(rng.integers(len(models)))]
            candidate.update({a: model[a] for a in free})
            if differences(candidate, model, attributes) == 0:
                if not free:
                    continue
                changed = free[int(rng.integers(len(free)))]
                others = [v for v in values[changed] if v != model[changed]]
                if not others:
                    continue
                candidate[changed] = others[int(rng.integers(len(others)))]
        else:
            candidate.update({a: values[a][int(rng.integers(len(values[a])))] for a in free})
        if absent_holds(candidate, drawn, lookalike, attributes):
            absent.update(candidate)
            return True
    return False


def identifies_none(absent: dict[str, Any], drawn: Sequence[dict[str, Any]],
                    attributes: Sequence[str] = VISIBLE) -> bool:
    """Whether no image object matches ``absent`` on every shown attribute."""
    return all(differences(absent, d, attributes) for d in drawn)
