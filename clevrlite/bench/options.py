"""The options of a benchmark build, as the CLI and library callers give them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clevrlite.bench.mate_files import SHOTS_NEEDED
from clevrlite.bench.presets import get_preset
from clevrlite.precision import DEFAULT, Precision
from clevrlite.runs.executors import CONTROL_FIELDS, RunControls

# Options that choose where and how a build runs, not what it writes (left out of
# manifest.json).
NOT_DECIDING = ("out", *CONTROL_FIELDS)


@dataclass(frozen=True)
class BenchmarkOptions(RunControls):
    """Everything a benchmark build needs; the CLI maps its flags onto these."""

    out: Path = Path("benchmark")
    size: int = 5500
    unimodal_size: int | None = None  # None: the same as size
    seed: int = 117
    n_objects: tuple[int, int] = (3, 10)
    shots: int = 2
    same_scene_shots: bool = False  # MATE's leaky examples instead of other scenes'
    cot: bool = False
    fmt: str = "json"
    precision: Precision = DEFAULT  # any spelling Precision.parse takes: 2, "2", "full"
    balance_linking: bool = False
    width: int = 480
    height: int = 320
    min_pixels: int = 200
    prefix: str = "CLEVRLITE"
    mate_compat: bool = False
    preset: str | None = None
    coords: str = "contact"  # 3d_coords in texts: the floor contact point, or the centre
    audit: bool = True  # run the validity audit at the end and record it in stats.json
    suite: str = "mate"  # mate, grounding or gmner (DESIGN 8)

    def __post_init__(self) -> None:
        object.__setattr__(self, "precision", Precision.parse(self.precision))

    def deciding(self, vocabulary: dict[str, Any]) -> dict[str, Any]:
        """The options that decide the benchmark's bytes (manifest.json)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__
               if name not in NOT_DECIDING}
        out["n_objects"] = list(self.n_objects)
        out["precision"] = self.precision.label
        out["vocabulary"] = vocabulary
        return out

    @classmethod
    def from_preset(cls, preset: str | None, **given: Any) -> "BenchmarkOptions":
        """Options with a preset's defaults, overridden by the ``given`` ones."""
        found = get_preset(preset)
        defaults = dict(found.defaults) if found is not None else {}
        return cls(**{**defaults, **given, "preset": preset})

    @property
    def examples_needed(self) -> int:
        """Same-scene examples each scene must offer: MATE's files need two."""
        own = self.shots if self.same_scene_shots else 0
        return max(own, SHOTS_NEEDED if self.mate_compat else 0)

    @property
    def other_scene_shots(self) -> int:
        """Worked examples taken from example scenes (0 with same-scene examples)."""
        return 0 if self.same_scene_shots else self.shots
