"""The public Renderer: a clevrlite Scene in, final RGB image, exact instance mask and depth out.

One Renderer per process: it owns the process's only OpenGL context (two live pyrender
offscreen contexts break each other on EGL, DESIGN 7), so creating a second one while the
first is open raises. Create it inside each worker process and reuse it for every scene; close
it (or use ``with``) before creating another.

Each render makes two passes over the same persistent pyrender scene: the key light's shadow
map, then one colour pass that writes the shaded colour and, into a second attachment, each
pixel's ``mask_id`` (low byte in red, high byte in green); its depth buffer gives ``depth``. A
renderer made with ``normals=True`` adds a third attachment with each pixel's camera-space
normal (``normals``). The mask, depth, normals and colour therefore come from one
rasterization and align pixel for pixel.
Silhouettes are then antialiased along the mask's boundaries (clevrlite.render.antialias).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from types import TracebackType
from typing import Any

import numpy as np

from clevrlite.errors import ClevrliteError, UsageError
from clevrlite.render import backend as gl_backend
from clevrlite.render import look
from clevrlite.render.antialias import edge_labels, smooth_edges
from clevrlite.render.contact import darken_contacts
from clevrlite.scene import Scene
from clevrlite.vocab import Vocabulary

MAX_OBJECTS = 0xFFFF  # mask ids are 16-bit

_lock = threading.Lock()
_live: "Renderer | None" = None  # the open Renderer of this process, if any
_live_pid = 0  # the process that opened it: a forked child does not inherit its context
_inherited: list[Any] = []  # contexts a forked child got from its parent, kept unfinalised


@dataclass
class RenderResult:
    """What one render gives back; all arrays are (H, W) or (H, W, 3), row 0 at the top.
    ``depth`` is worked out from the depth buffer the first time it is read (most runs never
    read it)."""

    rgb: np.ndarray  # uint8, sRGB-encoded final image
    mask: np.ndarray  # uint16, object index + 1 (mask_id) of the object seen; 0 = floor
    raw_depth: np.ndarray = field(repr=False)  # float32 depth-buffer values in [0, 1]
    near: float = field(repr=False)
    far: float = field(repr=False)
    # uint8 (H, W, 3) camera-space unit normal n (x right, y down, z forward) of the surface
    # seen, as round((n + 1) / 2 * 255); 0 where nothing was drawn. None unless asked for.
    normals: np.ndarray | None = None

    @cached_property
    def depth(self) -> np.ndarray:
        """float32 camera-axis depth of the surface seen; 0 where nothing was drawn.

        The denominator far - raw (far - near) is written as far (1 - raw) + near raw, whose
        1 - raw is exact in float32 for raw >= 0.5: the plain form lost a relative 6e-6 of
        the depth at 10 m and 4.5e-5 at 100 m to cancellation, this one about 1.3e-7, which
        leaves the 24-bit depth buffer's own precision.
        """
        raw, near, far = self.raw_depth, np.float32(self.near), np.float32(self.far)
        with np.errstate(divide="ignore"):
            depth = near * far / (far * (np.float32(1.0) - raw) + near * raw)
        depth[raw >= 1.0] = 0.0
        return depth


class Renderer:
    """Renders Scenes of one vocabulary at a fixed size; one per process (see module doc).

    ``backend``: 'auto', 'egl' or 'osmesa' (see clevrlite.render.backend); ``normals``: also
    give each render's camera-space normals (RenderResult.normals). Raises GLUnavailableError,
    naming the packages to install, when no OpenGL context can be made.
    """

    def __init__(self, width: int, height: int, vocab: Vocabulary, backend: str = "auto",
                 normals: bool = False) -> None:
        global _live, _live_pid
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            raise UsageError(f"image size must be positive integers; got {width}x{height}")
        self.width, self.height, self.vocab = width, height, vocab
        self.normals = normals
        self._offscreen: Any = None
        platform = gl_backend.resolve(backend)
        with _lock:
            if _live is not None and _live_pid == os.getpid():
                raise ClevrliteError("a Renderer is already open in this process; close() it "
                                     "first (one OpenGL context per process)")
            self._offscreen = gl_backend.create_offscreen(platform, width, height)
            _live, _live_pid = self, os.getpid()
        self._pid = os.getpid()
        self.platform = platform
        self.last_timings: dict[str, float] = {}  # seconds of each pass of the last render
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        """Build the pass renderer and the persistent scene graph in the new context."""
        from clevrlite.render.passes import PassRenderer
        from clevrlite.render.stage import Stage

        self._stage = Stage(self.vocab, self.width, self.height, look.SHADOW_MAP_SIZE)
        self._gl = PassRenderer(self.width, self.height, look.SHADOW_MAP_SIZE,
                                self._stage.shader_defines(), normals=self.normals)
        self._offscreen._renderer.delete()
        self._offscreen._renderer = self._gl  # pyrender's own is replaced before first use
        self._gl.receivers_only = [self._stage.floor]
        self._gl.per_node = self._stage.node_uniforms

    def render(self, scene: Scene) -> RenderResult:
        """Render ``scene`` (not modified): final image, instance mask, depth (and normals)."""
        if self._offscreen is None:
            raise ClevrliteError("this Renderer is closed; create a new one")
        if (scene.camera.width, scene.camera.height) != (self.width, self.height):
            raise UsageError(f"scene {scene.index} is {scene.camera.width}x{scene.camera.height}"
                             f" but the renderer is {self.width}x{self.height}")
        if len(scene.objects) > MAX_OBJECTS:
            raise UsageError(f"scene {scene.index} has {len(scene.objects)} objects; at most "
                             f"{MAX_OBJECTS} fit in a 16-bit mask")
        start = time.perf_counter()
        self._offscreen._platform.make_current()
        node_ids = self._stage.update(scene)
        self._gl.shadow_view = self._stage.shadow_view(scene)
        self._gl.key_direction = self._stage.key_direction()
        self._gl.key_lamp = self._stage.key_lamp(scene.lights)
        frame = self._gl.color_pass(self._stage.scene, node_ids)
        middle = time.perf_counter()
        rgb = darken_contacts(frame.color, frame.ids, scene.camera, *self._stage.occluders)
        result = RenderResult(rgb=smooth_edges(rgb, edge_labels(frame.ids, frame.shadow)),
                              mask=frame.ids, raw_depth=frame.depth,
                              near=float(self._stage.camera.znear),
                              far=float(self._stage.camera.zfar), normals=frame.normals)
        self.last_timings = {"render": middle - start,
                             "finish": time.perf_counter() - middle}
        return result

    def gl_info(self) -> dict[str, Any]:
        """gl_info() for this renderer's context."""
        if self._offscreen is None:
            raise ClevrliteError("this Renderer is closed; create a new one")
        self._offscreen._platform.make_current()
        return gl_backend.describe_context(self.platform)

    def close(self) -> None:
        """Free the OpenGL context and everything in it; safe to call twice.

        In a forked child that inherited this object it only drops the reference: the
        context belongs to the parent process.
        """
        global _live
        offscreen, self._offscreen = self._offscreen, None
        if offscreen is None:
            return
        if getattr(self, "_pid", None) != os.getpid():
            _inherited.append(offscreen)  # never finalised here: its __del__ would call GL
            return
        try:
            offscreen.delete()
        finally:
            with _lock:
                if _live is self:
                    _live = None

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


@atexit.register
def _close_live_renderer() -> None:
    """Free the open Renderer's context before interpreter teardown unloads PyOpenGL."""
    live = _live
    if live is not None and _live_pid == os.getpid():
        live.close()


def gl_info(backend: str = "auto") -> dict[str, Any]:
    """Describe the OpenGL context this machine gives (for ``clevrlite doctor``).

    Keys: platform, vendor, renderer, version, egl_devices (list, or None when not queryable),
    egl_device_id, software (True on llvmpipe/softpipe/swrast). Uses the open Renderer's
    context if there is one; otherwise makes a small temporary context. Raises
    GLUnavailableError naming the packages to install when no context can be made.
    """
    platform = gl_backend.resolve(backend)
    live = _live if _live_pid == os.getpid() else None
    if live is not None:
        if live.platform != platform:
            raise ClevrliteError(f"the open Renderer uses {live.platform!r}, not {platform!r}")
        return live.gl_info()
    offscreen = gl_backend.create_offscreen(platform, 8, 8)
    try:
        offscreen._platform.make_current()
        return gl_backend.describe_context(platform)
    finally:
        offscreen.delete()
