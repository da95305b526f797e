"""Plain scene data: objects, camera, lights, and the scene JSON of DESIGN 4.3.

Conventions: world z is up and the floor is z = 0. ``world_to_camera`` and ``intrinsics`` use
the computer-vision convention (camera x right, y down, z forward), so a world point X projects
to pixels as ``K @ (R @ X + t)`` divided by its last component, with (0, 0) the top-left corner
of the top-left pixel; the depth in ``pixel_coords`` is that camera z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

Vec3 = tuple[float, float, float]

# Relationship threshold along a direction, as in CLEVR.
RELATION_EPS = 0.2
RELATIONS = ("left", "right", "front", "behind")


@dataclass
class SceneObject:
    """One object: its sampled attributes and, once rendered, its image annotations."""

    shape: str
    color: str
    material: str
    size: str
    scale: float
    position: Vec3  # the object's centre; its lowest point lies on the floor
    rotation: float  # yaw in degrees, [0, 360)
    attributes: dict[str, Any] = field(default_factory=dict)  # user vocabulary extras
    pixel_coords: Vec3 | None = None
    bbox: tuple[int, int, int, int] | None = None
    visible_pixels: int = 0
    drawn: bool = True  # False: listed in the scene's text but left out of the image


@dataclass
class Camera:
    """A pinhole camera looking at ``look_at`` with world z up."""

    location: Vec3
    look_at: Vec3
    hfov_deg: float
    width: int
    height: int

    def intrinsics(self) -> np.ndarray:
        """3x3 matrix K for pixel coordinates with the origin at the top-left corner."""
        fx = (self.width / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)
        return np.array([[fx, 0.0, self.width / 2.0],
                         [0.0, fx, self.height / 2.0],
                         [0.0, 0.0, 1.0]])

    def yfov(self) -> float:
        """Vertical field of view in radians (square pixels)."""
        return 2.0 * math.atan(math.tan(math.radians(self.hfov_deg) / 2.0)
                               * self.height / self.width)

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World-space unit vectors of the camera's right, down and forward axes."""
        eye, target = np.asarray(self.location, float), np.asarray(self.look_at, float)
        forward = target - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        return right, down, forward

    def world_to_camera(self) -> np.ndarray:
        """4x4 rigid transform from world to camera coordinates (x right, y down, z forward)."""
        right, down, forward = self.axes()
        rot = np.stack([right, down, forward])
        out = np.eye(4)
        out[:3, :3] = rot
        out[:3, 3] = -rot @ np.asarray(self.location, float)
        return out

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project world points (N, 3) to (N, 3) rows of pixel x, pixel y, camera depth."""
        pts = np.atleast_2d(np.asarray(points, float))
        w2c = self.world_to_camera()
        cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
        pix = cam @ self.intrinsics().T
        return np.column_stack([pix[:, 0] / pix[:, 2], pix[:, 1] / pix[:, 2], cam[:, 2]])

    def directions(self) -> dict[str, Vec3]:
        """CLEVR's six direction vectors from this camera, left/front/behind on the floor."""
        right, _, forward = self.axes()
        behind = np.array([forward[0], forward[1], 0.0])
        behind /= np.linalg.norm(behind)
        left = -np.array([right[0], right[1], 0.0])
        left /= np.linalg.norm(left)
        up = np.array([0.0, 0.0, 1.0])
        vecs = {"left": left, "right": -left, "front": -behind, "behind": behind,
                "above": up, "below": -up}
        return {k: tuple(float(c) for c in v) for k, v in vecs.items()}


@dataclass
class Light:
    """A light; ``location`` is its position (the key light shines from there to the origin)."""

    name: str
    location: Vec3
    intensity: float


@dataclass
class ObjectView:
    """What one view shows of one object: projected centre, box and visible pixels."""

    pixel_coords: Vec3
    bbox: tuple[int, int, int, int] | None
    visible_pixels: int


@dataclass
class View:
    """One camera on a scene (``render --views``) and what it shows of each object, in the
    scene's object order; view 0 is the scene's own camera. ``depth_scale`` (metres per unit
    of the depth PNG) is set when the depth pass is written, ``normals`` when normals are."""

    index: int
    camera: Camera
    objects: list[ObjectView]
    depth_scale: float | None = None
    normals: bool = False

    def files(self, stem: str) -> dict[str, Any]:
        """The view's file names (each in its own folder) and the depth scale, as JSON keys."""
        name = f"{view_stem(stem, self.index)}.png"
        out: dict[str, Any] = {"image_filename": name, "mask_filename": name}
        if self.depth_scale is not None:
            out.update(depth_filename=name, depth_scale=self.depth_scale)
        if self.normals:
            out["normals_filename"] = name
        return out

    def to_dict(self, stem: str) -> dict[str, Any]:
        """The view's entry in the scene JSON's ``views`` list."""
        return {"view": self.index, **self.files(stem), "camera": camera_to_dict(self.camera),
                "objects": [{"name": f"Object_{i}", "mask_id": i + 1,
                             "pixel_coords": list(o.pixel_coords),
                             "bbox": list(o.bbox) if o.bbox is not None else None,
                             "visible_pixels": o.visible_pixels}
                            for i, o in enumerate(self.objects)]}


@dataclass
class Scene:
    """A whole scene: what was sampled, and the annotations rendering adds to its objects.

    ``views`` is empty for a scene seen by its own camera only (the default); otherwise it
    holds every rendered view, view 0 first (the scene's camera, the objects' annotations),
    and the scene JSON gains view 0's extra files at the top level and, past one view, the
    ``views`` list.
    """

    index: int
    seed: int
    camera: Camera
    lights: list[Light]
    objects: list[SceneObject]
    split: str = "new"
    prefix: str = "CLEVRLITE"
    floor_extent: float = 3.0
    views: list[View] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """File stem shared by the image, mask, scene JSON and text files."""
        return scene_stem(self.prefix, self.split, self.index)

    @property
    def width(self) -> int:
        return self.camera.width

    @property
    def height(self) -> int:
        return self.camera.height

    def relationships(self) -> dict[str, list[list[int]]]:
        """For each relation and object i, the sorted j with (p_j - p_i) . dir > 0.2."""
        dirs = self.camera.directions()
        pos = np.array([o.position for o in self.objects], float).reshape(-1, 3)
        out: dict[str, list[list[int]]] = {}
        for rel in RELATIONS:
            proj = pos @ np.asarray(dirs[rel])
            out[rel] = [[j for j in range(len(pos)) if j != i and proj[j] - proj[i] > RELATION_EPS]
                        for i in range(len(pos))]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The scene JSON (DESIGN 4.3), CLEVR-compatible, with plain Python values."""
        cam = self.camera
        files = (self.views[0].files(self.stem) if self.views
                 else {"image_filename": f"{self.stem}.png", "mask_filename": f"{self.stem}.png"})
        out = {
            "split": self.split,
            "image_index": self.index,
            **files,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "floor_extent": self.floor_extent,
            "camera": camera_to_dict(cam),
            "lights": [{"name": l.name, "location": list(l.location), "intensity": l.intensity}
                       for l in self.lights],
            "directions": {k: list(v) for k, v in cam.directions().items()},
            "relationships": self.relationships(),
            "objects": [object_to_dict(i, o) for i, o in enumerate(self.objects)],
        }
        if len(self.views) > 1:
            out["views"] = [view.to_dict(self.stem) for view in self.views]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], prefix: str | None = None) -> "Scene":
        """Rebuild a Scene from its JSON; derived keys (directions, intrinsics) are recomputed."""
        cam = data["camera"]
        camera = Camera(tuple(cam["location"]), tuple(cam["look_at"]), float(cam["hfov_deg"]),
                        int(data["width"]), int(data["height"]))
        lights = [Light(l["name"], tuple(l["location"]), float(l["intensity"]))
                  for l in data["lights"]]
        stem = str(data["image_filename"]).rsplit(".", 1)[0]
        if prefix is None:
            suffix = f"_{data['split']}_{int(data['image_index']):06d}"
            prefix = stem[: -len(suffix)] if stem.endswith(suffix) else "CLEVRLITE"
        objects = [object_from_dict(o) for o in data["objects"]]
        entries = data.get("views") or ([] if "depth_filename" not in data
                                        and "normals_filename" not in data else [data])
        views = [_view_from_dict(entry, k, data, objects) for k, entry in enumerate(entries)]
        return cls(index=int(data["image_index"]), seed=int(data["seed"]), camera=camera,
                   lights=lights, objects=objects, split=str(data["split"]), prefix=prefix,
                   floor_extent=float(data.get("floor_extent", 3.0)), views=views)


def camera_to_dict(cam: Camera) -> dict[str, Any]:
    """A camera's JSON: where it stands and looks, its field of view, and its matrices."""
    return {
        "location": list(cam.location),
        "look_at": list(cam.look_at),
        "hfov_deg": cam.hfov_deg,
        "intrinsics": cam.intrinsics().tolist(),
        "world_to_camera": cam.world_to_camera().tolist(),
    }


def _view_from_dict(entry: Mapping[str, Any], index: int, scene: Mapping[str, Any],
                    objects: list[SceneObject]) -> View:
    """A View from its ``views`` entry, or view 0 from the scene JSON's top level."""
    cam = entry["camera"]
    camera = Camera(tuple(cam["location"]), tuple(cam["look_at"]), float(cam["hfov_deg"]),
                    int(scene["width"]), int(scene["height"]))
    if entry is scene:
        seen = [ObjectView(o.pixel_coords, o.bbox, o.visible_pixels) for o in objects]
    else:
        seen = [ObjectView(tuple(o["pixel_coords"]),
                           tuple(o["bbox"]) if o["bbox"] is not None else None,
                           int(o["visible_pixels"])) for o in entry["objects"]]
    scale = entry.get("depth_scale")
    return View(int(entry.get("view", index)), camera, seen,
                float(scale) if scale is not None else None, "normals_filename" in entry)


def view_stem(stem: str, view: int) -> str:
    """File stem of a scene's view: the scene's own for view 0, ``STEM_v1`` etc. after it."""
    return stem if view == 0 else f"{stem}_v{view}"


def scene_stem(prefix: str, split: str, index: int) -> str:
    """CLEVR's file stem, e.g. CLEVRLITE_new_000042."""
    return f"{prefix}_{split}_{index:06d}"


# Image annotations that rendering adds to each object; not attributes a text states.
ANNOTATION_KEYS = ("pixel_coords", "bbox", "visible_pixels", "mask_id", "drawn")
# Every key clevrlite itself gives an object; user attributes may not reuse them.
OBJECT_KEYS = ("name", "shape", "color", "material", "size", "scale", "3d_coords",
               "rotation") + ANNOTATION_KEYS


def object_to_dict(index: int, obj: SceneObject) -> dict[str, Any]:
    """One object's JSON: CLEVR's keys, our annotations, then user attributes as extra keys."""
    out: dict[str, Any] = {
        "name": f"Object_{index}",
        "shape": obj.shape,
        "color": obj.color,
        "material": obj.material,
        "size": obj.size,
        "scale": obj.scale,
        "3d_coords": list(obj.position),
        "rotation": obj.rotation,
        "pixel_coords": list(obj.pixel_coords) if obj.pixel_coords is not None else None,
        "bbox": list(obj.bbox) if obj.bbox is not None else None,
        "visible_pixels": obj.visible_pixels,
        "mask_id": index + 1,
    }
    if not obj.drawn:  # only benchmark scenes have objects the image leaves out
        out["drawn"] = False
    out.update(obj.attributes)
    return out


def object_from_dict(data: Mapping[str, Any]) -> SceneObject:
    """Inverse of object_to_dict; unknown keys become user attributes."""
    pix, bbox = data.get("pixel_coords"), data.get("bbox")
    return SceneObject(
        shape=data["shape"], color=data["color"], material=data["material"],
        size=data["size"], scale=float(data["scale"]),
        position=tuple(float(c) for c in data["3d_coords"]),
        rotation=float(data["rotation"]),
        attributes={k: v for k, v in data.items() if k not in OBJECT_KEYS},
        pixel_coords=tuple(pix) if pix is not None else None,
        bbox=tuple(bbox) if bbox is not None else None,
        visible_pixels=int(data.get("visible_pixels", 0)),
        drawn=bool(data.get("drawn", True)),
    )
