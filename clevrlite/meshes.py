"""Unit-size triangle meshes for the vocabulary's shapes, as plain numpy arrays (no GL).

Every mesh is built at scale 1 with its centre at the origin, so an object's node pose is just
translate(position) @ yaw(rotation) @ scale(scale). The floor footprint of every mesh lies inside
the unit circle and its lowest point is at z = -rest_height, so an object whose centre is at
z = rest_height * scale rests on the floor (DESIGN 4.2).

Normals are analytic. Cube edges and cylinder rims are small explicit rounded bevels (as in
CLEVR's SmoothCube and SmoothCylinder) so faces and caps stay exactly flat and edges catch
highlights; where a surface has a real crease (cone base) vertices are split, so no normals
are ever averaged across an edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from clevrlite.errors import UsageError
from clevrlite.vocab import Shape

SEGMENTS = 40  # around the z axis: silhouettes within a pixel of round up to ~150 px radius
RINGS = 20  # pole to pole for the sphere
TORUS_TUBE = 0.3  # tube radius of the unit torus; ring radius is 1 - TORUS_TUBE
CUBE_BEVEL = 0.07  # radius of the cube's rounded edges (half-edge 0.707), like CLEVR's SmoothCube
CYLINDER_BEVEL = 0.06  # radius of the cylinder's rounded rims (radius 1)
BEVEL_STEPS = 2  # arc segments per 45 degrees of a rounded edge


@dataclass(frozen=True)
class UnitMesh:
    """Triangles of a unit-size shape: float32 positions and normals, uint32 indices."""

    positions: np.ndarray  # (V, 3)
    normals: np.ndarray  # (V, 3)
    indices: np.ndarray  # (F, 3), counter-clockwise seen from outside
    rest_height: float  # centre height above the floor at scale 1

    @property
    def radius(self) -> float:
        """Largest distance of a vertex from the centre (bounding sphere at scale 1)."""
        return float(np.max(np.linalg.norm(self.positions, axis=1)))


def _finish(positions: list[np.ndarray], normals: list[np.ndarray],
            indices: list[np.ndarray], rest_height: float) -> UnitMesh:
    """Concatenate parts, offsetting each part's indices by the vertices before it."""
    offset, tris = 0, []
    for pos, idx in zip(positions, indices):
        tris.append(idx + offset)
        offset += len(pos)
    nrm = np.concatenate(normals)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    return UnitMesh(np.concatenate(positions).astype(np.float32), nrm.astype(np.float32),
                    np.concatenate(tris).astype(np.uint32), float(rest_height))


def _grid_indices(rows: int, cols: int) -> np.ndarray:
    """Two triangles per cell of a (rows+1) x (cols+1) vertex grid, row-major."""
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    a = (r * (cols + 1) + c).ravel()
    b, d = a + 1, a + cols + 1
    return np.concatenate([np.stack([a, b, d + 1], 1), np.stack([a, d + 1, d], 1)])


def _fan(z: float, radius: float, up: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat disc at height z facing +z (up) or -z: centre vertex plus a rim."""
    t = np.linspace(0.0, 2.0 * math.pi, SEGMENTS, endpoint=False)
    rim = np.column_stack([radius * np.cos(t), radius * np.sin(t), np.full_like(t, z)])
    pos = np.vstack([[0.0, 0.0, z], rim])
    nrm = np.tile([0.0, 0.0, 1.0 if up else -1.0], (len(pos), 1))
    i = np.arange(SEGMENTS)
    j = (i + 1) % SEGMENTS
    idx = np.stack([np.zeros_like(i), i + 1, j + 1], 1) if up else \
        np.stack([np.zeros_like(i), j + 1, i + 1], 1)
    return pos, nrm, idx


def _surface_of_revolution(profile: np.ndarray, profile_normals: np.ndarray,
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Revolve (radius, z) profile points, ordered bottom to top, about the z axis."""
    t = np.linspace(0.0, 2.0 * math.pi, SEGMENTS + 1)
    cos, sin = np.cos(t)[None, :], np.sin(t)[None, :]
    rad, z = profile[:, :1], profile[:, 1:]
    nr, nz = profile_normals[:, :1], profile_normals[:, 1:]
    pos = np.stack([rad * cos, rad * sin, np.broadcast_to(z, rad.shape[:1] + t.shape)], -1)
    nrm = np.stack([nr * cos, nr * sin, np.broadcast_to(nz, nr.shape[:1] + t.shape)], -1)
    return pos.reshape(-1, 3), nrm.reshape(-1, 3), _grid_indices(len(profile) - 1, SEGMENTS)


def _bevel_coords(h: float, r: float) -> np.ndarray:
    """Grid coordinates along one face axis: flat middle, BEVEL_STEPS arc steps near each edge.

    A face point at (h - r) + r * tan(t) projects onto the edge arc at angle t, so spacing the
    coordinates by tan gives evenly spaced arc samples.
    """
    if r <= 0:
        return np.array([-h, h])
    side = (h - r) + r * np.tan(np.linspace(0.0, math.pi / 4, BEVEL_STEPS + 1))
    return np.concatenate([-side[::-1], side])


def cube(bevel: float = CUBE_BEVEL) -> UnitMesh:
    """Cube with half-edge 1/sqrt(2) (footprint circle of radius 1) and rounded edges.

    Faces are exactly flat with the face normal; only the ``bevel``-radius strips along the
    edges curve, like CLEVR's SmoothCube. ``bevel=0`` gives a plain flat-shaded cube.
    """
    h = 1.0 / math.sqrt(2.0)
    r = min(max(bevel, 0.0), h)
    coords = _bevel_coords(h, r)
    cv, cu = np.meshgrid(coords, coords, indexing="ij")
    pos, nrm, idx = [], [], []
    for axis in range(3):
        for sign in (1.0, -1.0):
            n = np.eye(3)[axis] * sign
            u, v = np.eye(3)[(axis + 1) % 3] * sign, np.eye(3)[(axis + 2) % 3]
            p = n * h + cu.reshape(-1, 1) * u + cv.reshape(-1, 1) * v
            core = np.clip(p, -(h - r), h - r)
            out = p - core
            length = np.linalg.norm(out, axis=1, keepdims=True)
            normal = np.where(length > 1e-12, out / np.maximum(length, 1e-12), n)
            pos.append(core + r * normal if r > 0 else p)
            nrm.append(normal)
            idx.append(_grid_indices(len(coords) - 1, len(coords) - 1))
    return _finish(pos, nrm, idx, h)


def sphere() -> UnitMesh:
    """Smooth UV sphere of radius 1."""
    theta = np.linspace(math.pi, 0.0, RINGS + 1)  # bottom to top
    profile = np.column_stack([np.sin(theta), np.cos(theta)])
    pos, nrm, idx = _surface_of_revolution(profile, profile)
    return _finish([pos], [nrm], [idx], 1.0)


def cylinder(bevel: float = CYLINDER_BEVEL) -> UnitMesh:
    """Cylinder of radius 1 and height 2 with flat caps and rounded rims of radius ``bevel``.

    Caps are separate parts whose normals stay exactly vertical; ``bevel=0`` gives sharp rims.
    """
    r = min(max(bevel, 0.0), 1.0)
    t = np.linspace(0.0, math.pi / 2, 2 * BEVEL_STEPS + 1)
    arc = np.column_stack([np.sin(t), -np.cos(t)])  # bottom rim, normal from down to out
    if r > 0:
        low = np.column_stack([1.0 - r + r * arc[:, 0], -1.0 + r + r * arc[:, 1]])
        high = low[::-1] * [1.0, -1.0]
        profile = np.vstack([low, high])
        normals = np.vstack([arc, arc[::-1] * [1.0, -1.0]])
    else:
        profile = np.array([[1.0, -1.0], [1.0, 1.0]])
        normals = np.array([[1.0, 0.0], [1.0, 0.0]])
    side = _surface_of_revolution(profile, normals)
    top, bottom = _fan(1.0, 1.0 - r, True), _fan(-1.0, 1.0 - r, False)
    parts = [side, top, bottom]
    return _finish([p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts], 1.0)


def cone() -> UnitMesh:
    """Cone with base radius 1 and height 2, centred on half its height."""
    profile = np.array([[1.0, -1.0], [0.0, 1.0]])
    slope = np.array([2.0, 1.0]) / math.sqrt(5.0)  # outward normal of the side, (r, z)
    side = _surface_of_revolution(profile, np.array([slope, slope]))
    bottom = _fan(-1.0, 1.0, False)
    return _finish([side[0], bottom[0]], [side[1], bottom[1]], [side[2], bottom[2]], 1.0)


def torus() -> UnitMesh:
    """Torus lying on the floor whose outer radius is 1 (the footprint circle)."""
    ring = 1.0 - TORUS_TUBE
    phi = np.linspace(-math.pi / 2, 3 * math.pi / 2, RINGS + 1)  # tube angle, bottom first
    nrm2 = np.column_stack([np.cos(phi), np.sin(phi)])
    profile = np.column_stack([ring + TORUS_TUBE * nrm2[:, 0], TORUS_TUBE * nrm2[:, 1]])
    pos, nrm, idx = _surface_of_revolution(profile, nrm2)
    return _finish([pos], [nrm], [idx], TORUS_TUBE)


def from_file(path: str) -> UnitMesh:
    """Load a mesh file (z up), centre its bounding box and fit its footprint to radius 1."""
    import trimesh

    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as exc:  # trimesh raises many types for unreadable files
        raise UsageError(f"cannot load mesh {path!r}: {exc}") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise UsageError(f"mesh {path!r} has no triangles")
    lo, hi = mesh.bounds
    centre = (lo + hi) / 2.0
    radius = float(np.max(np.linalg.norm(mesh.vertices[:, :2] - centre[:2], axis=1)))
    if radius <= 0:
        raise UsageError(f"mesh {path!r} has no extent in x and y")
    mesh.apply_translation(-centre)
    mesh.apply_scale(1.0 / radius)
    mesh.fix_normals()  # consistent outward winding: every pass culls back faces
    shaded = mesh.smooth_shaded  # split vertices at creases, smooth elsewhere
    return UnitMesh(np.asarray(shaded.vertices, np.float32),
                    np.asarray(shaded.vertex_normals, np.float32),
                    np.asarray(shaded.faces, np.uint32),
                    float((hi[2] - lo[2]) / 2.0 / radius))


@dataclass(frozen=True)
class Proxy:
    """An analytic stand-in for a unit mesh, traced by the shader for reflections and contact
    darkening: ``kind`` (one of PROXY_KINDS), four size numbers whose meaning depends on it,
    and the bounding radius at scale 1."""

    kind: str
    size: tuple[float, float, float, float]
    radius: float


# Index of each kind in the shader, and what its size numbers mean there. Spheres are boxes
# rounded all the way: one formula serves boxes, spheres and cylinders (see shaders.py).
PROXY_KINDS = {
    "box": 0,  # (half x, half y, half z, edge rounding)
    "cylinder": 1,  # (radius, -, half height, rim rounding)
    "cone": 2,  # (base radius, half height, -, -)
    "torus": 3,  # (ring radius, tube radius, -, -)
}


@lru_cache(maxsize=None)
def proxy(shape: Shape) -> Proxy:
    """The analytic stand-in of a shape: exact for the primitives, the bounding box for meshes."""
    unit = unit_mesh(shape)
    h = 1.0 / math.sqrt(2.0)
    sizes = {"sphere": ("box", (1.0, 1.0, 1.0, 1.0)),
             "cube": ("box", (h, h, h, CUBE_BEVEL)),
             "cylinder": ("cylinder", (1.0, 0.0, 1.0, CYLINDER_BEVEL)),
             "cone": ("cone", (1.0, 1.0, 0.0, 0.0)),
             "torus": ("torus", (1.0 - TORUS_TUBE, TORUS_TUBE, 0.0, 0.0))}
    if shape.primitive in sizes:
        kind, size = sizes[shape.primitive]
    else:
        half = np.abs(unit.positions).max(axis=0)
        kind, size = "box", (float(half[0]), float(half[1]), float(half[2]), 0.0)
    return Proxy(kind, size, unit.radius)


_PRIMITIVES = {"cube": cube, "sphere": sphere, "cylinder": cylinder, "cone": cone,
               "torus": torus}


@lru_cache(maxsize=None)
def unit_mesh(shape: Shape) -> UnitMesh:
    """The unit mesh of a vocabulary shape (built once per process)."""
    if shape.primitive is not None:
        return _PRIMITIVES[shape.primitive]()
    if shape.mesh is None:
        raise UsageError(f"shape {shape.name!r} has neither a primitive nor a mesh file")
    return from_file(shape.mesh)


def rest_height(shape: Shape, scale: float) -> float:
    """Height of the object's centre above the floor so that its lowest point is at z = 0."""
    return unit_mesh(shape).rest_height * scale
