"""Maximum one-to-one matching of predicted and gold items (not greedy).

GMNER counts a predicted triple as correct only through a one-to-one assignment to gold
triples; a greedy pass can undercount when one prediction could serve two gold items. This is
Kuhn's augmenting-path algorithm on the bipartite graph of allowed pairs, exact and fast on
the small graphs of one instance.
"""

from __future__ import annotations

from typing import Sequence


def max_matching(edges: Sequence[Sequence[int]], n_gold: int) -> list[tuple[int, int]]:
    """A maximum set of (pred, gold) pairs, each item used once; ``edges[p]`` lists the gold
    items prediction ``p`` may be paired with."""
    if all(len(e) <= 1 for e in edges):  # each prediction has one candidate: take them all
        claimed: dict[int, int] = {}
        for p, e in enumerate(edges):
            if e and e[0] not in claimed:
                claimed[e[0]] = p
        return sorted((p, g) for g, p in claimed.items())
    owner: list[int] = [-1] * n_gold

    def augment(p: int, seen: list[bool]) -> bool:
        for g in edges[p]:
            if not seen[g]:
                seen[g] = True
                if owner[g] < 0 or augment(owner[g], seen):
                    owner[g] = p
                    return True
        return False

    for p in range(len(edges)):
        if edges[p]:
            augment(p, [False] * n_gold)
    return sorted((p, g) for g, p in enumerate(owner) if p >= 0)
