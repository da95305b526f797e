"""Benchmark presets: named bundles of settings that reproduce another benchmark's setup.

``mate`` reproduces MATE's (Alonso et al., ACL 2025): cone as a fourth shape, each scene with
2 or 3 colours and 1 shape that occur exactly once (on different objects), JSON scene text,
2 same-scene examples, 5,500 instances per split over 3 to 10 objects, MATE's dev files
written. It keeps clevrlite's fixes of MATE's flaws: rounded numbers, sizes that match the
render, visibility checks, and prompts that list the allowed values for image-side answers.
A preset gives defaults: options a user sets explicitly win, and what follows from them
(``--unimodal-size`` defaults to ``--size``, with a preset too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clevrlite.bench.construct import SceneRule, mate_keys
from clevrlite.errors import UsageError


@dataclass(frozen=True)
class Preset:
    """A preset: vocabulary additions, a scene rule, and defaults for BenchmarkOptions."""

    name: str
    vocabulary: dict[str, Any] = field(default_factory=dict)
    rule: SceneRule | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    refuses: dict[str, str] = field(default_factory=dict)  # option -> why it cannot be set
    min_colors: int = 0  # what the scene rule needs of the vocabulary
    min_shapes: int = 0

    def check_vocabulary(self, colors: int, shapes: int) -> None:
        """A usage error when the vocabulary is too small for the preset's scene rule."""
        if colors < self.min_colors or shapes < self.min_shapes:
            raise UsageError(f"--preset {self.name} needs at least {self.min_colors} colours "
                             f"and {self.min_shapes} shapes for its scene rule; add some with "
                             f"--properties")


MATE_VOCABULARY = {"shapes": {"cone": {"primitive": "cone"}}}

PRESETS = {
    "mate": Preset(
        name="mate",
        vocabulary=MATE_VOCABULARY,
        rule=mate_keys,
        defaults={"size": 5500, "n_objects": (3, 10), "shots": 2,
                  "fmt": "json", "same_scene_shots": True, "mate_compat": True,
                  "coords": "centre"},
        refuses={"balance_linking": "MATE leaves linking difficulty unbalanced, and balancing "
                                    "it would break the preset's unique colours and shape"},
        min_colors=4, min_shapes=2,
    ),
}


def get_preset(name: str | None) -> Preset | None:
    """The preset called ``name`` (None for none); a usage error names the choices."""
    if name is None:
        return None
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    return PRESETS[name]
