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
  to back so hidden fragments are never shaded; colour, ids and raw depth read back without
  pyrender's conversions;
- both passes: a lean draw loop of their own (``_forward_pass``, ``_shadow_mapping_pass``)
  instead of pyrender's, which looks up each primitive's program, re-sets the camera and
  every light per primitive and checks each GL call for errors: here a program is chosen
  once per primitive and kind, the camera and lights are set once per program and frame, a
  node's pose is its matrix (every node hangs off the root), and the per-draw calls go to
  PyOpenGL's raw entry points. It draws what pyrender's loop would draw, with the same
  uniforms and state: the images are the same;
- on request (``normals``), a third attachment with each pixel's camera-space normal, from the
  same rasterization; without it the programs and framebuffer are exactly the two-output ones.
These override private pyrender methods (checked against scikit-robot-pyrender 0.1.50).
This module imports pyrender, so import it only after backend.load_pyrender().
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from OpenGL import GL
from OpenGL.raw.GL.VERSION import GL_1_1 as raw_gl11
from OpenGL.raw.GL.VERSION import GL_2_0 as raw_gl20
from OpenGL.raw.GL.VERSION import GL_3_0 as raw_gl30
from OpenGL.raw.GL.VERSION import GL_3_1 as raw_gl31
from pyrender.constants import GLTF, ProgramFlags, RenderFlags
from pyrender.renderer import Renderer as PyrenderRenderer
from pyrender.sampler import Sampler
from pyrender.texture import Texture

from clevrlite.errors import ClevrliteError
from clevrlite.render.shaders import ClevrProgramCache, set_uniform

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
        self._id_buffer: int | None = None
        self._normal_buffer: int | None = None
        self._programs: dict[tuple[int, int], Any] = {}  # (primitive, flags) -> program
        self.key_direction: np.ndarray | None = None  # where the key light shines, per scene
        self.key_lamp = np.array([0.0, 0.0, 1.0, 1.0], np.float32)  # position, its distance^2
        self._flatten: _FlattenProgram | None = None
        self._frame = _Frame(np.eye(4), np.eye(4), np.zeros(3, np.float32))

    def color_pass(self, scene: Any, node_ids: dict[Any, int]) -> "Readback":
        """Shadow map, then colour, ids (and normals): what the frame's buffers hold."""
        self.node_ids = node_ids
        return self.render(scene, COLOR_FLAGS)

    def _bind_lighting(self, scene: Any, program: Any, node: Any, flags: int) -> None:
        """The node's own uniforms, then pyrender's light uniforms (the forward pass calls this
        once per program and frame: uniforms persist in a program, and the shadow map stays
        on texture unit 0)."""
        self._bind_node(program, node)
        super()._bind_lighting(scene, program, node, flags)

    def _get_primitive_program(self, primitive: Any, flags: int, program_flags: int) -> Any:
        """pyrender's program choice, plus the traced-reflection variant for metals (a
        uniform branch would not help: llvmpipe runs both sides of every branch);
        remembered per primitive, material kind and pass."""
        material = primitive.material
        mirror = bool(material is not None and getattr(material, "metallicFactor", 0.0) > 0.0)
        key = (id(primitive), program_flags | (mirror << 30))
        program = self._programs.get(key)
        if program is None:
            self._program_cache.mirror = mirror
            try:
                program = super()._get_primitive_program(primitive, flags, program_flags)
            finally:
                self._program_cache.mirror = False
            self._programs[key] = program
        return program

    def _forward_pass(self, scene: Any, flags: int, seg_node_map: Any = None,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The colour pass (module docstring): the objects front to back, their key shadows
        on the floor into the stencil, then the floor where lit and where shadowed; returns
        what ``_read_main_framebuffer`` reads."""
        self._configure_forward_pass_viewport(flags)
        GL.glClearColor(*scene.bg_color)
        GL.glClearStencil(0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT | GL.GL_STENCIL_BUFFER_BIT)
        V, P = self._get_camera_matrices(scene)
        self._frame = _Frame(V, P, np.ascontiguousarray(
            scene.main_camera_node.matrix[:3, 3], np.float32))
        _solid_state()
        nodes = self._sorted_mesh_nodes(scene)
        floor = [n for n in nodes if n.mesh in self.receivers_only]
        solid = [n for n in nodes if n.mesh not in self.receivers_only]
        for node in solid:
            self._draw_node(scene, node, flags)
        if floor:
            self._floor_shadows(solid)
            GL.glEnable(GL.GL_STENCIL_TEST)
            GL.glStencilOp(GL.GL_KEEP, GL.GL_KEEP, GL.GL_KEEP)
            for shadowed in (0, 1):
                GL.glStencilFunc(GL.GL_EQUAL, shadowed, 0xFF)
                for node in floor:
                    self._draw_node(scene, node, flags, key_lit=float(1 - shadowed))
            GL.glDisable(GL.GL_STENCIL_TEST)
        GL.glUseProgram(0)
        GL.glFlush()
        return self._read_main_framebuffer(scene, flags)

    def _draw_node(self, scene: Any, node: Any, flags: int, key_lit: float = 1.0) -> None:
        """Draw one node's primitives with their programs; a program's camera and light
        uniforms are set the first time it is used in the frame."""
        frame = self._frame
        for primitive in node.mesh.primitives:
            program = self._get_primitive_program(primitive, flags, ProgramFlags.USE_MATERIAL)
            if program is not frame.current:
                program._bind()
                frame.current = program
            if id(program) not in frame.lit:
                frame.lit.add(id(program))
                set_uniform(program, "V", frame.V)
                set_uniform(program, "P", frame.P)
                set_uniform(program, "cam_pos", frame.eye)
                set_uniform(program, "key_lamp", self.key_lamp)
                self._reset_active_textures()
                self._bind_lighting(scene, program, node, flags)
            else:
                self._bind_node(program, node)
            material = primitive.material
            set_uniform(program, "M", node.matrix)
            set_uniform(program, "material.base_color_factor",
                        np.asarray(material.baseColorFactor, np.float32))
            set_uniform(program, "material.metallic_factor", float(material.metallicFactor))
            set_uniform(program, "material.roughness_factor", float(material.roughnessFactor))
            set_uniform(program, "key_lit", key_lit)
            _draw(primitive, cull=not material.doubleSided)

    def _floor_shadows(self, casters: list[Any]) -> None:
        """Mark in the stencil the floor pixels in the key light's shadow: every caster's
        mesh flattened onto the floor along the light (exact, with no shadow-map texels to
        step along the edge), where nothing nearer hides the floor. Back faces are culled:
        a convex caster's flattened faces of one winding cover its shadow once, which halves
        the triangles and the pixels drawn."""
        direction = self.key_direction
        if direction is None or direction[2] > -1e-3 or not casters:
            return
        if self._flatten is None:
            self._flatten = _FlattenProgram()
        program = self._flatten
        program.use(self._frame.P @ self._frame.V, direction)
        self._frame.current = None
        GL.glColorMask(GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE)
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_STENCIL_TEST)
        GL.glStencilFunc(GL.GL_ALWAYS, 1, 0xFF)
        GL.glStencilOp(GL.GL_KEEP, GL.GL_KEEP, GL.GL_REPLACE)
        for node in casters:
            for primitive in node.mesh.primitives:
                program.set_model(node.matrix)
                _draw(primitive, cull=True)
        GL.glDisable(GL.GL_STENCIL_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glColorMask(GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE)

    def _bind_node(self, program: Any, node: Any) -> None:
        """A node's own uniforms: its mask id and (for metal) its proxies."""
        mask_id = self.node_ids.get(node, 0)
        set_uniform(program, "object_id",
                    np.array([mask_id & 0xFF, mask_id >> 8], np.float32) / 255.0)
        if self.per_node is not None:
            self.per_node(program, node)

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
        self._configure_shadow_mapping_viewport(light_node.light, flags)
        _solid_state()
        V, P = self.shadow_view
        current = None
        for node in casters:
            for primitive in node.mesh.primitives:
                program = self._get_primitive_program(primitive, flags, ProgramFlags.NONE)
                if program is not current:
                    program._bind()
                    set_uniform(program, "V", V)
                    set_uniform(program, "P", P)
                    current = program
                set_uniform(program, "M", node.matrix)
                _draw(primitive, cull=True)
        GL.glUseProgram(0)

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
                               ) -> "Readback":
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
        shadow = np.frombuffer(GL.glReadPixels(0, 0, width, height, GL.GL_STENCIL_INDEX,
                                               GL.GL_UNSIGNED_BYTE), np.uint8)
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
        return Readback(np.ascontiguousarray(color.reshape(height, width, 3)[::-1]),
                        np.ascontiguousarray(ids.reshape(height, width)[::-1]),
                        np.ascontiguousarray(depth.reshape(height, width)[::-1]),
                        np.ascontiguousarray(shadow.reshape(height, width)[::-1]) > 0, normals)


@dataclass
class Readback:
    """What a colour pass leaves in its buffers; arrays (H, W) or (H, W, 3), row 0 on top."""

    color: np.ndarray  # uint8 sRGB
    ids: np.ndarray  # uint16 mask ids, 0 for the floor and background
    depth: np.ndarray  # float32 raw [0, 1] depth
    shadow: np.ndarray  # bool: floor in the key light's shadow (the stencil)
    normals: np.ndarray | None  # uint8 round((n + 1) / 2 * 255), 0 where nothing was drawn


class _Frame:
    """What a colour pass sets once: camera matrices and position, the bound program, and
    the programs whose camera and light uniforms are set."""

    def __init__(self, V: np.ndarray, P: np.ndarray, eye: np.ndarray) -> None:
        self.V, self.P, self.eye = V, P, eye
        self.current: Any = None
        self.lit: set[int] = set()


_FLATTEN_VERTEX = """#version 330 core
layout(location = 0) in vec3 position;
uniform mat4 M;
uniform mat4 VP;
uniform vec3 light;  // the direction the key light shines, light.z < 0
void main()
{
    vec4 world = M * vec4(position, 1.0);
    world.xyz -= light * (world.z / light.z);  // along the light onto the floor (z = 0)
    gl_Position = VP * world;
}
"""
_FLATTEN_FRAGMENT = """#version 330 core
void main()
{
}
"""


class _FlattenProgram:
    """The program that draws casters flattened onto the floor (stencil only)."""

    def __init__(self) -> None:
        from OpenGL.GL import shaders

        self.id = shaders.compileProgram(
            shaders.compileShader(_FLATTEN_VERTEX, GL.GL_VERTEX_SHADER),
            shaders.compileShader(_FLATTEN_FRAGMENT, GL.GL_FRAGMENT_SHADER), validate=False)
        self._m, self._vp, self._light = (GL.glGetUniformLocation(self.id, name)
                                         for name in ("M", "VP", "light"))

    def use(self, view_projection: np.ndarray, light: np.ndarray) -> None:
        GL.glUseProgram(self.id)
        GL.glUniformMatrix4fv(self._vp, 1, GL.GL_TRUE,
                              np.ascontiguousarray(view_projection, np.float32))
        GL.glUniform3fv(self._light, 1, np.ascontiguousarray(light, np.float32))

    def set_model(self, model: np.ndarray) -> None:
        raw_gl20.glUniformMatrix4fv(self._m, 1, GL.GL_TRUE,
                                    np.ascontiguousarray(model, np.float32))


def _solid_state() -> None:
    """The GL state pyrender sets for every opaque, filled primitive, once: no blending
    (pyrender's ONE, ZERO blend writes the source unchanged), filled polygons, no point
    size."""
    GL.glDisable(GL.GL_BLEND)
    GL.glPolygonMode(GL.GL_FRONT_AND_BACK, GL.GL_FILL)
    GL.glDisable(GL.GL_PROGRAM_POINT_SIZE)
    GL.glCullFace(GL.GL_BACK)


def _draw(primitive: Any, cull: bool) -> None:
    """Draw one indexed primitive (its instances), back faces culled unless double-sided."""
    (raw_gl11.glEnable if cull else raw_gl11.glDisable)(GL.GL_CULL_FACE)
    raw_gl30.glBindVertexArray(primitive._vertex_array_id)
    count = 1 if primitive.poses is None else len(primitive.poses)
    raw_gl31.glDrawElementsInstanced(primitive.mode, primitive.indices.size,
                                     GL.GL_UNSIGNED_INT, ctypes.c_void_p(0), count)
    raw_gl30.glBindVertexArray(0)


def _framebuffer(width: int, height: int, normals: bool = False,
                 ) -> tuple[int, int, int, int, int | None]:
    """A framebuffer with RGBA8 colour, RGBA8 id and 24-bit depth + 8-bit stencil
    renderbuffers, and with ``normals`` an RGBA8 normal one (attachment 2); the last is None
    without it."""
    limit = int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))
    if max(width, height) > limit:
        raise ClevrliteError(f"a {width}x{height} image exceeds this GL driver's largest side "
                             f"of {limit} pixels; render smaller images")
    color, ids, depth = GL.glGenRenderbuffers(3)
    attachments = [(GL.GL_COLOR_ATTACHMENT0, color, GL.GL_RGBA8),
                   (GL.GL_COLOR_ATTACHMENT1, ids, GL.GL_RGBA8),
                   (GL.GL_DEPTH_STENCIL_ATTACHMENT, depth, GL.GL_DEPTH24_STENCIL8)]
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
