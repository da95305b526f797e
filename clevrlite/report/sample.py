"""A stratified sample of a benchmark for people to answer, the same for the same seed.

Seats are shared out by largest remainder, level by level: over tasks in proportion to their
instances, then within each task over object counts, then within each (task, object count)
over its cells, then within a cell over its conditions. Every level is then in proportion to
within one instance, and each stratum that the sample is large enough for is represented.
Remainders that tie are ordered by a hash of the seed and the stratum, and the instances of a
stratum by a hash of the seed and their ids, so the sample depends on nothing but the
benchmark, the size and the seed (no library's random stream).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Sequence

from clevrlite.errors import UsageError

Key = Callable[[dict[str, Any]], str]


def _hash(seed: int, *parts: Any) -> str:
    return hashlib.sha256("\0".join(map(str, (seed, *parts))).encode()).hexdigest()


def largest_remainder(sizes: dict[str, int], seats: int, seed: int,
                      level: str) -> dict[str, int]:
    """``seats`` shared over the strata in proportion to ``sizes`` (Hamilton's method); ties
    in the remainders are broken by a hash of the seed, the level and the stratum."""
    total = sum(sizes.values())
    if total == 0:
        return {key: 0 for key in sizes}
    shares = {key: seats * size // total for key, size in sizes.items()}
    left = seats - sum(shares.values())
    order = sorted(sizes, key=lambda k: (-(seats * sizes[k] % total), _hash(seed, level, k)))
    for key in order[:left]:
        shares[key] += 1
    return shares


def _stratify(instances: Sequence[dict[str, Any]], seats: int, keys: Sequence[Key], seed: int,
              path: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if not keys:
        ranked = sorted(instances, key=lambda inst: _hash(seed, "pick", inst["id"]))
        return list(ranked[:seats])
    groups: dict[str, list[dict[str, Any]]] = {}
    for inst in instances:
        groups.setdefault(keys[0](inst), []).append(inst)
    shares = largest_remainder({k: len(v) for k, v in groups.items()}, seats, seed,
                               "/".join(path))
    chosen = []
    for key in sorted(groups):
        chosen += _stratify(groups[key], shares[key], keys[1:], seed, (*path, key))
    return chosen


def stratified_sample(instances: Sequence[dict[str, Any]], size: int, seed: int,
                      cell: Key) -> list[dict[str, Any]]:
    """``size`` instances in proportion by task, object count, cell (``cell`` gives an
    instance's) and condition, in an order shuffled by ``seed``."""
    if size < 1:
        raise UsageError(f"--sample {size}: give a sample of at least 1 instance")
    if size > len(instances):
        raise UsageError(f"--sample {size} exceeds the {len(instances)} instances of the "
                         f"benchmark; give at most {len(instances)}")
    keys: list[Key] = [lambda i: str(i["task"]), lambda i: f"{int(i['object_count']):04d}",
                       cell, lambda i: str(i.get("condition") or "")]
    chosen = _stratify(instances, size, keys, seed)
    return sorted(chosen, key=lambda inst: _hash(seed, "order", inst["id"]))


__all__ = ["largest_remainder", "stratified_sample"]
