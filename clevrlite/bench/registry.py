"""The one registry of benchmark suites: a name, and where its Suite class lives.

Suites are imported on first use, so listing their names (the CLI's choices) costs nothing.
Every module that needs a suite's behaviour asks for the suite object here: by name (a build's
option, stats.json), by instance id prefix, or by an instance (its ``suite`` key when an
export carries one, else its id).
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
}
DEFAULT = "mate"


def suite_names() -> tuple[str, ...]:
    """The registered suites' names, in registry order."""
    return tuple(SUITES)


@lru_cache(maxsize=None)
def get_suite(name: str) -> "Suite":
    """The suite called ``name``; a usage error names the choices."""
    if name not in SUITES:
        raise UsageError(f"unknown suite {name!r}; use one of {', '.join(SUITES)}")
    module, _, cls = SUITES[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def suite_of_id(instance_id: str) -> "Suite | None":
    """The suite an instance id belongs to, by its prefix (None when unknown)."""
    prefix = str(instance_id).split("_", 1)[0]
    return next((suite for suite in map(get_suite, SUITES)
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
