"""clevrlite: CLEVR-style 3D scenes without Blender, and MATE-style cross-modal benchmarks.

Layers, each importing only the ones above it:

- the core: scene data, vocabulary, sampling and placement, meshes (pure numpy), the
  uniqueness solver, serializers, precision, atomic file writing (clevrlite.fsutil);
- clevrlite.render: everything that touches OpenGL, pyrender or EGL, and nothing else does;
- clevrlite.pipeline: one finished scene (sample, place, render, annotate). It is the only
  module outside clevrlite.render that imports it, so everything else runs and is tested
  without a GL context;
- clevrlite.runs (render runs, executors), clevrlite.bench (benchmark suites, each a Suite
  found through clevrlite.bench.registry, and the benchmark reader), clevrlite.scoring,
  clevrlite.export and clevrlite.predict;
- clevrlite.cli: a thin command layer over all of them.

tests/test_layers.py checks the GL rule on every module's imports.
"""

__version__ = "0.1.0"
