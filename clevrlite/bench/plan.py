"""The balanced plan of a benchmark: which cell, and which difficulty, each instance gets.

A cell is (object count, task, pointer, target). Every cell of a split gets floor or ceil of
size / cells instances; which cells get the extra one is drawn from the seed. With linking
balance on, the smallest linking-set sizes (1, 2, ... and 0 for coordinates only) take turns
within each cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clevrlite.bench.roles import CROSS_MODAL_TASKS, UNIMODAL_TASKS, Roles, linking_attributes

COORDS_ONLY = 0  # linking goal: no attribute set links, only coordinates do


@dataclass(frozen=True)
class InstanceSpec:
    """What instance ``index`` must be; ``linking`` is a goal size, COORDS_ONLY, or None."""

    index: int
    split: str  # "cross_modal" or "unimodal"
    n_objects: int
    task: str
    pointer: str
    target: str
    linking: int | None = None

    @property
    def id(self) -> str:
        return f"{'cm' if self.split == 'cross_modal' else 'um'}_{self.index:06d}"

    @property
    def cell(self) -> str:
        return f"{self.n_objects}|{self.task}|{self.pointer}->{self.target}"


def cells(roles: Roles, tasks: tuple[str, ...], n_objects: tuple[int, int]) -> list[tuple]:
    """Every (object count, task, pointer, target) of a split, in a fixed order."""
    lo, hi = n_objects
    return [(n, task, p, t) for n in range(lo, hi + 1) for task in tasks
            for p, t in roles.pairs(task)]


def make_plan(roles: Roles, n_objects: tuple[int, int], size: int, unimodal_size: int,
              seed: int, balance_linking: bool = False, shots: int = 0) -> list[InstanceSpec]:
    """Instances of both splits: cross-modal first (indices 0..size-1), then unimodal."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9A1]))
    plan: list[InstanceSpec] = []
    for split, tasks, count in (("cross_modal", CROSS_MODAL_TASKS, size),
                                ("unimodal", UNIMODAL_TASKS, unimodal_size)):
        split_cells = cells(roles, tasks, n_objects)
        base, extra = divmod(count, len(split_cells))
        bonus = set(rng.permutation(len(split_cells))[:extra].tolist())
        specs = []
        for k, (n, task, pointer, target) in enumerate(split_cells):
            goals = _linking_goals(n, pointer, target, task, shots) if balance_linking \
                else [None]
            offset = int(rng.integers(len(goals)))
            for j in range(base + (k in bonus)):
                specs.append((n, task, pointer, target, goals[(j + offset) % len(goals)]))
        for j in rng.permutation(len(specs)).tolist():
            plan.append(InstanceSpec(len(plan), split, *specs[j]))
    return plan


def _linking_goals(n: int, pointer: str, target: str, task: str,
                   shots: int) -> list[int | None]:
    """Balanced linking sizes of a cell: 1..k over its k linking attributes, and coords-only.

    A smallest set of all k linking attributes needs k other objects, each equal to the target
    on a different k-1 of them, so sizes stop at n - 1. Coords-only needs a twin of the target,
    and examples may concern neither, so it is left out where fewer than ``shots`` other
    objects would remain (3 objects with 2 shots).
    """
    if task in ("img2img", "data2data"):
        return [None]
    top = min(len(linking_attributes(pointer, target)), n - 1)
    goals: list[int | None] = list(range(1, top + 1))
    return goals + [COORDS_ONLY] if n - 2 >= shots else goals
