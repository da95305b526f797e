"""What a benchmark suite is: everything that varies from one kind of benchmark to another.

A suite plans its splits and cells, constructs each instance's scene before placement, records
the instance's line, checks its guarantees again on the written files, answers as each of its
baselines, scores predictions, turns an answer into an RL reward and says what exports carry.
The builder (clevrlite.bench.build), the reader, the scorer, the baselines, the rewards and
the exporters call these methods; none of them compares a suite's name. A new suite is a
subclass in a module of its own and one line in clevrlite.bench.registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

import numpy as np

from clevrlite.bench.plan import InstanceSpec
from clevrlite.bench.roles import Roles
from clevrlite.bench.shots import ExampleScene
from clevrlite.precision import Precision
from clevrlite.scene import SceneObject
from clevrlite.vocab import Vocabulary

if TYPE_CHECKING:  # imported for annotations only: scoring imports the registry
    from clevrlite.bench.options import BenchmarkOptions
    from clevrlite.bench.reader import SceneCache
    from clevrlite.scoring.rewards import Reward


@dataclass(frozen=True)
class Split:
    """A split of a suite: its name, file, id prefix, tasks, and which size option sizes it."""

    name: str
    filename: str
    prefix: str
    tasks: tuple[str, ...]
    sized_by: str = "size"  # the BenchmarkOptions field: size or unimodal_size


@dataclass(frozen=True)
class BuildContext:
    """What constructing and recording an instance reads: the options, the vocabulary and the
    suite's roles for it."""

    options: "BenchmarkOptions"
    vocab: Vocabulary
    roles: Roles


@dataclass(frozen=True)
class ScoreSettings:
    """How a predictions file is scored: answer parsing, split name, box convention, image
    size, ids the benchmark does not know, and the benchmark's precision."""

    mode: str
    split: str
    box_format: str
    size: tuple[int, int]
    unknown: list[str]
    precision: Precision
    iou_rule: str = "ge"  # a region is right at IoU >= 0.5 (ge) or > 0.5 (gt)
    duplicates: str = "count"  # gmner: every prediction counts, or the first per entity


class Suite:
    """Base class of the suites; subclasses set the class attributes and implement the
    methods that raise NotImplementedError."""

    name: ClassVar[str]
    splits: ClassVar[tuple[Split, ...]]
    # Keys every instance line of the suite has (the reader refuses lines without them).
    required_keys: ClassVar[tuple[str, ...]]
    # Keys of an instance that judging an answer reads (exports carry them as ground truth).
    judged_keys: ClassVar[tuple[str, ...]]
    # Objects an example scene holds beyond those its image shows, and the most an instance's
    # scene does (extra_objects).
    example_extra: ClassVar[int] = 0
    max_extra_objects: ClassVar[int] = 0
    # The baselines the suite answers as (clevrlite.scoring.BASELINE_KINDS lists them all).
    baseline_kinds: ClassVar[tuple[str, ...]]
    # What the suite trains, in verl's ``ability`` column.
    ability: ClassVar[str]
    # Instance fields that hold a JSON object here where other suites hold a list (the chain
    # suite's choices: {attribute: values}); table exports store them as JSON text.
    json_fields: ClassVar[tuple[str, ...]] = ()
    # Whether its headline figure is a corpus F1 (else accuracy).
    corpus_f1: ClassVar[bool] = False
    # Whether it takes MATE's options (--mate-compat, --preset, --same-scene-shots).
    takes_mate_options: ClassVar[bool] = False
    # Whether its scenes turn the camera by a random angle (placement.turned), so that boxes
    # in questions cannot be linked to listed coordinates through CLEVR's default camera.
    turns_world: ClassVar[bool] = False

    # ------------------------------------------------------------------------ building

    def roles(self, vocab: Vocabulary) -> Roles:
        """Which attributes are image-side and which text-side, for ``vocab``."""
        return Roles.for_vocab(vocab)

    def plan(self, options: "BenchmarkOptions", roles: Roles) -> list[InstanceSpec]:
        """The instances of a build: the suite's splits, balanced level by level
        (clevrlite.bench.plan)."""
        from clevrlite.bench.plan import make_plan

        unimodal = options.size if options.unimodal_size is None else options.unimodal_size
        splits = [(s.name, s.prefix, s.tasks, self.split_size(s, options)) for s in self.splits]
        return make_plan(roles, options.n_objects, options.size, unimodal, options.seed,
                         options.balance_linking, options.examples_needed, splits=splits,
                         conditions=self.conditions, balanced=self.balances_linking)

    def conditions(self, task: str) -> list[str] | None:
        """Conditions that a task's cells take turns with (None: the suite has none)."""
        return None

    def balances_linking(self, task: str) -> bool:
        """Whether ``--balance-linking`` balances the linking-set sizes of a task's cells."""
        return True

    def split_size(self, split: Split, options: "BenchmarkOptions") -> int:
        """How many instances ``split`` gets under ``options``."""
        size = getattr(options, split.sized_by)
        return options.size if size is None else size

    def extra_objects(self, spec: InstanceSpec, seed: int) -> int:
        """Objects an instance's scene holds beyond those its image shows."""
        return 0

    def construct(self, spec: InstanceSpec, objects: list[SceneObject],
                  rng: np.random.Generator, ctx: BuildContext) -> Any:
        """Edit ``objects`` in place so ``spec`` holds by construction; returns what the
        record needs of the choice (the target, absent objects, mentions)."""
        raise NotImplementedError

    def construct_example(self, objects: list[SceneObject], rng: np.random.Generator,
                          ctx: BuildContext) -> Any:
        """Edit an example scene's ``objects`` in place; returns what its part file keeps."""
        raise NotImplementedError

    def example_scene(self, stem: str, data: dict[str, Any], kept: Any,
                      ctx: BuildContext) -> ExampleScene:
        """An example scene as worked examples are drawn from it."""
        raise NotImplementedError

    def record(self, ctx: BuildContext, spec: InstanceSpec, data: dict[str, Any], chosen: Any,
               has_image: bool, examples: Sequence[ExampleScene]) -> dict[str, Any]:
        """The instance's jsonl line, from its scene JSON ``data`` and the construction's
        ``chosen``; ``examples`` are the example scenes of its object count."""
        raise NotImplementedError

    def cell(self, record: dict[str, Any]) -> str:
        """The balance cell an instance line belongs to (stats.json counts them)."""
        return (f"{record['object_count']}|{record['task']}|"
                f"{record['pointer_attribute']}->{record['target_attribute']}")

    def check(self, options: "BenchmarkOptions",
              records: Iterable[dict[str, Any]]) -> list[str]:
        """Every broken guarantee of the written instances, checked on the files that the
        build ``options`` wrote."""
        return []

    # ------------------------------------------------------------------------ scoring

    def score(self, instances: list[dict], predictions: dict[str, str],
              settings: ScoreSettings, scenes: "SceneCache") -> Any:
        """The report of ``predictions`` on ``instances``; ``to_dict`` is ``score --json``."""
        raise NotImplementedError

    def baseline(self, kind: str, inst: dict[str, Any], rng: Any, context: Any) -> Any:
        """The answer baseline ``kind`` gives to ``inst`` (clevrlite.scoring.baselines)."""
        raise NotImplementedError

    def reward(self, completion: str, instance: dict[str, Any], **options: Any) -> "Reward":
        """The RL reward of ``completion`` (clevrlite.scoring.rewards)."""
        raise NotImplementedError

    def audit_units(self, instance: dict[str, Any], knowledge: Any) -> list[Any]:
        """What the validity audit judges of an instance (clevrlite.scoring.blind.Unit): none
        where the instance is meant to be answered from its text alone."""
        raise NotImplementedError

    def f1_counts(self, instance: dict[str, Any], output: str) -> dict[str, int] | None:
        """Matched, predicted and gold counts of one answer, for a corpus F1 (None when the
        suite has none)."""
        return None
