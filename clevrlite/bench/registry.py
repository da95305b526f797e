"""The one registry of benchmark suites: a name, and where its Suite class lives.

clevrlite's own suites are the lines of ``SUITES``; another package adds one with an entry
point in the ``clevrlite.suites`` group (``name = package.module:SuiteClass``). Suites are
imported on first use. Every module that needs a suite's behaviour asks for the suite object
here: by name (a build's option, stats.json), by instance id prefix, or by an instance (its
``suite`` key when an export carries one, else its id).
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

from clevrlite.errors import UsageError

if TYPE_CHECKING:
    from clevrlite.bench.suite import Suite

SUITES = {
    "mate": "clevrlite.bench.mate:MateSuite",
    "grounding": "clevrlite.bench.grounding:GroundingSuite",
    "gmner": "clevrlite.bench.gmner:GmnerSuite",
    "chain": "clevrlite.bench.chain:ChainSuite",
}
DEFAULT = "mate"
ENTRY_POINTS = "clevrlite.suites"


@lru_cache(maxsize=1)
def _registered() -> dict[str, str]:
    """Every suite: clevrlite's own, then those other packages register (never replacing)."""
    from importlib.metadata import entry_points  # 50 ms: only when a suite is looked up

    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINTS)}
    return {**found, **SUITES}


def suite_names() -> tuple[str, ...]:
    """The registered suites' names: clevrlite's own first."""
    return tuple(dict.fromkeys([*SUITES, *_registered()]))


@lru_cache(maxsize=None)
def get_suite(name: str) -> "Suite":
    """The suite called ``name``; a usage error names the choices."""
    where = _registered().get(name)
    if where is None:
        raise UsageError(f"unknown suite {name!r}; use one of {', '.join(suite_names())}")
    module, _, cls = where.partition(":")
    return getattr(importlib.import_module(module), cls)()


def suite_of_id(instance_id: str) -> "Suite | None":
    """The suite an instance id belongs to, by its prefix (None when unknown)."""
    prefix = str(instance_id).split("_", 1)[0]
    return next((suite for suite in map(get_suite, suite_names())
                 if any(split.prefix == prefix for split in suite.splits)), None)


def suite_of_instance(instance: Mapping[str, Any]) -> "Suite":
    """The suite of an instance line or an exported ground truth."""
    if instance.get("suite"):
        return get_suite(instance["suite"])
    suite = suite_of_id(instance.get("id", ""))
    if suite is None:
        raise UsageError(f"cannot tell the suite of instance {instance.get('id')!r}: it has "
                         f"no \"suite\" key and its id prefix is not a clevrlite suite's")
    return suite
