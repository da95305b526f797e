"""pyrender's Renderer, adjusted for clevrlite's two passes: the key light's shadow map, and one
colour pass that also writes every pixel's object id.

Changes from pyrender's defaults, each for speed on a software rasterizer or for exactness:
- shadow pass: an orthographic frustum fitted to the objects (set per scene in ``shadow_view``)
  instead of one spanning the whole (huge) floor, a map sampled with hardware depth compares,
  and receivers-only meshes (the floor) left out of it, as they cast no shadow;
- colour pass: clevrlite's fragment shader (shaders.py) writing two colour attachments, the
  shaded colour and the object id (``object_id``, set per node), so the mask comes from the
  same rasterization as the image and is exact by construction; no multisampling (edges are
  smoothed afterwards along mask boundaries, clevrlite.render.antialias); nodes drawn front
  to back so hidden fragments are never shaded; light uniforms set once per program rather
  than per primitive; colour, ids and raw depth read back without pyrender's conversions;
- on request (``normals``), a third attachment with each pixel's camera-space normal, from the
  same rasterization; without it the programs and framebuffer are exactly the two-output ones.
These override private pyrender methods (checked against scikit-robot-pyrender 0.1.50).
This module imports pyrender, so import it only after backend.load_pyrender().
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from OpenGL import GL
from pyrender.constants import GLTF, RenderFlags
from pyrender.renderer import Renderer as PyrenderRenderer
from pyrender.sampler import Sampler
from pyrender.texture import Texture

from clevrlite.errors import ClevrliteError
from clevrlite.render.shaders import ClevrProgramCache

COLOR_FLAGS = RenderFlags.OFFSCREEN | RenderFlags.SHADOWS_DIRECTIONAL


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
    """A pyrender Renderer with fitted shadows and one colour pass that also writes ids
    (and, with ``normals``, camera-space normals)."""

    def __init__(self, width: int, height: int, shadow_size: int,
                 defines: dict[str, Any] | None = None, normals: bool = False) -> None:
        super().__init__(width, height)
        self.normals = normals
        self._program_cache = ClevrProgramCache({**(defines or {}),
                                                 **({"NORMALS_OUT": 1} if normals else {})})
        self.shadow_size = shadow_size
        self.shadow_view: tuple[np.ndarray, np.ndarray] = (np.eye(4), np.eye(4))
        self.receivers_only: list[Any] = []
        self.node_ids: dict[Any, int] = {}  # mask id of each node; the floor is 0
        self.per_node: Callable[[Any, Any], None] | None = None  # more uniforms per node
        self._lit_programs: set[int] = set()
        self._id_buffer: int | None = None
        self._normal_buffer: int | None = None

    def color_pass(self, scene: Any, node_ids: dict[Any, int],
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Shadow map, then colour and ids: (H, W, 3) uint8 sRGB, (H, W) uint16 mask ids,
        (H, W) float32 raw [0, 1] depth, and with ``normals`` the (H, W, 3) uint8 camera-space
        normals as round((n + 1) / 2 * 255), 0 where nothing was drawn (else None)."""
        self.node_ids = node_ids
        self._lit_programs.clear()
        return self.render(scene, COLOR_FLAGS)

    def _bind_lighting(self, scene: Any, program: Any, node: Any, flags: int) -> None:
        """Set light uniforms once per program per frame (pyrender repeats it per primitive;
        uniforms persist in the program and the shadow map stays on texture unit 0), and the
        node's own uniforms every time."""
        mask_id = self.node_ids.get(node, 0)
        program.set_uniform("object_id", np.array([mask_id & 0xFF, mask_id >> 8], np.float32)
                            / 255.0)
        if self.per_node is not None:
            self.per_node(program, node)
        if id(program) in self._lit_programs:
            self._get_next_active_texture()  # keep material textures off the shadow map's unit
            return
        super()._bind_lighting(scene, program, node, flags)
        self._lit_programs.add(id(program))

    def _get_primitive_program(self, primitive: Any, flags: int, program_flags: int) -> Any:
        """pyrender's program choice, plus the traced-reflection variant for metals (a
        uniform branch would not help: llvmpipe runs both sides of every branch)."""
        material = primitive.material
        self._program_cache.mirror = bool(material is not None
                                          and getattr(material, "metallicFactor", 0.0) > 0.0)
        try:
            return super()._get_primitive_program(primitive, flags, program_flags)
        finally:
            self._program_cache.mirror = False

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
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
        if self.normals:
            GL.glDrawBuffers(3, [GL.GL_COLOR_ATTACHMENT0, GL.GL_COLOR_ATTACHMENT1,
                                 GL.GL_COLOR_ATTACHMENT2])
        else:
            GL.glDrawBuffers(2, [GL.GL_COLOR_ATTACHMENT0, GL.GL_COLOR_ATTACHMENT1])
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
        (self._main_fb, self._main_cb, self._id_buffer, self._main_db,
         self._normal_buffer) = _framebuffer(*size, normals=self.normals)
        self._main_fb_ms, self._main_cb_ms, self._main_db_ms = (
            self._main_fb, self._main_cb, self._main_db)
        self._main_fb_dims = size

    def _delete_main_framebuffer(self) -> None:
        if self._main_fb is not None:
            GL.glDeleteFramebuffers(1, [self._main_fb])
            buffers = [self._main_cb, self._id_buffer, self._main_db]
            if self._normal_buffer is not None:
                buffers.append(self._normal_buffer)
            GL.glDeleteRenderbuffers(len(buffers), buffers)
        self._main_fb = self._main_cb = self._main_db = self._id_buffer = None
        self._normal_buffer = None
        self._main_fb_ms = self._main_cb_ms = self._main_db_ms = None
        self._main_fb_dims = (None, None)

    def _read_main_framebuffer(self, scene: Any, flags: int,
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        width, height = self._main_fb_dims
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        color = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_RGB,
                                              GL.GL_UNSIGNED_BYTE), np.uint8)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT1)
        coded = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_RGBA,
                                              GL.GL_UNSIGNED_BYTE), "<u4")
        # Objects write their id (red low byte, green high byte) with alpha 0; what the clear
        # left (alpha 255) is background, id 0.
        ids = np.where(coded < 0x10000, coded, 0).astype(np.uint16)
        depth = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_DEPTH_COMPONENT,
                                              GL.GL_FLOAT), np.float32)
        normals = None
        if self.normals:
            GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT2)
            coded_normals = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_RGB,
                                                          GL.GL_UNSIGNED_BYTE), np.uint8)
            # The clear leaves the background colour there; nothing drawn reads as 0.
            normals = np.where((depth < 1.0)[:, None], coded_normals.reshape(-1, 3), 0)
            normals = np.ascontiguousarray(normals.astype(np.uint8).reshape(height, width,
                                                                            3)[::-1])
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        return (np.ascontiguousarray(color.reshape(height, width, 3)[::-1]),
                np.ascontiguousarray(ids.reshape(height, width)[::-1]),
                np.ascontiguousarray(depth.reshape(height, width)[::-1]), normals)


def _framebuffer(width: int, height: int, normals: bool = False,
                 ) -> tuple[int, int, int, int, int | None]:
    """A framebuffer with RGBA8 colour, RGBA8 id and 24-bit depth renderbuffers, and with
    ``normals`` an RGBA8 normal one (attachment 2); the last is None without it."""
    limit = int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))
    if max(width, height) > limit:
        raise ClevrliteError(f"a {width}x{height} image exceeds this GL driver's largest side "
                             f"of {limit} pixels; render smaller images")
    color, ids, depth = GL.glGenRenderbuffers(3)
    attachments = [(GL.GL_COLOR_ATTACHMENT0, color, GL.GL_RGBA8),
                   (GL.GL_COLOR_ATTACHMENT1, ids, GL.GL_RGBA8),
                   (GL.GL_DEPTH_ATTACHMENT, depth, GL.GL_DEPTH_COMPONENT24)]
    normal = None
    if normals:
        normal = int(GL.glGenRenderbuffers(1))
        attachments.append((GL.GL_COLOR_ATTACHMENT2, normal, GL.GL_RGBA8))
    for _, buf, fmt in attachments:
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buf)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, fmt, width, height)
    fb = GL.glGenFramebuffers(1)
    GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, fb)
    for attachment, buf, _ in attachments:
        GL.glFramebufferRenderbuffer(GL.GL_DRAW_FRAMEBUFFER, attachment, GL.GL_RENDERBUFFER, buf)
    status = GL.glCheckFramebufferStatus(GL.GL_DRAW_FRAMEBUFFER)
    if status != GL.GL_FRAMEBUFFER_COMPLETE:
        raise ClevrliteError(f"offscreen framebuffer incomplete (status {status:#x})")
    return int(fb), int(color), int(ids), int(depth), normal
