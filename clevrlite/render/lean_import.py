"""Import pyrender without what offscreen rendering of clevrlite's meshes never uses.

``import pyrender`` took 1.3 s on our 2-core machine, most of it not rendering code:
- trimesh's package (0.8 s: scipy.spatial, networkx, ...), for pyrender's Mesh.from_trimesh;
  pyrender's nodes need only the small trimesh.transformations module;
- pyrender's interactive Viewer (0.25 s: pyglet and tkinter).
Every worker process pays the import, so it delays the first image and each run's start.

``defer()`` registers trimesh as a package whose submodules import as usual but whose own
``__init__`` runs on the first use of its API (``trimesh.load`` in meshes.from_file), and a
``pyrender.viewer`` whose Viewer says how to get the real one. Call it before the first
``import pyrender``; it leaves modules that are already imported alone.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def _deferred_package(name: str) -> None:
    """Put a stand-in for package ``name`` in sys.modules that loads the package on first
    attribute access (its submodules still import without loading it)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)

    def load_on_use(attribute: str) -> Any:
        del module.__dict__["__getattr__"]
        spec.loader.exec_module(module)  # the real __init__, into this same module object
        return getattr(module, attribute)

    module.__dict__["__getattr__"] = load_on_use
    sys.modules[name] = module


class _NoViewer:
    """Stands in for pyrender.Viewer in clevrlite's render processes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("pyrender's Viewer is not loaded in clevrlite render processes; "
                           "import pyrender in a separate process to use it")


def defer() -> None:
    """Defer trimesh's package and pyrender's viewer (see the module doc)."""
    if "pyrender" in sys.modules:
        return
    if "trimesh" not in sys.modules:
        _deferred_package("trimesh")
    viewer = types.ModuleType("pyrender.viewer")
    viewer.Viewer = _NoViewer  # type: ignore[attr-defined]
    sys.modules["pyrender.viewer"] = viewer
