"""Attribute vocabulary: load and validate assets/properties.json and user files.

A vocabulary says which shapes, colours, materials and sizes a scene may use, plus any extra
attributes a user defines. User files have the same sections as the default file and are merged
into it (or replace it with ``"replace": true``). CLEVR's own properties.json, whose shapes and
materials map to Blender asset names, is accepted unchanged.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from clevrlite.errors import UsageError
from clevrlite.scene import OBJECT_KEYS

DEFAULT_PROPERTIES = Path(__file__).resolve().parent / "assets" / "properties.json"

PRIMITIVES = ("cube", "sphere", "cylinder", "cone", "torus")

# CLEVR's properties.json names Blender assets; these are the ones its data ships with.
_CLEVR_SHAPE_ASSETS = {"smoothcube_v2": "cube", "smoothcube": "cube", "sphere": "sphere",
                       "smoothcylinder": "cylinder", "cone": "cone"}
_CLEVR_MATERIAL_ASSETS = {"rubber": "rubber", "mymetal": "metal", "metal": "metal"}

SIDES = ("text", "image")
SECTIONS = ("shapes", "colors", "materials", "sizes", "attributes")
RESERVED_KEYS = frozenset(OBJECT_KEYS)  # a user attribute may not reuse a built-in key


@dataclass(frozen=True)
class Shape:
    """A shape: a built-in primitive or a mesh file that trimesh can load."""

    name: str
    primitive: str | None = None
    mesh: str | None = None


@dataclass(frozen=True)
class Material:
    """A metallic-roughness material."""

    name: str
    metallic: float
    roughness: float


@dataclass(frozen=True)
class Attribute:
    """A user attribute: categorical (``values``) or numeric (``range`` with ``decimals``)."""

    name: str
    side: str
    values: tuple[Any, ...] | None = None
    range: tuple[float, float] | None = None
    decimals: int = 2


@dataclass(frozen=True)
class Vocabulary:
    """Everything a scene's objects may be; the order of each mapping is the file's order."""

    shapes: dict[str, Shape]
    colors: dict[str, tuple[int, int, int]]
    materials: dict[str, Material]
    sizes: dict[str, float]
    attributes: dict[str, Attribute] = field(default_factory=dict)

    def rgb(self, color: str) -> tuple[float, float, float]:
        """The colour as linear RGB in [0, 1] (CLEVR fed rgb/255 to Blender as linear albedo)."""
        r, g, b = self.colors[color]
        return (r / 255.0, g / 255.0, b / 255.0)

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary in the file format, so a run can record exactly what it used."""
        return {
            "shapes": {n: ({"primitive": s.primitive} if s.primitive else {"mesh": s.mesh})
                       for n, s in self.shapes.items()},
            "colors": {n: list(c) for n, c in self.colors.items()},
            "materials": {n: {"metallic": m.metallic, "roughness": m.roughness}
                          for n, m in self.materials.items()},
            "sizes": dict(self.sizes),
            "attributes": {n: _attribute_to_dict(a) for n, a in self.attributes.items()},
        }


def _attribute_to_dict(a: Attribute) -> dict[str, Any]:
    out: dict[str, Any] = {"side": a.side}
    if a.values is not None:
        out["values"] = list(a.values)
    else:
        out["range"] = list(a.range or ())
        out["decimals"] = a.decimals
    return out


def load_vocabulary(path: str | Path | None = None,
                    overlays: Sequence[Mapping[str, Any]] = ()) -> Vocabulary:
    """The default vocabulary with ``overlays`` (a preset's additions) merged in, then merged
    with (or replaced by) the user file at ``path``."""
    base = _read_json(DEFAULT_PROPERTIES)
    for overlay in overlays:
        base = merge_properties(base, overlay, where="preset vocabulary")
    if path is None:
        return parse_vocabulary(base, where=str(DEFAULT_PROPERTIES))
    user = _read_json(Path(path))
    return parse_vocabulary(merge_properties(base, user, where=str(path)), where=str(path))


def merge_properties(base: Mapping[str, Any], user: Any, *, where: str) -> dict[str, Any]:
    """Add ``user``'s entries to ``base`` section by section, or replace it if asked."""
    if not isinstance(user, dict):
        raise UsageError(f"{where}: the top level must be a JSON object with sections "
                         f"{', '.join(SECTIONS)}")
    unknown = sorted(set(user) - set(SECTIONS) - {"replace"})
    if unknown:
        raise UsageError(f"{where}: unknown section {unknown[0]!r}; "
                         f"use {', '.join(SECTIONS)} (and optionally \"replace\": true)")
    replace = user.get("replace", False)
    if not isinstance(replace, bool):
        raise UsageError(f"{where}: \"replace\" must be true or false")
    merged: dict[str, Any] = {}
    for section in SECTIONS:
        extra = user.get(section, {})
        if not isinstance(extra, dict):
            raise UsageError(f"{where}: section {section!r} must be a JSON object of name: value")
        merged[section] = dict(extra) if replace else {**base.get(section, {}), **extra}
    return merged


def parse_vocabulary(data: Mapping[str, Any], *, where: str) -> Vocabulary:
    """Validate a properties mapping and build a Vocabulary; one-line errors name the fix."""
    def need(section: str) -> dict[str, Any]:
        value = data.get(section, {})
        if not isinstance(value, dict):
            raise UsageError(f"{where}: section {section!r} must be a JSON object")
        return value

    shapes = {n: _parse_shape(n, v, where) for n, v in need("shapes").items()}
    colors = {n: _parse_color(n, v, where) for n, v in need("colors").items()}
    materials = {n: _parse_material(n, v, where) for n, v in need("materials").items()}
    sizes = {n: _parse_size(n, v, where) for n, v in need("sizes").items()}
    attributes = {n: _parse_attribute(n, v, where) for n, v in need("attributes").items()}
    for section, values in (("shapes", shapes), ("colors", colors),
                            ("materials", materials), ("sizes", sizes)):
        if not values:
            raise UsageError(f"{where}: section {section!r} is empty; give at least one entry")
    for name in list(shapes) + list(colors) + list(materials) + list(sizes) + list(attributes):
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{where}: every name must be a non-empty string")
    return Vocabulary(shapes, colors, materials, sizes, attributes)


def _parse_shape(name: str, value: Any, where: str) -> Shape:
    if isinstance(value, str):  # CLEVR's format: a Blender asset name
        primitive = _CLEVR_SHAPE_ASSETS.get(value.lower()) or _CLEVR_SHAPE_ASSETS.get(name.lower())
        if primitive is None:
            raise UsageError(f"{where}: shape {name!r} names Blender asset {value!r}, which "
                             f"clevrlite cannot load; use {{\"primitive\": \"cube\"}} or "
                             f"{{\"mesh\": \"path/to/file.obj\"}}")
        return Shape(name, primitive=primitive)
    if isinstance(value, dict) and "primitive" in value:
        if value["primitive"] not in PRIMITIVES:
            raise UsageError(f"{where}: shape {name!r} has unknown primitive "
                             f"{value['primitive']!r}; use one of {', '.join(PRIMITIVES)}")
        return Shape(name, primitive=value["primitive"])
    if isinstance(value, dict) and "mesh" in value:
        mesh = Path(str(value["mesh"]))
        if not mesh.is_absolute():
            mesh = Path(where).resolve().parent / mesh
        if not mesh.is_file():
            raise UsageError(f"{where}: shape {name!r} mesh file {str(mesh)!r} does not exist")
        return Shape(name, mesh=str(mesh))
    raise UsageError(f"{where}: shape {name!r} must be {{\"primitive\": NAME}} or "
                     f"{{\"mesh\": PATH}}")


def _parse_color(name: str, value: Any, where: str) -> tuple[int, int, int]:
    ok = (isinstance(value, list) and len(value) == 3
          and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                  for c in value))
    if not ok:
        raise UsageError(f"{where}: colour {name!r} needs an RGB list of three integers "
                         f"0-255, e.g. [255, 128, 0]; got {json.dumps(value)}")
    return (value[0], value[1], value[2])


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _parse_material(name: str, value: Any, where: str) -> Material:
    if isinstance(value, str):  # CLEVR's format: a Blender material name
        value = _read_json(DEFAULT_PROPERTIES)["materials"].get(
            _CLEVR_MATERIAL_ASSETS.get(value.lower(), ""), value)
    if (isinstance(value, dict) and _number(value.get("metallic"))
            and _number(value.get("roughness"))
            and 0 <= value["metallic"] <= 1 and 0 <= value["roughness"] <= 1):
        return Material(name, float(value["metallic"]), float(value["roughness"]))
    raise UsageError(f"{where}: material {name!r} needs {{\"metallic\": 0-1, \"roughness\": "
                     f"0-1}}; got {json.dumps(value)}")


def _parse_size(name: str, value: Any, where: str) -> float:
    if not (_number(value) and 0 < value <= 5):
        raise UsageError(f"{where}: size {name!r} needs a scale greater than 0 and at most 5; "
                         f"got {json.dumps(value)}")
    return float(value)


def _parse_attribute(name: str, value: Any, where: str) -> Attribute:
    if name in RESERVED_KEYS:
        raise UsageError(f"{where}: attribute {name!r} is built in; choose another name")
    if not isinstance(value, dict) or value.get("side") not in SIDES:
        raise UsageError(f"{where}: attribute {name!r} needs \"side\": \"text\" or \"image\"")
    if "values" in value:
        values = value["values"]
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, str) or _number(v) for v in values)
                or len(set(map(json.dumps, values))) != len(values)):
            raise UsageError(f"{where}: attribute {name!r} \"values\" must be a non-empty list "
                             f"of distinct strings or numbers")
        return Attribute(name, value["side"], values=tuple(values))
    if "range" in value:
        rng, decimals = value["range"], value.get("decimals", 2)
        if (not isinstance(rng, list) or len(rng) != 2 or not all(map(_number, rng))
                or rng[0] >= rng[1]):
            raise UsageError(f"{where}: attribute {name!r} \"range\" must be [low, high] "
                             f"with low < high")
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 6:
            raise UsageError(f"{where}: attribute {name!r} \"decimals\" must be an integer 0-6")
        return Attribute(name, value["side"], range=(float(rng[0]), float(rng[1])),
                         decimals=decimals)
    raise UsageError(f"{where}: attribute {name!r} needs \"values\": [...] or "
                     f"\"range\": [low, high]")


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"properties file {str(path)!r} does not exist; check the path") from None
    except OSError as exc:
        raise UsageError(f"cannot read properties file {str(path)!r}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno}); fix the file") from None
