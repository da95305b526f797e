"""Which attribute values single out an object, and scene edits that make them do so.

The benchmark builder (DESIGN section 5) needs two facts about a scene: which values of an
attribute occur exactly once (a pointer must name one object) and which sets of attributes single
out the target object (its minimal linking sets, whose size measures difficulty). It also needs to
make those facts hold by construction rather than by luck, so this module can edit a copy of a
scene's object attribute dicts until they do.

Objects are mappings such as scene-JSON object dicts. Two values are equal when their
``value_key`` is: lists compare as tuples, and floats are rounded to the ``precision`` given
(clevrlite.precision; exact when it keeps every digit, the default).
Everything here is pure Python on small inputs: survivor sets are bitmasks on Python ints.
"""

from __future__ import annotations

import copy
from collections import Counter
from itertools import combinations
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from clevrlite.errors import ClevrliteError
from clevrlite.precision import EXACT, Precision

__all__ = [
    "ConstructionError",
    "constrain_linking",
    "make_unique",
    "minimal_linking_sets",
    "unique_values",
    "value_key",
]


class ConstructionError(ClevrliteError):
    """A scene could not be edited to satisfy a required property within its bounded tries."""


def value_key(value: Any, precision: Precision | int | None = EXACT) -> Hashable:
    """Return the hashable form under which ``value`` is compared with other values.

    Lists, tuples and numpy arrays become tuples (recursively), so ``[1, 2] == (1, 2)``. Every
    float, also inside lists, is rounded with ``round(x, digits)`` at ``precision`` (a
    Precision, or its digits; None or a full precision compare exactly). Strings and other scalars are returned unchanged (numpy scalars
    become Python ones). NaN equals nothing, as in Python.
    """
    return _key(value, Precision.parse(precision).digits)


def _key(value: Any, digits: int | None) -> Hashable:
    kind = type(value)
    if kind is str or kind is int:
        return value
    if kind is float:
        return value if digits is None else round(value, digits)
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple([_key(item, digits) for item in value])
    if isinstance(value, (float, np.floating)):
        return float(value) if digits is None else round(float(value), digits)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hashable(value: Any) -> Hashable:
    """The original value, with lists (and arrays) turned into tuples so it can be a dict key."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_hashable(item) for item in value)
    return value


def unique_values(
    objects: Sequence[Mapping[str, Any]], attribute: str, *, precision: Precision | int | None = EXACT
) -> dict[Hashable, int]:
    """Map every value of ``attribute`` that occurs exactly once among ``objects`` to its index.

    Values are compared by ``value_key(value, precision)``. The returned keys are the original
    values as the objects hold them (not rounded), with lists turned into tuples. Every object
    must have ``attribute``.
    """
    digits = Precision.parse(precision).digits
    keys = [_key(obj[attribute], digits) for obj in objects]
    counts = Counter(keys)
    return {
        _hashable(objects[i][attribute]): i for i, key in enumerate(keys) if counts[key] == 1
    }


def _check_index(index: int, count: int) -> None:
    if not 0 <= index < count:
        raise IndexError(f"object index {index} is out of range for {count} objects")


def _matches(value: Any, key: Hashable, digits: int | None, unit: float) -> bool:
    """Whether ``_key(value, digits) == key``, stopping at the first differing item.

    ``unit`` is ``10 ** -digits``: a float further than that from a rounded key cannot
    round to it, which spares most calls to the slow ``round``.
    """
    kind = type(value)
    if kind is float and digits is not None:
        if type(key) is float and abs(value - key) > unit:
            return False
        return round(value, digits) == key
    if (kind is list or kind is tuple) and type(key) is tuple:
        if len(value) != len(key):
            return False
        for item, part in zip(value, key):
            if not _matches(item, part, digits, unit):
                return False
        return True
    return _key(value, digits) == key


def _survivor_masks(
    objects: Sequence[Mapping[str, Any]], target: int, names: Sequence[str],
    digits: int | None,
) -> list[int]:
    """For each attribute, the bitmask of other objects whose value equals the target's."""
    masks = []
    bits = [1 << j for j in range(len(objects))]
    unit = 0.0 if digits is None else 10.0 ** -digits
    for name in names:
        wanted = objects[target][name]
        mask = 0
        if type(wanted) is str:  # the common case; only another str can equal it
            for bit, obj in zip(bits, objects):
                value = obj[name]
                if value is wanted or isinstance(value, str) and value == wanted:
                    mask |= bit
        else:
            wanted = _key(wanted, digits)
            for bit, obj in zip(bits, objects):
                if _matches(obj[name], wanted, digits, unit):
                    mask |= bit
        masks.append(mask & ~bits[target])
    return masks


def _minimal_sets(masks: Sequence[int], others: int) -> list[int]:
    """Inclusion-minimal attribute sets (bitmasks over positions in ``masks``) with no survivor.

    ``others`` is the bitmask of all objects but the target. A set singles out the target when
    the AND of its masks is 0. Sets are built level by level from those that do not yet single
    it out; a candidate is minimal when it singles the target out and every subset one smaller
    does not (those are exactly the previous level). The result is ordered by size, then
    lexicographically by attribute position.
    """
    if not others:
        return [0]
    # An attribute every other object shares never helps; if all of them together leave a
    # survivor, nothing links.
    useful = [(1 << i, mask) for i, mask in enumerate(masks) if mask != others]
    remaining = others
    for _, mask in useful:
        remaining &= mask
    if remaining:
        return []
    # Extending a set only with attributes above its highest one builds each set once, in
    # lexicographic order: above[b] lists the useful attributes at position b and up.
    above, first = [], 0
    for b in range(len(masks) + 1):
        while first < len(useful) and not useful[first][0] >> b:
            first += 1
        above.append(useful[first:])
    found: list[int] = []
    frontier = {0: others}  # the sets of the current size that single nothing out
    while frontier:
        following = {}
        for subset, survivors in frontier.items():
            for bit, mask in above[subset.bit_length()]:
                left = survivors & mask
                candidate = subset | bit
                if left:
                    following[candidate] = left
                    continue
                rest = subset
                while rest:
                    low = rest & -rest
                    if candidate ^ low not in frontier:
                        break
                    rest ^= low
                else:
                    found.append(candidate)
        frontier = following
    return found


def _names_of(subset: int, names: Sequence[str]) -> tuple[str, ...]:
    found = []
    while subset:
        low = subset & -subset
        found.append(names[low.bit_length() - 1])
        subset ^= low
    return tuple(found)


def minimal_linking_sets(
    objects: Sequence[Mapping[str, Any]], target: int, attributes: Sequence[str], *,
    precision: Precision | int | None = EXACT,
) -> list[tuple[str, ...]]:
    """Every inclusion-minimal subset of ``attributes`` whose values single out ``objects[target]``.

    A set singles the target out when no other object equals it (by ``value_key``) on all of the
    set's attributes. Each set is a tuple of names in sorted order; the list is sorted by size,
    then by names. With one object the empty set already singles it out, so the result is
    ``[()]``; when another object equals the target on every attribute (or there are no
    attributes and more than one object) the result is ``[]``.
    """
    _check_index(target, len(objects))
    names = sorted(set(attributes))
    others = ((1 << len(objects)) - 1) ^ (1 << target)
    masks = _survivor_masks(objects, target, names, Precision.parse(precision).digits)
    return [_names_of(subset, names) for subset in _minimal_sets(masks, others)]


def _copy_objects(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [copy.deepcopy(dict(obj)) for obj in objects]


def _pick(options: Sequence[Any], rng: np.random.Generator) -> Any:
    """One of ``options``, uniformly; the item itself, never a numpy conversion of it."""
    return options[int(rng.integers(len(options)))]


def make_unique(
    objects: Sequence[Mapping[str, Any]], index: int, attribute: str, choices: Sequence[Any],
    rng: np.random.Generator, *, precision: Precision | int | None = EXACT,
) -> list[dict[str, Any]]:
    """Return a copy of ``objects`` in which ``objects[index][attribute]`` occurs exactly once.

    Only the other objects that share the value are changed: each gets a value drawn uniformly
    from those ``choices`` that differ from it (so with two choices, e.g. large/small, they all
    get the other one). Derived keys (``scale`` for ``size``) are the caller's to update; edit
    attribute dicts before placement. Raises ConstructionError when a change is needed but no
    choice differs from the value.
    """
    _check_index(index, len(objects))
    out = _copy_objects(objects)
    value = out[index][attribute]
    digits = Precision.parse(precision).digits
    key = _key(value, digits)
    clashes = [
        j for j, obj in enumerate(out)
        if j != index and _key(obj[attribute], digits) == key
    ]
    if not clashes:
        return out
    alternatives = [choice for choice in choices if _key(choice, digits) != key]
    if not alternatives:
        raise ConstructionError(
            f"cannot make {attribute}={value!r} of object {index} unique: {len(clashes)} of "
            f"{len(objects)} objects share it and none of the {len(choices)} choices differs"
        )
    for j in clashes:
        out[j][attribute] = copy.deepcopy(_pick(alternatives, rng))
    return out


# An edit (object, attribute position, agree): agree copies the target's value onto the object,
# otherwise the object gets another choice. Either way its effect on survivor masks is known
# before any value is drawn, so candidate edits are scored on masks alone.
_Edit = tuple[int, int, bool]
# Bounds on the candidates one step of constrain_linking scores (attribute sets looked at).
_MAX_SETS = 16


def _smallest_size(masks: Sequence[int], others: int) -> int | None:
    sets = _minimal_sets(masks, others)
    return sets[0].bit_count() if sets else None


class _Linker:
    """Edits a working copy of a scene towards a given smallest linking-set size.

    Each object other than the target is seen as the set of attributes on which it differs from
    the target; a linking set must meet all of them. A step proposes edit groups that either
    break a too-small linking set (an object agrees with the target on all of it) or make an
    attribute set of the wanted size link (the objects it misses differ on one of it), scores
    each by how close the resulting smallest size is to the goal, then by its number of edits,
    and applies a best one (ties broken by ``rng``). The target and fixed attributes never change.
    """

    def __init__(
        self, objects: Sequence[Mapping[str, Any]], target: int, names: Sequence[str],
        choices: Mapping[str, Sequence[Any]], fixed: set[str], rng: np.random.Generator,
        digits: int | None,
    ) -> None:
        self.source, self.target, self.names = objects, target, names
        self.rng, self.digits = rng, digits
        self.positions = range(len(names))
        self.mutable = [name not in fixed for name in names]
        self.alternatives = []
        for name, mutable in zip(names, self.mutable):
            key = _key(objects[target][name], digits)
            options = choices[name] if mutable else ()
            self.alternatives.append(
                [choice for choice in options if _key(choice, digits) != key])
        self.others = [j for j in range(len(objects)) if j != target]
        self.all_others = sum(1 << j for j in self.others)
        self.restart()

    def restart(self) -> None:
        self.objects = _copy_objects(self.source)
        self.masks = _survivor_masks(self.objects, self.target, self.names, self.digits)

    def smallest(self) -> int | None:
        return _smallest_size(self.masks, self.all_others)

    def differs(self, j: int, a: int) -> bool:
        return not self.masks[a] >> j & 1

    def editable(self, a: int) -> bool:
        """Whether objects can be made to differ from the target on attribute position ``a``."""
        return self.mutable[a] and bool(self.alternatives[a])

    def outcome(self, edits: Sequence[_Edit]) -> int | None:
        masks = list(self.masks)
        for j, a, agree in edits:
            masks[a] = masks[a] | 1 << j if agree else masks[a] & ~(1 << j)
        return _smallest_size(masks, self.all_others)

    def apply(self, edits: Sequence[_Edit]) -> None:
        for j, a, agree in edits:
            name = self.names[a]
            if agree:
                self.objects[j][name] = copy.deepcopy(self.objects[self.target][name])
                self.masks[a] |= 1 << j
            else:
                self.objects[j][name] = copy.deepcopy(_pick(self.alternatives[a], self.rng))
                self.masks[a] &= ~(1 << j)

    def _sample(self, items: list, limit: int) -> list:
        if len(items) <= limit:
            return items
        picked = self.rng.choice(len(items), size=limit, replace=False)
        return [items[i] for i in sorted(picked)]

    def twins(self) -> list[list[_Edit]]:
        """Edit groups that make one other object equal the target on every attribute."""
        groups = []
        for j in self.others:
            diffs = [a for a in self.positions if self.differs(j, a)]
            if all(self.mutable[a] for a in diffs):
                groups.append([(j, a, True) for a in diffs])
        return groups

    def breakers(self, size: int) -> list[list[_Edit]]:
        """Edit groups that stop a smallest linking set, or a superset one short of ``size``,
        from linking. The edited object keeps a difference, so no twin appears."""
        smallest = self.smallest()
        sets = [s for s in _minimal_sets(self.masks, self.all_others)
                if s.bit_count() == smallest]
        groups = []
        for subset in self._sample(sets, _MAX_SETS):
            outside = [a for a in self.positions if not subset >> a & 1]
            grown = subset
            for a in self._sample(outside, size - 1 - smallest):
                grown |= 1 << a
            for broken in (subset,) if grown == subset else (subset, grown):
                rest = [a for a in self.positions if not broken >> a & 1]
                spare = [a for a in rest if self.editable(a)]
                for j in self.others:
                    flips = [a for a in self.positions if broken >> a & 1 and self.differs(j, a)]
                    if not all(self.mutable[a] for a in flips):
                        continue
                    group = [(j, a, True) for a in flips]
                    if not any(self.differs(j, a) for a in rest):
                        if not spare:
                            continue
                        group.append((j, _pick(spare, self.rng), False))
                    groups.append(group)
        return groups

    def covers(self, size: int) -> list[list[_Edit]]:
        """Edit groups that make an attribute set of ``size`` link: every object it misses
        differs from the target on one of its attributes."""
        groups = []
        subsets = self._sample(list(combinations(self.positions, size)), _MAX_SETS)
        for subset in subsets:
            editable = [a for a in subset if self.editable(a)]
            missed = [j for j in self.others if not any(self.differs(j, a) for a in subset)]
            if editable or not missed:
                groups.append([(j, _pick(editable, self.rng), False) for j in missed])
        return groups

    def step(self, size: int | None) -> bool:
        """Apply a best-scoring edit group towards ``size``; False when none is possible."""
        smallest = self.smallest()
        if size is None:
            groups = self.twins()
        elif smallest is not None and smallest < size:
            groups = self.breakers(size)
        else:
            groups = self.covers(size)
        if not groups:
            return False
        beyond = len(self.names) + 1  # "no linking set" ranks past every size

        def score(group: list[_Edit]) -> tuple[int, int]:
            reached = self.outcome(group)
            distance = abs((beyond if reached is None else reached)
                           - (beyond if size is None else size))
            return distance, len(group)

        scored = [(score(group), group) for group in groups]
        best = min(key for key, _ in scored)
        self.apply(_pick([group for key, group in scored if key == best], self.rng))
        return True


def constrain_linking(
    objects: Sequence[Mapping[str, Any]], target: int, attributes: Sequence[str],
    size: int | None, choices: Mapping[str, Sequence[Any]], rng: np.random.Generator, *,
    fixed: Sequence[str] = (), max_tries: int = 200, precision: Precision | int | None = EXACT,
) -> list[dict[str, Any]]:
    """Return a copy of ``objects`` whose smallest minimal linking set for ``target`` has ``size``.

    Linking sets are taken over ``attributes`` (see ``minimal_linking_sets``); ``size=None`` asks
    that none exists, so only coordinates can link. Only values of ``attributes`` not in
    ``fixed``, on objects other than the target, change: each to the target's own value or to
    another value from ``choices[attribute]``. The target object and all other keys (pointer,
    answer, coordinates) stay as they are. Each try applies the edit group that brings the
    smallest size closest to ``size`` with the fewest edits (for ``None``: the cheapest object
    made the target's twin); now and then it starts again from the input. Derived keys
    (``scale`` for ``size``) are the caller's to update. Deterministic for a given ``rng``
    state. Raises ConstructionError when the request is impossible or ``max_tries`` edit groups
    did not reach it.
    """
    _check_index(target, len(objects))
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"size must be a non-negative int or None, not {size!r}")
    names = sorted(set(attributes))
    missing = [name for name in names if name not in fixed and name not in choices]
    if missing:
        raise ValueError(f"no choices given for the editable attributes {missing}")
    count = len(objects)
    wanted = "no linking set" if size is None else f"a smallest linking set of size {size}"
    request = (f"object {target} of {count} {wanted} over attributes {names}"
               + (f" (fixed: {sorted(fixed)})" if fixed else ""))
    limit = min(len(names), count - 1)
    if (count == 1) != (size == 0):
        raise ConstructionError(
            f"cannot give {request}: the empty set (size 0) singles out a lone object, "
            f"and only a lone object")
    if size is not None and size > limit:
        raise ConstructionError(
            f"cannot give {request}: {len(names)} attributes and {count - 1} other "
            f"objects allow at most {limit}")

    linker = _Linker(objects, target, names, choices, set(fixed), rng,
                     Precision.parse(precision).digits)
    if linker.smallest() == size:
        return linker.objects
    if size is None and not linker.twins():
        raise ConstructionError(
            f"cannot give {request}: every other object differs from it on a fixed "
            f"attribute")
    restart_every = 2 * len(names) + 2
    seen = {linker.smallest()}
    for attempt in range(1, max_tries + 1):
        moved = linker.step(size)
        seen.add(linker.smallest())
        if linker.smallest() == size:
            return linker.objects
        if not moved or attempt % restart_every == 0:
            linker.restart()
    reached = sorted(seen - {None}) + ["none"] * (None in seen)
    raise ConstructionError(
        f"could not give {request} in {max_tries} tries "
        f"(smallest sizes reached: {reached})")
