"""The balanced plan of a benchmark: which cell, and which difficulty, each instance gets.

A cell is (object count, task, pointer, target). A split's instances are shared out level by
level, as MATE balances them: first over object counts, then over the split's tasks within each
count (img2img and data2data get equal shares, though img2img has far fewer pairs), then over
the (pointer, target) pairs within each task. Every share is the floor or ceil of an even
split, and which units get the extra one is drawn from the seed. When every task has the same
number of pairs (the cross-modal split) that makes every cell floor or ceil of size / cells.
With linking balance on, the smallest linking-set sizes (1, 2, ... and 0 for coordinates only)
take turns within each cross-modal cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from clevrlite.bench.roles import (CROSS_MODAL_TASKS, TASKS, UNIMODAL_TASKS, Roles,
                                   linking_attributes)

COORDS_ONLY = 0  # linking goal: no attribute set links, only coordinates do


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """What instance ``index`` must be; ``linking`` is a goal size, COORDS_ONLY, or None."""

    index: int
    split: str  # "cross_modal" or "unimodal"
    n_objects: int
    task: str
    pointer: str
    target: str
    linking: int | None = None
    condition: str | None = None  # grounding suites: grounded, absent, absent_lookalike
    prefix: str = ""  # of the id; default: MATE's cm_ and um_

    @property
    def id(self) -> str:
        prefix = self.prefix or ("cm" if self.split == "cross_modal" else "um")
        return f"{prefix}_{self.index:06d}"

    @property
    def cell(self) -> str:
        return f"{self.n_objects}|{self.task}|{self.pointer}->{self.target}"


def cells(roles: Roles, tasks: tuple[str, ...], n_objects: tuple[int, int]) -> list[tuple]:
    """Every (object count, task, pointer, target) of a split, in a fixed order."""
    lo, hi = n_objects
    return [(n, task, p, t) for n in range(lo, hi + 1) for task in tasks
            for p, t in roles.pairs(task)]


def share(total: int, parts: int, rng: np.random.Generator) -> list[int]:
    """``total`` split into ``parts`` floor-or-ceil shares; the seed picks the larger ones."""
    base, extra = divmod(total, parts)
    bonus = set(rng.permutation(parts)[:extra].tolist())
    return [base + (k in bonus) for k in range(parts)]


def make_plan(roles: Roles, n_objects: tuple[int, int], size: int, unimodal_size: int,
              seed: int, balance_linking: bool = False, shots: int = 0,
              splits: Sequence[tuple[str, str, tuple[str, ...], int]] | None = None,
              conditions: Callable[[str], list[str]] | None = None,
              balanced: Callable[[str], bool] | None = None) -> list[InstanceSpec]:
    """Instances of every split in order (cross-modal first, indices 0..size-1, then unimodal).

    ``shots`` is the number of same-scene examples each scene must offer (0 when examples
    come from other scenes); it bounds which linking goals a small scene can meet. A suite
    may give its own ``splits`` as (name, id prefix, tasks, count), ``conditions`` that the
    cells of a task take turns with, and which tasks linking balance applies to
    (``balanced``, default all).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9A1]))
    lo, hi = n_objects
    counts = list(range(lo, hi + 1))
    if splits is None:
        splits = (("cross_modal", "", CROSS_MODAL_TASKS, size),
                  ("unimodal", "", UNIMODAL_TASKS, unimodal_size))
    plan: list[InstanceSpec] = []
    for split, prefix, tasks, total in splits:
        specs = []
        # Conditions run on from one cell to the next within a task, so that every cell and
        # the whole split hold each condition's share to within one instance.
        running: dict[str, int] = {}
        for n, per_count in zip(counts, share(total, len(counts), rng)):
            for task, per_task in zip(tasks, share(per_count, len(tasks), rng)):
                pairs = roles.pairs(task) if task in TASKS else [("name", "entities")]
                turns = (conditions(task) if conditions is not None else None) or [None]
                for (pointer, target), per_cell in zip(pairs, share(per_task, len(pairs), rng)):
                    goals = (_linking_goals(n, pointer, target, task, shots)
                             if balance_linking and (balanced is None or balanced(task))
                             else [None])
                    offset = int(rng.integers(len(goals)))
                    drawn = int(rng.integers(len(turns)))  # every cell draws, as it always did
                    turn = running.get(task, drawn)
                    running[task] = turn + per_cell
                    for j in range(per_cell):
                        condition = turns[(j + turn) % len(turns)]
                        goal = goals[(j + offset) % len(goals)]
                        absent = condition in ("absent", "absent_lookalike")
                        specs.append((n, task, pointer, target, None if absent else goal,
                                      condition))
        for j in rng.permutation(len(specs)).tolist():
            plan.append(InstanceSpec(len(plan), split, *specs[j], prefix=prefix))
    return plan


def _linking_goals(n: int, pointer: str, target: str, task: str,
                   shots: int) -> list[int | None]:
    """Balanced linking sizes of a cross-modal cell: 1..k over its k linking attributes, and
    coords-only.

    A pointer that is itself a linking attribute (size in data2img) links alone, so its cells
    have size 1 only. Otherwise a smallest set of all k linking attributes needs k other
    objects, each equal to the target on a different k-1 of them, so sizes stop at n - 1.
    Coords-only needs a twin of the target, and same-scene examples may concern neither, so it
    is left out where fewer than ``shots`` other objects would remain (3 objects, 2 shots).
    """
    if task in UNIMODAL_TASKS:
        return [None]
    link = linking_attributes(task, pointer, target)
    if pointer in link:
        return [1]
    goals: list[int | None] = list(range(1, min(len(link), n - 1) + 1))
    return goals + [COORDS_ONLY] if n - 2 >= shots else goals
