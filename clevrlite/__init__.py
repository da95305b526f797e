"""clevrlite: CLEVR-style 3D scenes without Blender, and MATE-style cross-modal benchmarks."""

__version__ = "0.1.0"
