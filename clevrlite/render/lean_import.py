"""Import pyrender without what offscreen rendering of clevrlite's meshes never uses.

``import pyrender`` took 1.3 s on our 2-core machine, most of it not rendering code:
- trimesh's package (0.8 s: scipy.spatial, networkx, ...), for pyrender's Mesh.from_trimesh;
  pyrender's nodes need only the small trimesh.transformations module;
- pyrender's interactive Viewer (0.25 s: pyglet and tkinter);
- networkx (0.12 s), whose only use in pyrender is its scene graph: a tree of nodes, each
  with one parent, where pyrender asks for a node's path to the root.
Every worker process pays the import, so it delays the first image and each run's start.

``defer()`` registers trimesh as a package whose submodules import as usual but whose own
``__init__`` runs on the first use of its API (``trimesh.load`` in meshes.from_file), a
``pyrender.viewer`` whose Viewer says how to get the real one, and imports pyrender's scene
module with ``_TreeGraphs`` as its ``nx`` (the real networkx stays importable for anyone
else). Call it before the first ``import pyrender``; it leaves modules that are already
imported alone.
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


class _ParentTree:
    """What pyrender's Scene uses of networkx.DiGraph: nodes with an edge to their parent."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def add_node(self, node: Any) -> None:
        self.parent.setdefault(node, None)

    def add_edge(self, child: Any, parent: Any) -> None:
        self.parent[child] = parent

    def neighbors(self, node: Any) -> list[Any]:
        parent = self.parent[node]
        return [] if parent is None else [parent]

    def remove_node(self, node: Any) -> None:
        del self.parent[node]


def _path(graph: _ParentTree, source: Any, target: Any) -> list[Any]:
    """networkx.shortest_path in a tree: ``source``, its parent, ... up to ``target``."""
    path = [source]
    while path[-1] != target:
        parent = graph.parent[path[-1]]
        if parent is None:
            raise KeyError(f"{target!r} is not above {source!r}")
        path.append(parent)
    return path


_TreeGraphs = types.ModuleType("networkx")
_TreeGraphs.DiGraph = _ParentTree  # type: ignore[attr-defined]
_TreeGraphs.shortest_path = _path  # type: ignore[attr-defined]


def defer() -> None:
    """Defer trimesh's package, pyrender's viewer and networkx (see the module doc)."""
    if "pyrender" in sys.modules:
        return
    if "trimesh" not in sys.modules:
        _deferred_package("trimesh")
    viewer = types.ModuleType("pyrender.viewer")
    viewer.Viewer = _NoViewer  # type: ignore[attr-defined]
    sys.modules["pyrender.viewer"] = viewer
    if "networkx" not in sys.modules and "pyrender.scene" not in sys.modules:
        sys.modules["networkx"] = _TreeGraphs
        try:
            importlib.import_module("pyrender.scene")
        finally:
            del sys.modules["networkx"]
