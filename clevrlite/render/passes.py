"""pyrender's Renderer, adjusted for clevrlite's three passes: shadow, colour and segmentation.

Changes from pyrender's defaults, each for speed on a software rasterizer or for exactness:
- shadow pass: an orthographic frustum fitted to the objects (set per scene in ``shadow_view``)
  instead of one spanning the whole (huge) floor, a smaller map sampled with hardware depth
  compares, and receivers-only meshes (the floor) left out of it, as they cast no shadow;
- colour pass: clevrlite's fragment shader (shaders.py), ``msaa`` samples (pyrender
  hard-codes 4), nodes drawn front to back so hidden fragments are never shaded, light
  uniforms set once per program rather than per primitive, and only colour read back;
- SEG pass: drawn into a single-sample framebuffer (exact ids, no resolve), colour and raw
  depth read back without pyrender's conversions.
These override private pyrender methods (checked against scikit-robot-pyrender 0.1.50).
This module imports pyrender, so import it only after backend.load_pyrender().
"""

from __future__ import annotations

from typing import Any

import numpy as np
from OpenGL import GL
from pyrender.constants import GLTF, RenderFlags
from pyrender.renderer import Renderer as PyrenderRenderer
from pyrender.sampler import Sampler
from pyrender.texture import Texture

from clevrlite.errors import ClevrliteError
from clevrlite.render.shaders import ClevrProgramCache

COLOR_FLAGS = RenderFlags.OFFSCREEN | RenderFlags.SHADOWS_DIRECTIONAL
SEG_FLAGS = RenderFlags.OFFSCREEN | RenderFlags.SEG


class ShadowTexture(Texture):
    """The key light's depth map, sampled with hardware depth compares (sampler2DShadow).

    Linear filtering with GL_TEXTURE_COMPARE_MODE gives a bilinearly weighted 2x2 shadow test
    per read, so four reads make a soft edge; edges clamp instead of wrapping around.
    """

    def __init__(self, size: int) -> None:
        sampler = Sampler(magFilter=GLTF.LINEAR, minFilter=GLTF.LINEAR,
                          wrapS=GLTF.CLAMP_TO_EDGE, wrapT=GLTF.CLAMP_TO_EDGE)
        super().__init__(width=size, height=size, source_channels="D",
                         data_format=GL.GL_FLOAT, sampler=sampler)

    def _add_to_context(self) -> None:
        super()._add_to_context()
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._texid)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_COMPARE_MODE,
                           GL.GL_COMPARE_REF_TO_TEXTURE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_COMPARE_FUNC, GL.GL_LEQUAL)


class PassRenderer(PyrenderRenderer):
    """A pyrender Renderer with fitted shadows, configurable MSAA and an exact SEG pass."""

    def __init__(self, width: int, height: int, msaa: int, shadow_size: int) -> None:
        super().__init__(width, height)
        self._program_cache = ClevrProgramCache()
        self.msaa = msaa
        self.shadow_size = shadow_size
        self.shadow_view: tuple[np.ndarray, np.ndarray] = (np.eye(4), np.eye(4))
        self.receivers_only: list[Any] = []
        self._lit_programs: set[int] = set()

    def color_pass(self, scene: Any) -> np.ndarray:
        """Shadow map plus shaded, antialiased colour: (H, W, 3) uint8, sRGB-encoded."""
        rgb, _ = self.render(scene, COLOR_FLAGS)
        return rgb

    def seg_pass(self, scene: Any, seg_node_map: dict[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Flat SEG colours of the mapped nodes without antialiasing, and the raw [0, 1]
        depth buffer of the same pass: (H, W, 3) uint8 and (H, W) float32."""
        return self.render(scene, SEG_FLAGS, seg_node_map)

    def render(self, scene: Any, flags: int, seg_node_map: Any = None) -> Any:
        self._lit_programs.clear()
        return super().render(scene, flags, seg_node_map)

    def _bind_lighting(self, scene: Any, program: Any, node: Any, flags: int) -> None:
        """Set light uniforms once per program per frame (pyrender repeats it per primitive;
        uniforms persist in the program and the shadow map stays on texture unit 0)."""
        if id(program) in self._lit_programs:
            self._get_next_active_texture()  # keep material textures off the shadow map's unit
            return
        super()._bind_lighting(scene, program, node, flags)
        self._lit_programs.add(id(program))

    def _sorted_mesh_nodes(self, scene: Any) -> list[Any]:
        """Visible nodes front to back, the floor last, so early depth tests skip hidden
        fragments (pyrender draws back to front, shading every covered pixel)."""
        eye = scene.get_pose(scene.main_camera_node)[:3, 3]
        floor = [n for n in scene.mesh_nodes if n.mesh in self.receivers_only]
        solid = [n for n in scene.mesh_nodes
                 if n.mesh.is_visible and n.mesh not in self.receivers_only]
        solid.sort(key=lambda n: float(np.linalg.norm(n.matrix[:3, 3] - eye)))
        return solid + floor

    def _get_light_cam_matrices(self, scene: Any, light_node: Any, flags: int,
                                ) -> tuple[np.ndarray, np.ndarray]:
        return self.shadow_view

    def _shadow_mapping_pass(self, scene: Any, light_node: Any, flags: int) -> None:
        casters = [n for n in scene.mesh_nodes
                   if n.mesh.is_visible and n.mesh not in self.receivers_only]
        if not casters:  # pyrender fails on an empty pass; an empty (cleared) map is all lit
            self._configure_shadow_mapping_viewport(light_node.light, flags)
            return
        hidden = [mesh for mesh in self.receivers_only if mesh.is_visible]
        for mesh in hidden:
            mesh.is_visible = False
        try:
            super()._shadow_mapping_pass(scene, light_node, flags)
        finally:
            for mesh in hidden:
                mesh.is_visible = True

    def _configure_shadow_mapping_viewport(self, light: Any, flags: int) -> None:
        super()._configure_shadow_mapping_viewport(light, flags)
        GL.glViewport(0, 0, self.shadow_size, self.shadow_size)

    def _configure_forward_pass_viewport(self, flags: int) -> None:
        self._configure_main_framebuffer()
        seg = bool(flags & RenderFlags.SEG) or self.msaa <= 1
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb if seg else self._main_fb_ms)
        GL.glViewport(0, 0, self.viewport_width, self.viewport_height)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthRange(0.0, 1.0)

    def _configure_main_framebuffer(self) -> None:
        size = (self.viewport_width, self.viewport_height)
        if self._main_fb is not None and self._main_fb_dims == size:
            return
        self._delete_main_framebuffer()
        self._main_fb, self._main_cb, self._main_db = _framebuffer(*size, samples=0)
        if self.msaa > 1:
            self._main_fb_ms, self._main_cb_ms, self._main_db_ms = _framebuffer(
                *size, samples=self.msaa)
        else:
            self._main_fb_ms, self._main_cb_ms, self._main_db_ms = (
                self._main_fb, self._main_cb, self._main_db)
        self._main_fb_dims = size

    def _delete_main_framebuffer(self) -> None:
        if self._main_fb_ms is not None and self._main_fb_ms != self._main_fb:
            GL.glDeleteFramebuffers(1, [self._main_fb_ms])
            GL.glDeleteRenderbuffers(2, [self._main_cb_ms, self._main_db_ms])
        if self._main_fb is not None:
            GL.glDeleteFramebuffers(1, [self._main_fb])
            GL.glDeleteRenderbuffers(2, [self._main_cb, self._main_db])
        self._main_fb = self._main_cb = self._main_db = None
        self._main_fb_ms = self._main_cb_ms = self._main_db_ms = None
        self._main_fb_dims = (None, None)

    def _read_main_framebuffer(self, scene: Any, flags: int,
                               ) -> tuple[np.ndarray, np.ndarray | None]:
        width, height = self._main_fb_dims
        seg = bool(flags & RenderFlags.SEG)
        if not seg and self._main_fb_ms != self._main_fb:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb_ms)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
            GL.glBlitFramebuffer(0, 0, width, height, 0, 0, width, height,
                                 GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
        color = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_RGBA,
                                              GL.GL_UNSIGNED_BYTE), np.uint8)
        color = color.reshape(height, width, 4)[::-1, :, :3]  # RGBA reads skip a conversion
        if not seg:
            return np.ascontiguousarray(color), None
        depth = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_DEPTH_COMPONENT,
                                              GL.GL_FLOAT), np.float32)
        return np.ascontiguousarray(color), np.ascontiguousarray(depth.reshape(height, width)[::-1])


def _framebuffer(width: int, height: int, samples: int) -> tuple[int, int, int]:
    """A framebuffer with RGBA8 colour and 24-bit depth renderbuffers (multisampled if asked)."""
    limit = int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))
    if max(width, height) > limit:
        raise ClevrliteError(f"a {width}x{height} image exceeds this GL driver's largest side "
                             f"of {limit} pixels; render smaller images")
    color, depth = GL.glGenRenderbuffers(2)
    for buf, fmt in ((color, GL.GL_RGBA8), (depth, GL.GL_DEPTH_COMPONENT24)):
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buf)
        if samples > 1:
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, fmt, width, height)
        else:
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, fmt, width, height)
    fb = GL.glGenFramebuffers(1)
    GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, fb)
    GL.glFramebufferRenderbuffer(GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                 GL.GL_RENDERBUFFER, color)
    GL.glFramebufferRenderbuffer(GL.GL_DRAW_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT,
                                 GL.GL_RENDERBUFFER, depth)
    status = GL.glCheckFramebufferStatus(GL.GL_DRAW_FRAMEBUFFER)
    if status != GL.GL_FRAMEBUFFER_COMPLETE:
        raise ClevrliteError(f"offscreen framebuffer incomplete (status {status:#x}, "
                           f"{samples} samples)")
    return int(fb), int(color), int(depth)
