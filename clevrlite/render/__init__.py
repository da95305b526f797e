"""Rendering: the only package that imports OpenGL, pyrender or EGL.

Importing it loads no GL library and makes no context; that happens when a Renderer (or
gl_info) is created, after PYOPENGL_PLATFORM has been set for the chosen backend ('auto' and
'egl' use EGL, which also works on CPU through Mesa's llvmpipe; 'osmesa' is the fallback).
Use one Renderer per process and reuse it for every scene.
"""

from clevrlite.render.backend import BACKENDS
from clevrlite.meshes import rest_height
from clevrlite.render.look import DEFAULT_INTENSITIES
from clevrlite.render.renderer import Renderer, RenderResult, gl_info

__all__ = ["BACKENDS", "DEFAULT_INTENSITIES", "Renderer", "RenderResult", "gl_info",
           "rest_height"]
