"""Scene text in four formats (DESIGN 4.5): JSON, YAML, XML and plain English, with loaders.

Only the objects are serialized (no camera, lights or relationships): ``dumps`` writes the
shown attributes of each object and ``loads`` gives back ``{"objects": [{attribute: value}]}``
holding exactly those attributes, in the shown order.

Values may be strings, integers, floats, booleans, None, or lists of numbers (coordinates).
Floats are rounded to ``precision`` decimals (or kept whole with ``"full"``), -0.0 becomes 0.0,
and every format keeps the type: integers stay integers, a float always prints with a decimal
point or an exponent (``1.0``, ``1e-07``), and a string that would read as something else
is quoted.

Format notes:

- JSON: one line, keys in the shown order.
- YAML: block style, keys in the shown order (never sorted), number lists in flow style
  ``[x, y, z]``; strings that YAML 1.1 or 1.2 might read as numbers, booleans or null are quoted.
- XML: ``<objects><object><shape>cube</shape>...</object></objects>``. A key that is not a
  plain XML name is written as ``_`` plus the key with each unsafe character as ``.hex.``
  (``3d_coords`` becomes ``<_3d_coords>``, ``weight kg`` becomes ``<_weight.20.kg>``). Values
  read like JSON scalars (``37.5``, ``true``, ``null``, ``[1.2, 0.5, 0.7]``); a string that would
  read as another type, or holds characters XML cannot carry, is written as a JSON string.
- Text: one sentence per object, naming every shown attribute, e.g.
  ``Object_0 is an object with shape cube, color red and 3d_coords (1.23, -0.5, 0.7).``
  The sentence opens with the name when ``name`` is the first attribute shown, otherwise with
  ``There is an object``. Each clause is ``<attribute> <value>``; attributes and strings are
  bare words when they are single words (letters, digits, ``_``, ``-``) that cannot be taken
  for a number or for ``true``, ``false``, ``none``, ``there``, and JSON-quoted otherwise.
  Booleans are ``true``/``false``, None is ``none``, number lists are ``(x, y, z)``. A scene
  without objects is ``There are no objects.``

Withheld attributes appear nowhere in the output; only the scaffolding words of each format
(``objects``, ``object``, and in text ``There is an object with ... and``) are always present.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from typing import Any, Iterator, Mapping, Sequence

import yaml

from clevrlite.errors import ClevrliteError, UsageError
from clevrlite.precision import DEFAULT, Precision
from clevrlite.scene import ANNOTATION_KEYS

FORMATS = ("json", "yaml", "xml", "text")
EXTENSIONS = {"json": ".json", "yaml": ".yaml", "xml": ".xml", "text": ".txt"}

CORE_ATTRIBUTES = ("name", "shape", "color", "material", "size", "3d_coords", "rotation")
# Keys of the scene JSON that are annotations or duplicates, not shown by default.
HIDDEN_ATTRIBUTES = ("scale",) + ANNOTATION_KEYS


class SerializationError(ClevrliteError):
    """Text that cannot be read back (or a value that cannot be written) in a given format."""


# ---------------------------------------------------------------- shared


def rounded(value: Any, precision: Precision | int | str = DEFAULT) -> Any:
    """``value`` with every float rounded to ``precision`` decimals ("full": unchanged) and -0.0
    made 0.0, inside lists and dicts too; integers, booleans, strings and None are unchanged."""
    return _rounded(value, Precision.parse(precision).digits)


def _rounded(value: Any, digits: int | None) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value) if digits is None else round(float(value), digits)
        return 0.0 if x == 0 else x
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, Mapping):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_value(value: Any) -> bool:
    """Whether a value is one this module carries: a scalar or a list of numbers."""
    if isinstance(value, float):
        return math.isfinite(value)
    if value is None or isinstance(value, (bool, int, str)):
        return True
    return isinstance(value, list) and all(_valid_value(v) and _is_number(v) for v in value)


def default_attributes(objects: Sequence[Mapping[str, Any]]) -> list[str]:
    """The attributes shown by default: the core ones present (name, shape, color, material,
    size as its label, 3d_coords, rotation), then user attributes in first-seen order."""
    present: dict[str, None] = {}
    for obj in objects:
        present.update(dict.fromkeys(obj))
    core = [k for k in CORE_ATTRIBUTES if k in present]
    skip = set(CORE_ATTRIBUTES) | set(HIDDEN_ATTRIBUTES)
    return core + [k for k in present if k not in skip]


def _objects_of(scene: Any) -> list[Mapping[str, Any]]:
    data = scene.to_dict() if hasattr(scene, "to_dict") else scene
    objects = data.get("objects") if isinstance(data, Mapping) else None
    if not isinstance(objects, (list, tuple)) or not all(isinstance(o, Mapping) for o in objects):
        raise SerializationError("dumps needs a Scene or a mapping with an 'objects' list of dicts")
    return list(objects)


def _shown(objects: list[Mapping[str, Any]], attributes: Sequence[str] | None,
           precision: Precision) -> list[dict[str, Any]]:
    """Each object restricted to the shown attributes, in their order, values rounded."""
    if attributes is None:
        attributes = default_attributes(objects)
        if not all(isinstance(a, str) for a in attributes):
            raise SerializationError(f"attribute names must be strings: {attributes!r}")
    else:
        names = list(attributes)
        if (isinstance(attributes, str) or not all(isinstance(a, str) for a in names)
                or len(set(names)) != len(names)):
            raise UsageError(f"attributes must be a list of distinct strings, not {attributes!r}")
        attributes = names
        unknown = [a for a in attributes if objects and not any(a in o for o in objects)]
        if unknown:
            raise UsageError(f"no object has the attribute(s) {', '.join(map(repr, unknown))}")
    out = []
    for i, obj in enumerate(objects):
        shown: dict[str, Any] = {}
        for key in attributes:
            if key in obj:
                shown[key] = rounded(obj[key], precision)
                if not _valid_value(shown[key]):
                    raise SerializationError(f"object {i}: attribute {key!r} has a value no "
                                             f"format can carry: {obj[key]!r}")
        out.append(shown)
    return out


def dumps(scene: Any, fmt: str, *, attributes: Sequence[str] | None = None,
          precision: Precision | int | str = DEFAULT) -> str:
    """The objects of ``scene`` (a Scene, a scene dict, or a mapping with an "objects" list)
    as ``fmt`` text, showing ``attributes`` in that order (default: ``default_attributes``)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    objects = _shown(_objects_of(scene), attributes, Precision.parse(precision))
    return _DUMPERS[fmt](objects)


def dumps_each(scene: Any, formats: Sequence[str]) -> dict[str, str]:
    """``dumps`` of ``scene`` in each of ``formats`` with the default attributes and
    precision, the objects rounded once for all of them (a render writes four texts)."""
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r}; valid formats: {', '.join(FORMATS)}")
    objects = _shown(_objects_of(scene), None, Precision.parse(DEFAULT))
    return {fmt: _DUMPERS[fmt](objects) for fmt in formats}


def loads(text: str, fmt: str) -> dict[str, list[dict[str, Any]]]:
    """Read text written by ``dumps`` back to ``{"objects": [{attribute: value}, ...]}``."""
    if fmt not in FORMATS:
        raise SerializationError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    if not isinstance(text, str):
        raise SerializationError(f"{fmt} text must be a string, not {type(text).__name__}")
    try:
        data = _LOADERS[fmt](text)
    except (ValueError, RecursionError, yaml.YAMLError, ET.ParseError) as exc:
        raise SerializationError(f"not valid {fmt} scene text: {exc}") from exc
    return _checked(data, fmt)


def _checked(data: Any, fmt: str) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise SerializationError(f"{fmt} text has no 'objects' list")
    objects = []
    for i, obj in enumerate(data["objects"]):
        if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
            raise SerializationError(f"object {i} in the {fmt} text is not a mapping of attributes")
        for key, value in obj.items():
            if not _valid_value(value):
                raise SerializationError(f"object {i}: attribute {key!r} has an unsupported "
                                         f"value {value!r}")
        objects.append(obj)
    return {"objects": objects}


def _scalar_text(value: Any) -> str:
    """Booleans, integers and floats as JSON-like literals (floats keep their decimal point)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _json_str(value: str, ascii_only: bool = False) -> str:
    """A JSON string literal that never breaks a line, whatever splits lines."""
    out = json.dumps(value, ensure_ascii=ascii_only)
    return out.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _number(text: str) -> int | float | None:
    """The number ``text`` spells (a float iff it has a decimal point or exponent), else None."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return None


# ---------------------------------------------------------------- JSON


def _json_dumps(objects: list[dict[str, Any]]) -> str:
    out = json.dumps({"objects": objects}, ensure_ascii=False, separators=(", ", ": "))
    return out.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# ---------------------------------------------------------------- YAML


class _FlowList(list):
    """A list written in flow style."""


class _YamlDumper(yaml.SafeDumper):
    """Safe YAML: number lists in flow style, number-like strings double-quoted."""


# Strings another YAML parser (1.1 or 1.2) could read as a number or a boolean.
_YAML_NUMBERISH = re.compile(r"[-+]?(?:0[xXoObB][0-9a-fA-F_]+"
                             r"|\.?[0-9][0-9_,:.]*(?:[eE][-+]?[0-9_]*)?)|[yYnN]")


# Characters PyYAML may write raw inside plain or single quotes and then read back changed.
_YAML_AWKWARD = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
                           "|[\u2028\u2029\ufeff]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    awkward = _YAML_NUMBERISH.fullmatch(value) or _YAML_AWKWARD.search(value)
    style = '"' if awkward else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_YamlDumper.add_representer(str, _represent_str)
_YamlDumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


# libyaml's emitter is four times faster and writes the same bytes as the Python one when
# every key and string is printable ASCII (tested); beyond that their escapes differ, so the
# Python emitter stays the reference for everything else.
_FAST_DUMPER: type | None = None
if getattr(yaml, "__with_libyaml__", False):
    class _CYamlDumper(yaml.CSafeDumper):
        """_YamlDumper's representers on libyaml's emitter."""

    for _type, _represent in _YamlDumper.yaml_representers.items():
        _CYamlDumper.add_representer(_type, _represent)
    _FAST_DUMPER = _CYamlDumper


def _printable_ascii(objects: list[dict[str, Any]]) -> bool:
    return all(k.isascii() and k.isprintable() and (not isinstance(v, str)
                                                    or (v.isascii() and v.isprintable()))
               for o in objects for k, v in o.items())


def _yaml_dumps(objects: list[dict[str, Any]], *, fast: bool = True) -> str:
    data = {"objects": [{k: _FlowList(v) if isinstance(v, list) else v for k, v in o.items()}
                        for o in objects]}
    dumper = (_FAST_DUMPER if fast and _FAST_DUMPER is not None
              and _printable_ascii(objects) else _YamlDumper)
    out = yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False,
                    allow_unicode=True, width=2**31 - 1)
    return out.rstrip("\n")


# ---------------------------------------------------------------- XML


@functools.lru_cache(maxsize=None)
def _xml_letter(char: str) -> bool:
    """Whether ``char`` may stand anywhere in an element name, by the standard parser's rules."""
    if char.isascii():
        return char.isalpha()
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(f"<{char}/>", True)
    except (xml.parsers.expat.ExpatError, UnicodeEncodeError):
        return False
    return True


def _xml_tag_char(char: str) -> bool:
    return char in "_-" or (char.isascii() and char.isdigit()) or _xml_letter(char)


def _xml_tag(key: str) -> str:
    """The element name for an attribute: the key itself when it is a plain name, else escaped."""
    if (key and _xml_letter(key[0]) and all(map(_xml_tag_char, key))
            and not key.lower().startswith("xml")):
        return key
    return "_" + "".join(c if _xml_tag_char(c) else f".{ord(c):x}." for c in key)


_XML_ESCAPE = re.compile(r"\.([0-9a-f]{1,6})\.")


def _xml_key(tag: str) -> str:
    """Inverse of ``_xml_tag``."""
    if not tag.startswith("_"):
        return tag
    try:
        return _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), tag[1:])
    except (ValueError, OverflowError) as exc:
        raise SerializationError(f"bad escaped element name {tag!r}") from exc


def _xml_value(text: str) -> Any:
    """A value from element text: JSON-like literals, a quoted string, or else the text."""
    if text.startswith('"'):
        value = json.loads(text)
        if not isinstance(value, str):
            raise SerializationError(f"bad quoted XML value {text!r}")
        return value
    literals = {"null": None, "true": True, "false": False}
    if text in literals:
        return literals[text]
    if text.startswith("["):
        if not text.endswith("]"):
            raise SerializationError(f"unterminated list {text!r} in XML")
        items = [s.strip() for s in text[1:-1].split(",")] if text[1:-1].strip() else []
        values = [_number(s) for s in items]
        if any(v is None for v in values):
            raise SerializationError(f"a list in XML holds something other than numbers: {text!r}")
        return values
    number = _number(text)
    return text if number is None else number


_XML_BAD_CHAR = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(map(_scalar_text, value)) + "]"
    if not isinstance(value, str):
        return _scalar_text(value)
    try:
        plain = _xml_value(value)
    except (ValueError, SerializationError):
        plain = None
    if plain == value and isinstance(plain, str) and not _XML_BAD_CHAR.search(value):
        text = value
    else:
        text = _json_str(value, ascii_only=bool(_XML_BAD_CHAR.search(value)))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_dumps(objects: list[dict[str, Any]]) -> str:
    lines = ["<objects>"]
    for obj in objects:
        lines.append("  <object>")
        for key, value in obj.items():
            tag = _xml_tag(key)
            lines.append(f"    <{tag}>{_xml_text(value)}</{tag}>")
        lines.append("  </object>")
    lines.append("</objects>")
    return "\n".join(lines)


def _xml_loads(text: str) -> dict[str, Any]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise SerializationError("XML scene text must not declare a DOCTYPE or entities")
    root = ET.fromstring(text)
    if root.tag != "objects":
        raise SerializationError(f"XML root element is <{root.tag}>, expected <objects>")
    objects = []
    for element in root:
        if element.tag != "object" or (element.tail or "").strip() or (element.text or "").strip():
            raise SerializationError(f"unexpected content in <objects>: <{element.tag}>")
        obj: dict[str, Any] = {}
        for child in element:
            key = _xml_key(child.tag)
            if key in obj or len(child) or (child.tail or "").strip():
                raise SerializationError(f"bad XML element <{child.tag}> in object {len(objects)}")
            obj[key] = _xml_value(child.text or "")
        objects.append(obj)
    if (root.text or "").strip():
        raise SerializationError("unexpected text in <objects>")
    return {"objects": objects}


# ---------------------------------------------------------------- text


_WORD = re.compile(r"\w[\w-]*")
_RESERVED = {"true", "false", "none", "there"}
_TOKEN = re.compile(r'(?P<str>"(?:[^"\\]|\\.)*")'
                    r"|(?P<num>-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(?![\w-])"
                    r"|(?P<word>\w[\w-]*)"
                    r"|(?P<punct>[(),.])")
_SPACE = re.compile(r"\s*")


def _text_word(value: str) -> str:
    """A string as one bare word when it reads back as itself, else as a JSON string."""
    if _WORD.fullmatch(value) and _number(value) is None and value.lower() not in _RESERVED:
        return value
    return _json_str(value)


def _text_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return _text_word(value)
    if isinstance(value, list):
        return "(" + ", ".join(map(_scalar_text, value)) + ")"
    return _scalar_text(value)


def _text_sentence(obj: dict[str, Any]) -> str:
    items = list(obj.items())
    if items and items[0][0] == "name":
        head = f"{_text_value(items.pop(0)[1])} is an object"
    else:
        head = "There is an object"
    clauses = [f"{_text_word(k)} {_text_value(v)}" for k, v in items]
    if not clauses:
        return head + "."
    body = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"{head} with {body}."


def _text_dumps(objects: list[dict[str, Any]]) -> str:
    if not objects:
        return "There are no objects."
    return "\n".join(map(_text_sentence, objects))


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = _SPACE.match(text).end()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SerializationError(f"unexpected character {text[pos]!r} at position {pos} "
                                     "of the text")
        yield m.lastgroup, m.group()
        pos = _SPACE.match(text, m.end()).end()


class _TextParser:
    """Recursive-descent reader of the sentences ``_text_dumps`` writes."""

    def __init__(self, text: str):
        self.tokens = list(_tokens(text))
        self.i = 0

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise SerializationError("text ends in the middle of a sentence")
        self.i += 1
        return self.tokens[self.i - 1]

    def at(self, *words: str) -> bool:
        ahead = [raw for _, raw in self.tokens[self.i:self.i + len(words)]]
        return ahead == list(words)

    def expect(self, *words: str) -> None:
        for word in words:
            kind, raw = self.take()
            if raw != word or kind not in ("word", "punct"):
                raise SerializationError(f"expected {word!r} but found {raw!r} "
                                         f"(token {self.i} of the text)")

    def key(self) -> str:
        kind, raw = self.take()
        if kind == "str":
            return self.string(raw)
        if kind == "word":
            return raw
        raise SerializationError(f"expected an attribute name but found {raw!r}")

    @staticmethod
    def string(raw: str) -> str:
        value = json.loads(raw)
        if not isinstance(value, str):
            raise SerializationError(f"bad quoted string {raw!r}")
        return value

    def value(self) -> Any:
        kind, raw = self.take()
        if kind == "str":
            return self.string(raw)
        if kind == "num":
            return _number(raw)
        if kind == "word":
            return {"true": True, "false": False, "none": None}.get(raw, raw)
        if raw != "(":
            raise SerializationError(f"expected a value but found {raw!r}")
        items: list[Any] = []
        while not (items == [] and self.at(")")):
            kind, raw = self.take()
            if kind != "num":
                raise SerializationError(f"expected a number in a list but found {raw!r}")
            items.append(_number(raw))
            if not self.at(","):
                break
            self.expect(",")
        self.expect(")")
        return items

    def sentence(self) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        if self.at("There", "is"):
            self.expect("There")
        else:
            obj["name"] = self.value()
        self.expect("is", "an", "object")
        if self.at("."):
            self.expect(".")
            return obj
        self.expect("with")
        while True:
            key = self.key()
            if key in obj:
                raise SerializationError(f"attribute {key!r} given twice in one sentence")
            obj[key] = self.value()
            kind, raw = self.take()
            if raw == ".":
                return obj
            if raw not in (",", "and") or kind == "str":
                raise SerializationError(f"expected ',', 'and' or '.' but found {raw!r}")

    def scene(self) -> dict[str, Any]:
        if not self.tokens:
            raise SerializationError("the text is empty")
        if self.at("There", "are", "no", "objects", "."):
            self.i += 5
            objects = []
        else:
            objects = []
            while self.i < len(self.tokens):
                objects.append(self.sentence())
        if self.i < len(self.tokens):
            raise SerializationError("text goes on after 'There are no objects.'")
        return {"objects": objects}


def _text_loads(text: str) -> dict[str, Any]:
    return _TextParser(text).scene()


_DUMPERS = {"json": _json_dumps, "yaml": _yaml_dumps, "xml": _xml_dumps, "text": _text_dumps}
_LOADERS = {"json": json.loads, "yaml": yaml.safe_load, "xml": _xml_loads, "text": _text_loads}
