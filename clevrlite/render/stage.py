"""The persistent pyrender scene graph that mirrors one clevrlite Scene at a time.

Built once per Renderer: the floor, the camera, the key light and a pool of object nodes per
shape (each with its own material, since pyrender binds one material per primitive). For each
scene, ``update`` moves nodes, recolours their materials and hides unused pool nodes; meshes
and GPU buffers are created only when a shape is needed more often than ever before.
This module imports pyrender, so import it only after backend.load_pyrender().
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pyrender
from OpenGL import GL

from clevrlite.errors import UsageError
from clevrlite import meshes
from clevrlite.render import look
from clevrlite.render.passes import ShadowTexture
from clevrlite.render.shaders import NEIGHBOURS, cached_uniform_location
from clevrlite.scene import Camera, Light, Scene, SceneObject
from clevrlite.vocab import Vocabulary

KEY_LIGHT = "key"
PROXY_UNIFORMS = ("proxy_pose", "proxy_form", "proxy_size", "proxy_color", "proxy_light")
# Fills the proxy arrays past the scene's objects: a tiny box far below the floor.
UNUSED_PROXY = np.array([(0.0, 0.0, -1e4, 1e-3), (1.0, 0.0, 0.0, 1.0), (1.0, 1.0, 1.0, 0.0),
                         (0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0)], np.float32)


def camera_pose(camera: Camera) -> np.ndarray:
    """OpenGL camera-to-world pose (looks down -z, +y up) matching Camera.world_to_camera()."""
    right, down, forward = camera.axes()
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = right, -down, -forward
    pose[:3, 3] = camera.location
    return pose


def object_pose(obj: SceneObject) -> np.ndarray:
    """translate(position) @ yaw(rotation degrees about z) @ scale(scale)."""
    yaw = math.radians(obj.rotation)
    c, s = math.cos(yaw), math.sin(yaw)
    pose = np.eye(4)
    pose[:3, :3] = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) * obj.scale
    pose[:3, 3] = obj.position
    return pose


def _look_from(location: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pose whose -z axis points from ``location`` to ``target`` (for the key light)."""
    forward = target - location
    norm = np.linalg.norm(forward)
    forward = forward / norm if norm > 1e-9 else np.array([0.0, 0.0, -1.0])
    up = np.array([0.0, 0.0, 1.0]) if abs(forward[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = right, np.cross(right, forward), -forward
    pose[:3, 3] = location
    return pose


def shadow_view(key_pose: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray]:
    """View and orthographic projection of the key light's shadow map.

    Fitted to the casters' bounding spheres (``centres`` (N, 3), ``radii`` (N,)), so the
    map's texels are spent on the objects rather than the whole floor. The far plane reaches
    past the casters to the floor, where their shadows land.
    """
    if len(centres):
        lo, hi = (centres - radii[:, None]).min(0), (centres + radii[:, None]).max(0)
    else:
        lo, hi = -np.ones(3), np.ones(3)
    centre = (lo + hi) / 2.0
    radius = float(np.linalg.norm(hi - lo) / 2.0) + 0.05
    direction = -key_pose[:3, 2]
    pose = key_pose.copy()
    pose[:3, 3] = centre - direction * (radius + 1.0)
    drop = max(float(hi[2]), 0.0) / max(-float(direction[2]), 0.1)  # caster top to its shadow
    near, far = 0.5, 2.0 * radius + 1.5 + drop
    proj = np.diag([1.0 / radius, 1.0 / radius, 2.0 / (near - far), 1.0])
    proj[2, 3] = (far + near) / (near - far)
    return np.linalg.inv(pose), proj


def split_lights(lights: Sequence[Light]) -> tuple[Light | None, list[Light]]:
    """The key light (named 'key', else the first) and the point lights."""
    key = next((l for l in lights if l.name == KEY_LIGHT), lights[0] if lights else None)
    return key, [l for l in lights if l is not key]


def proxy_lighting(centre: np.ndarray, metallic: float, lights: Sequence[Light],
                   ) -> tuple[float, float, float, float]:
    """How a proxy looks in reflections, as b.xyz and a with brightness max(a + b . n, 0) times
    its colour at surface normal n: rubber lit by every light as seen from its centre (each
    light's clamped cosine to first order, 1/4 + n.l / 2, plus the shader's ambient), metal
    as the floor-to-sky gradient it mirrors. Precomputed per scene, so the shader's cost per
    reflected object is one dot product."""
    key, points = split_lights(lights)
    sources = []
    if key is not None:
        direction = np.asarray(key.location, float)
        soften = look.KEY_FALLOFF_SOFTEN ** 2
        falloff = ((float(direction @ direction) + soften)
                   / (float(np.sum(np.square(direction - centre))) + soften))
        sources.append((direction / max(np.linalg.norm(direction), 1e-9),
                        key.intensity * falloff))
    for light in points:
        offset = np.asarray(light.location, float) - centre
        d2 = float(offset @ offset)
        sources.append((offset / max(math.sqrt(d2), 1e-9),
                        light.intensity / (d2 + look.POINT_LIGHT_RADIUS ** 2)))
    ambient = float(np.mean(look.AMBIENT_RGB)) * look.OBJECT_AMBIENT
    a = 0.96 / math.pi * sum(0.25 * radiance for _, radiance in sources) + 0.8 * ambient
    b = 0.96 / math.pi * sum((0.5 * radiance * direction for direction, radiance in sources),
                             np.zeros(3))
    b[2] += 0.2 * ambient
    ground, horizon = float(np.mean(look.ENV_GROUND)), float(np.mean(look.ENV_HORIZON))
    a = (1.0 - metallic) * a + metallic * 0.5 * (ground + horizon)
    b = (1.0 - metallic) * b + metallic * np.array([0.0, 0.0, 0.5 * (horizon - ground)])
    return float(b[0]), float(b[1]), float(b[2]), float(a)


class _Slot:
    """One pooled object node: its mesh (with its own material) and node."""

    def __init__(self, scene: pyrender.Scene, unit: meshes.UnitMesh) -> None:
        self.material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0), metallicFactor=0.0, roughnessFactor=1.0)
        primitive = pyrender.Primitive(positions=unit.positions, normals=unit.normals,
                                       indices=unit.indices, material=self.material)
        self.mesh = pyrender.Mesh([primitive], is_visible=False)
        self.node = scene.add(self.mesh)


class _Scene(pyrender.Scene):
    """A pyrender Scene that binds its lights in a fixed order (by node name).

    pyrender loops over a set of light nodes, hashed by address, so the shader summed the
    point lights in a different order in each process and a few pixels differed by one level
    between runs (and worker counts).
    """

    @property
    def light_nodes(self) -> list:  # type: ignore[override]
        return sorted(super().light_nodes, key=lambda node: node.name or "")


class Stage:
    """The pyrender scene for a vocabulary; ``update`` loads a clevrlite Scene into it."""

    def __init__(self, vocab: Vocabulary, width: int, height: int, shadow_size: int) -> None:
        self.vocab = vocab
        self.scene = _Scene(bg_color=(*look.BACKGROUND_SRGB, 1.0),
                            ambient_light=look.AMBIENT_RGB)
        self._pools: dict[str, list[_Slot]] = {}
        self.camera = pyrender.PerspectiveCamera(yfov=1.0, znear=look.Z_NEAR,
                                                 aspectRatio=width / height)
        self.camera_node = self.scene.add(self.camera, pose=np.eye(4))
        self.floor = self._make_floor()
        self.floor_node = self.scene.add(self.floor)
        self.key = pyrender.DirectionalLight(color=np.ones(3),
                                             intensity=look.DEFAULT_INTENSITIES["key"])
        self.key.shadow_texture = ShadowTexture(shadow_size)
        self.key_node = self.scene.add(self.key, name="light_0_key", pose=np.eye(4))
        self._points: list[tuple[pyrender.PointLight, Any]] = []
        self._neighbours: dict[Any, np.ndarray] = {}
        self.occluders = (np.zeros((0, 3)), np.zeros(0))

    @staticmethod
    def _make_floor() -> pyrender.Mesh:
        """A unit square at z = 0 facing up; its node scales it to the needed size.

        It has no normals on purpose: that compiles the shader's cheap floor variant.
        """
        positions = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float32)
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(*look.FLOOR_RGB, 1.0), metallicFactor=0.0, roughnessFactor=1.0)
        primitive = pyrender.Primitive(positions=positions,
                                       indices=np.array([[0, 1, 2], [0, 2, 3]], np.uint32),
                                       material=material)
        return pyrender.Mesh([primitive])

    def update(self, scene: Scene) -> dict[Any, int]:
        """Load ``scene`` into the graph; return the mask id of every node (floor: 0)."""
        cam = scene.camera
        self.camera.yfov = cam.yfov()
        distance = float(np.linalg.norm(cam.location))
        half = max(look.FLOOR_MIN_HALF_SIZE, 10.0 * (distance + scene.floor_extent))
        self.camera.zfar = 4.0 * half
        self.scene.set_pose(self.camera_node, camera_pose(cam))
        self.scene.set_pose(self.floor_node, np.diag([half, half, 1.0, 1.0]))
        self._update_lights(scene.lights)
        seg: dict[Any, int] = {self.floor_node: 0}
        used: dict[str, int] = {}
        nodes: list[tuple[SceneObject, Any]] = []
        for index, obj in enumerate(scene.objects):
            if not obj.drawn:  # listed in the text only: no node, no mask id in the image
                continue
            slot = self._slot(obj.shape, used.get(obj.shape, 0), index)
            used[obj.shape] = used.get(obj.shape, 0) + 1
            self._dress(slot, obj, index)
            seg[slot.node] = index + 1
            nodes.append((obj, slot.node))
        for shape, pool in self._pools.items():
            for slot in pool[used.get(shape, 0):]:
                slot.mesh.is_visible = False
        self._load_proxies(nodes, scene.lights)
        self._load_occluders([obj for obj, _ in nodes])
        return seg

    def _load_occluders(self, drawn: list[SceneObject]) -> None:
        """Centres and radii of the spheres that darken the floor (render.contact)."""
        self.occluders = (
            np.array([o.position for o in drawn], float).reshape(-1, 3),
            np.array([look.CONTACT_REACH * meshes.proxy(self.vocab.shapes[o.shape]).radius
                      * o.scale for o in drawn], float))

    def _load_proxies(self, nodes: list[tuple[SceneObject, Any]], lights: Sequence[Light],
                      ) -> None:
        """Per metal node, the proxy arrays its shading reads: itself, then the NEIGHBOURS
        other objects that look largest from it (bounding radius over distance)."""
        proxies = np.zeros((len(nodes), len(PROXY_UNIFORMS), 4), np.float32)
        centres = np.zeros((len(nodes), 3))
        radii = np.zeros(len(nodes))
        for i, (obj, _) in enumerate(nodes):
            shape = meshes.proxy(self.vocab.shapes[obj.shape])
            yaw = math.radians(obj.rotation)
            metallic = self.vocab.materials[obj.material].metallic
            proxies[i] = ((*obj.position, obj.scale),
                          (math.cos(yaw), math.sin(yaw), meshes.PROXY_KINDS[shape.kind],
                           shape.radius),
                          shape.size,
                          (*self.vocab.rgb(obj.color), 0.0),
                          proxy_lighting(np.asarray(obj.position, float), metallic, lights))
            centres[i], radii[i] = obj.position, shape.radius * obj.scale
        self._neighbours = {}
        for i, (obj, node) in enumerate(nodes):
            if self.vocab.materials[obj.material].metallic <= 0.0:
                continue  # only metal programs trace proxies (passes.PassRenderer)
            distance = np.linalg.norm(centres - centres[i], axis=1)
            looks = np.divide(radii, distance, out=np.full(len(nodes), -1.0),
                              where=distance > 0)
            looks[i] = -1.0
            others = [j for j in np.argsort(-looks, kind="stable") if j != i][:NEIGHBOURS]
            arrays = np.tile(UNUSED_PROXY[:, None, :], (1, NEIGHBOURS + 1, 1))
            arrays[:, :len(others) + 1] = proxies[[i, *others]].transpose(1, 0, 2)
            self._neighbours[node] = arrays

    def shader_defines(self) -> dict[str, int]:
        """Shader switches for the proxy kinds this vocabulary's shapes need."""
        kinds = {meshes.proxy(shape).kind for shape in self.vocab.shapes.values()}
        return {define: 1 for kind, define in (("cone", "PROXY_CONES"), ("torus", "PROXY_TORI"))
                if kind in kinds}

    def node_uniforms(self, program: Any, node: Any) -> None:
        """The node's proxy arrays, for metal programs (pyrender's set_uniform sets only
        single values, so the arrays go straight to GL)."""
        if node not in self._neighbours:
            return
        location = cached_uniform_location(program._program_id, PROXY_UNIFORMS[0])
        if location == -1:  # not a metal program
            return
        for name, values in zip(PROXY_UNIFORMS, self._neighbours[node]):
            GL.glUniform4fv(cached_uniform_location(program._program_id, name),
                            NEIGHBOURS + 1, values)

    @staticmethod
    def key_lamp(lights: Sequence[Light]) -> np.ndarray:
        """The key light's position and squared distance to the origin (its falloff)."""
        key, _ = split_lights(lights)
        location = np.asarray(key.location if key is not None else (0.0, 0.0, 1.0), np.float32)
        return np.append(location, max(float(location @ location), 1e-6)).astype(np.float32)

    def key_direction(self) -> np.ndarray | None:
        """The direction the key light shines (unit), or None when it is off."""
        if self.key.intensity <= 0.0:
            return None
        return -self.scene.get_pose(self.key_node)[:3, 2]

    def shadow_view(self, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        """The key light's shadow matrices for ``scene`` (call after update)."""
        drawn = [o for o in scene.objects if o.drawn]
        centres = np.array([o.position for o in drawn], float).reshape(-1, 3)
        radii = np.array([meshes.unit_mesh(self.vocab.shapes[o.shape]).radius * o.scale
                          for o in drawn], float)
        return shadow_view(self.scene.get_pose(self.key_node), centres, radii)

    def _slot(self, shape_name: str, rank: int, index: int) -> _Slot:
        shape = self.vocab.shapes.get(shape_name)
        if shape is None:
            raise UsageError(f"object {index} has shape {shape_name!r}, which the vocabulary "
                             f"lacks; known: {', '.join(self.vocab.shapes)}")
        pool = self._pools.setdefault(shape_name, [])
        while len(pool) <= rank:
            pool.append(_Slot(self.scene, meshes.unit_mesh(shape)))
        return pool[rank]

    def _dress(self, slot: _Slot, obj: SceneObject, index: int) -> None:
        """Pose and material of one object."""
        if obj.color not in self.vocab.colors:
            raise UsageError(f"object {index} has colour {obj.color!r}, which the vocabulary "
                             f"lacks; known: {', '.join(self.vocab.colors)}")
        material = self.vocab.materials.get(obj.material)
        if material is None:
            raise UsageError(f"object {index} has material {obj.material!r}, which the "
                             f"vocabulary lacks; known: {', '.join(self.vocab.materials)}")
        slot.material.baseColorFactor = (*self.vocab.rgb(obj.color), 1.0)
        slot.material.metallicFactor = material.metallic
        slot.material.roughnessFactor = material.roughness
        slot.mesh.is_visible = True
        self.scene.set_pose(slot.node, object_pose(obj))

    def _update_lights(self, lights: Sequence[Light]) -> None:
        """The 'key' light (or the first) is the shadowed directional light; others are points."""
        key, points = split_lights(lights)
        if key is not None:
            self.key.intensity = float(key.intensity)
            self.scene.set_pose(self.key_node, _look_from(np.asarray(key.location, float),
                                                          np.zeros(3)))
        else:
            self.key.intensity = 0.0
        while len(self._points) < len(points):
            light = pyrender.PointLight(color=np.ones(3), intensity=0.0)
            name = f"light_{len(self._points) + 1:03d}"
            self._points.append((light, self.scene.add(light, name=name, pose=np.eye(4))))
        while len(self._points) > len(points):
            self.scene.remove_node(self._points.pop()[1])
        for (light, node), source in zip(self._points, points):
            light.intensity = float(source.intensity)
            pose = np.eye(4)
            pose[:3, 3] = source.location
            self.scene.set_pose(node, pose)

