"""Round trips, standard parsers, attribute withholding, precision and errors of serialize."""

import json
import xml.etree.ElementTree as ET

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clevrlite.errors import ClevrliteError, UsageError
from clevrlite.precision import Precision
from clevrlite.scene import Camera, Light, Scene, SceneObject
from clevrlite.serialize import (EXTENSIONS, FORMATS, SerializationError, default_attributes,
                                 dumps, dumps_each, loads, rounded)

PRECISIONS = (0, 1, 2, 3, 6, "full")


def typed(value):
    """A comparable form that tells 1, 1.0 and True apart and keeps key order."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


def expected(objects, attributes, precision):
    if attributes is None:
        attributes = default_attributes(objects)
    return {"objects": [{k: rounded(o[k], precision) for k in attributes if k in o}
                        for o in objects]}


# ---------------------------------------------------------------- strategies

TRICKY = ["yes", "no", "null", "None", "none", "true", "False", "1e3", "0.7", "-1", "007", "3d",
          "There", "there", "and", "with", "is", "an", "object", "", " ", "a b", "light blue",
          "orangé", "青", "multi word value", '"quoted"', "[1, 2]", "(1, 2)", "a,b", "end.",
          "<tag>", "&amp;", "x\ny", "tab\there", "cr\rlf", "\u2028", "~", "- item", "key: v",
          "#hash", "0x1F", "1_000", ".inf", "y", "N", "Object_0"]
strings = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12),
                    st.text(st.characters(codec="utf-8"), min_size=30, max_size=80))
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.sampled_from([-0.0, 0.0, 1.0, 0.005, -0.005, 2.675, 1e-7, 1e20, -123456.789]))
ints = st.integers(-10**30, 10**30)
numbers = st.one_of(ints, floats)
values = st.one_of(strings, numbers, st.booleans(), st.none(),
                   st.lists(numbers, max_size=4))
keys = st.one_of(st.sampled_from(["name", "shape", "color", "material", "size", "scale",
                                  "3d_coords", "rotation", "pixel_coords", "weight", "weight kg",
                                  "xmlish", "_under", "a.b", "青色", "ሀ", "x:y", "1", "true"]),
                 st.text(min_size=1, max_size=10))
objects_st = st.lists(st.dictionaries(keys, values, max_size=6), max_size=4)


@st.composite
def scene_and_attributes(draw):
    objects = draw(objects_st)
    present = list(dict.fromkeys(k for o in objects for k in o))
    if draw(st.booleans()):
        return objects, None
    subset = draw(st.lists(st.sampled_from(present), unique=True)) if present else []
    return objects, subset


FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(data=scene_and_attributes(), precision=st.sampled_from(PRECISIONS))
def test_round_trip(fmt, data, precision):
    objects, attributes = data
    text = dumps({"objects": objects}, fmt, attributes=attributes, precision=precision)
    assert typed(loads(text, fmt)) == typed(expected(objects, attributes, precision))


@FAST
@given(data=scene_and_attributes(), precision=st.sampled_from(PRECISIONS))
def test_standard_parsers_accept_output(data, precision):
    objects, attributes = data
    want = expected(objects, attributes, precision)
    out = {f: dumps({"objects": objects}, f, attributes=attributes, precision=precision)
           for f in FORMATS}
    assert typed(json.loads(out["json"])) == typed(want)
    assert typed(yaml.safe_load(out["yaml"])) == typed(want)
    root = ET.fromstring(out["xml"])
    assert root.tag == "objects" and len(root) == len(objects)
    assert len(out["json"].splitlines()) == 1
    assert len(out["text"].splitlines()) == max(1, len(objects))


@FAST
@given(data=scene_and_attributes())
def test_dumps_each_writes_what_dumps_writes(data):
    """A render writes its four texts in one call: the same bytes as one call per format."""
    objects, _ = data
    assert dumps_each({"objects": objects}, FORMATS) == {
        f: dumps({"objects": objects}, f) for f in FORMATS}


@FAST
@given(data=scene_and_attributes())
def test_truncated_json_and_xml_fail(data):
    objects, attributes = data
    for fmt in ("json", "xml"):
        text = dumps({"objects": objects}, fmt, attributes=attributes)
        cut = len(text) // 2
        with pytest.raises(SerializationError):
            loads(text[:cut], fmt)


@FAST
@given(objects=st.lists(st.dictionaries(keys, values, min_size=1, max_size=5), min_size=1,
                        max_size=3), where=st.floats(0, 1))
def test_truncated_text_fails_unless_at_a_period(objects, where):
    text = dumps({"objects": objects}, "text", attributes=None)
    cut = text[:int(len(text) * where)].rstrip()
    if cut.endswith("."):
        return
    with pytest.raises(SerializationError):
        loads(cut, "text")


# ---------------------------------------------------------------- formats

SCENE = {"objects": [
    {"name": "Object_0", "shape": "cube", "color": "red", "material": "metal", "size": "large",
     "scale": 0.7, "3d_coords": [1.23456, -0.5, 0.7], "rotation": 37.5, "pixel_coords": [1, 2, 3],
     "bbox": [1, 2, 3, 4], "visible_pixels": 900, "mask_id": 1, "weight": 3.2},
    {"name": "Object_1", "shape": "sphere", "color": "orangé", "material": "rubber",
     "size": "small", "scale": 0.35, "3d_coords": [-2.0, 0.004, 0.35], "rotation": 300.0,
     "pixel_coords": [4, 5, 6], "bbox": [5, 6, 7, 8], "visible_pixels": 400, "mask_id": 2,
     "weight": 1},
]}


def test_formats_and_extensions():
    assert FORMATS == ("json", "yaml", "xml", "text")
    assert EXTENSIONS == {"json": ".json", "yaml": ".yaml", "xml": ".xml", "text": ".txt"}


def test_default_attributes():
    assert default_attributes(SCENE["objects"]) == [
        "name", "shape", "color", "material", "size", "3d_coords", "rotation", "weight"]
    assert default_attributes([{"b": 1, "scale": 2}, {"a": 1, "color": "red"}]) == [
        "color", "b", "a"]


def test_json_is_one_line_in_shown_order():
    attrs = ["rotation", "name", "3d_coords", "color"]
    text = dumps(SCENE, "json", attributes=attrs)
    assert "\n" not in text
    assert list(json.loads(text)["objects"][0]) == attrs
    assert text.startswith('{"objects": [{"rotation": 37.5, "name": "Object_0", '
                           '"3d_coords": [1.23, -0.5, 0.7], "color": "red"}')


def test_yaml_block_style_and_not_sorted():
    attrs = ["size", "name", "color", "3d_coords"]
    text = dumps(SCENE, "yaml", attributes=attrs)
    assert text.splitlines()[:5] == ["objects:", "- size: large", "  name: Object_0",
                                     "  color: red", "  3d_coords: [1.23, -0.5, 0.7]"]
    assert list(yaml.safe_load(text)["objects"][1]) == attrs


def test_yaml_quotes_strings_that_look_like_other_types():
    obj = {"a": "yes", "b": "null", "c": "1e3", "d": "0.7", "e": "y", "f": "~", "g": "0o17"}
    text = dumps({"objects": [obj]}, "yaml")
    assert yaml.safe_load(text)["objects"][0] == obj
    for value in ("1e3", "0.7", "0o17", "y"):
        assert f'"{value}"' in text


def test_xml_names_are_valid_and_readable():
    obj = {"3d_coords": [1.0, 2.0], "weight kg": 3, "青色": "青", "xml_id": "x", "_u": 1,
           "a.b": 2, "ሀ": 3}
    text = dumps({"objects": [obj]}, "xml")
    assert "<_3d_coords>[1.0, 2.0]</_3d_coords>" in text
    assert "<_weight.20.kg>3</_weight.20.kg>" in text
    assert "<青色>青</青色>" in text
    ET.fromstring(text)
    assert loads(text, "xml") == {"objects": [obj]}


def test_xml_escaping_and_typing():
    obj = {"s": "<a & b>", "n": "5", "f": "1.0", "b": "true", "q": '"x"', "l": "[1]",
           "cr": "a\rb", "ctl": "a\x01b", "num": 5, "fl": 1.0, "t": True, "none": None,
           "empty": "", "lst": []}
    text = dumps({"objects": [obj]}, "xml")
    assert "<s>&lt;a &amp; b&gt;</s>" in text and "<num>5</num>" in text
    assert "<n>\"5\"</n>" in text and "<fl>1.0</fl>" in text
    assert typed(loads(text, "xml")) == typed({"objects": [obj]})


def test_text_sentences():
    text = dumps(SCENE, "text")
    assert text.splitlines() == [
        "Object_0 is an object with shape cube, color red, material metal, size large, "
        "3d_coords (1.23, -0.5, 0.7), rotation 37.5 and weight 3.2.",
        "Object_1 is an object with shape sphere, color orangé, material rubber, size small, "
        "3d_coords (-2.0, 0.0, 0.35), rotation 300.0 and weight 1.",
    ]
    assert dumps(SCENE, "text", attributes=["color"]) == (
        "There is an object with color red.\nThere is an object with color orangé.")
    assert dumps(SCENE, "text", attributes=[]) == "There is an object.\nThere is an object."
    assert dumps(SCENE, "text", attributes=["name"]).startswith("Object_0 is an object.\n")
    assert dumps({"objects": []}, "text") == "There are no objects."


def test_text_odd_values():
    obj = {"shape": "cube", "name": "big red box", "color": "青", "size": 0.7, "label": "1",
           "flag": False, "unit": "none", "and": "and", "rank": 1.0, "count": 1}
    text = dumps({"objects": [obj]}, "text", attributes=list(obj))
    assert text == ('There is an object with shape cube, name "big red box", color 青, '
                    'size 0.7, label "1", flag false, unit "none", and and, rank 1.0 and count 1.')
    assert typed(loads(text, "text")) == typed({"objects": [obj]})


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_scene(fmt):
    assert loads(dumps({"objects": []}, fmt), fmt) == {"objects": []}


# ---------------------------------------------------------------- withholding


def test_withheld_attributes_never_appear():
    objects = [dict(o, secret_attr="zq_hidden_value") for o in SCENE["objects"]]
    for withheld, value in (("color", "orangé"), ("name", "Object_1"), ("3d_coords", "-2.0"),
                            ("secret_attr", "zq_hidden_value"), ("shape", "sphere")):
        attrs = [a for a in default_attributes(objects) if a != withheld]
        for fmt in FORMATS:
            text = dumps({"objects": objects}, fmt, attributes=attrs)
            assert withheld not in text and value not in text, (fmt, withheld)
            assert all(withheld not in o for o in loads(text, fmt)["objects"])


@settings(max_examples=60, deadline=None)
@given(objects=objects_st, hidden=st.lists(st.integers(0, 3), max_size=4))
def test_withheld_attribute_absent_property(objects, hidden):
    objects = [dict(o, zz_withheld=f"qqsecret{i}") for i, o in enumerate(objects)]
    shown = [k for o in objects for k in o if k != "zz_withheld" and "qqsecret" not in str(o[k])
             and "zz_withheld" not in k]
    for fmt in FORMATS:
        text = dumps({"objects": objects}, fmt, attributes=list(dict.fromkeys(shown)))
        assert "zz_withheld" not in text and "qqsecret" not in text


# ---------------------------------------------------------------- precision


def test_precision():
    obj = {"x": 1.23456789, "n": -0.0001, "c": [0.123456, -0.004], "i": 7, "b": True}
    two = loads(dumps({"objects": [obj]}, "json"), "json")["objects"][0]
    assert typed(two) == typed({"x": 1.23, "n": 0.0, "c": [0.12, 0.0], "i": 7, "b": True})
    assert "-0.0" not in dumps({"objects": [obj]}, "text")
    full = loads(dumps({"objects": [obj]}, "text", precision="full"), "text")["objects"][0]
    assert typed(full) == typed(obj)
    assert loads(dumps({"objects": [obj]}, "yaml", precision=0), "yaml")["objects"][0]["x"] == 1.0
    assert rounded([1.005, -0.0, 3, "s", None], 1) == [1.0, 0.0, 3, "s", None]
    assert rounded({"a": (0.126, 2)}, 2) == {"a": [0.13, 2]}
    assert rounded(-0.0, "full") == 0.0 and str(rounded(-0.0, "full")) == "0.0"
    assert dumps({"objects": [obj]}, "json", precision=None) == \
        dumps({"objects": [obj]}, "json", precision=Precision(None)) == \
        dumps({"objects": [obj]}, "json", precision="full")


@pytest.mark.parametrize("bad", [7, -1, 2.0, "two", True, "Full"])
def test_bad_precision(bad):
    with pytest.raises(UsageError):
        dumps(SCENE, "json", precision=bad)


# ---------------------------------------------------------------- real Scene


def test_real_scene():
    camera = Camera((7.48, -6.51, 5.34), (0.0, 0.0, 0.0), 49.13, 480, 320)
    lights = [Light("key", (6.4, -2.9, 4.3), 3.0)]
    objects = [
        SceneObject("cube", "red", "metal", "large", 0.7, (1.23456, -0.5, 0.7), 37.512),
        SceneObject("cylinder", "blue", "rubber", "small", 0.35, (-2.0, 1.5, 0.35), 300.0,
                    attributes={"texture": "striped", "weight": 2}),
    ]
    scene = Scene(index=3, seed=11, camera=camera, lights=lights, objects=objects)
    want = {"objects": [
        {"name": "Object_0", "shape": "cube", "color": "red", "material": "metal",
         "size": "large", "3d_coords": [1.23, -0.5, 0.7], "rotation": 37.51},
        {"name": "Object_1", "shape": "cylinder", "color": "blue", "material": "rubber",
         "size": "small", "3d_coords": [-2.0, 1.5, 0.35], "rotation": 300.0,
         "texture": "striped", "weight": 2},
    ]}
    for fmt in FORMATS:
        text = dumps(scene, fmt)
        assert typed(loads(text, fmt)) == typed(want)
        assert "camera" not in text and "7.48" not in text and "scale" not in text
    attrs = ["name", "scale", "3d_coords"]
    assert loads(dumps(scene.to_dict(), "text", attributes=attrs, precision="full"), "text") == {
        "objects": [{"name": "Object_0", "scale": 0.7, "3d_coords": [1.23456, -0.5, 0.7]},
                    {"name": "Object_1", "scale": 0.35, "3d_coords": [-2.0, 1.5, 0.35]}]}


# ---------------------------------------------------------------- errors


def test_serialization_error_is_a_clevrlite_error():
    assert issubclass(SerializationError, ClevrliteError)


def test_unknown_format():
    with pytest.raises(UsageError, match="json, yaml, xml, text"):
        dumps(SCENE, "toml")
    with pytest.raises(SerializationError, match="json, yaml, xml, text"):
        loads("{}", "toml")


@pytest.mark.parametrize("fmt, text", [
    ("json", '{"objects": [{"name": "Object_0"'),
    ("json", '{"scene": []}'),
    ("json", '[1, 2]'),
    ("json", '{"objects": [{"a": {"b": 1}}]}'),
    ("json", '{"objects": [{"a": [1, "x"]}]}'),
    ("json", '{"objects": [3]}'),
    ("json", ""),
    ("yaml", "objects:\n- name: Object_0\n  3d_coords: [1.2, -0."),
    ("yaml", "name: Object_0\n"),
    ("yaml", "objects:\n- when: 2001-01-01\n"),
    ("yaml", "objects: [a: b: c]"),
    ("xml", "objects:\n- name: Object_0\n"),
    ("xml", "<objects><object><name>Object_0</name></object>"),
    ("xml", "<scene><object/></scene>"),
    ("xml", "<objects><thing/></objects>"),
    ("xml", "<objects><object><a>1</a><a>2</a></object></objects>"),
    ("xml", "<objects><object><a><b>1</b></a></object></objects>"),
    ("xml", "<objects><object><a>[1, x]</a></object></objects>"),
    ("xml", '<objects><object><a>"unterminated</a></object></objects>'),
    ("xml", '<!DOCTYPE objects [<!ENTITY e "x">]><objects/>'),
    ("text", ""),
    ("text", "Object_0 is a large red metal cube."),
    ("text", "Object_0 is an object with shape cube, color"),
    ("text", "Object_0 is an object with shape cube, color red"),
    ("text", "There is an object with color."),
    ("text", "There is an object with color red color blue."),
    ("text", "There is an object with color red, color blue."),
    ("text", 'There is an object with color "red.'),
    ("text", "There is an object with 3d_coords (1.0, 2.0."),
    ("text", "There is an object with 3d_coords (1.0, red)."),
    ("text", "There is an object with color red; shape cube."),
    ("text", "There are no objects. There is an object."),
    ("text", '{"objects": []}'),
])
def test_bad_input_raises_serialization_error(fmt, text):
    with pytest.raises(SerializationError):
        loads(text, fmt)


def test_loads_needs_a_string():
    with pytest.raises(SerializationError):
        loads(b'{"objects": []}', "json")


def test_bad_dumps_input():
    with pytest.raises(SerializationError):
        dumps({"scene": []}, "json")
    with pytest.raises(SerializationError):
        dumps({"objects": [{"a": {"nested": 1}}]}, "json")
    with pytest.raises(SerializationError):
        dumps({"objects": [{"a": float("nan")}]}, "yaml")
    with pytest.raises(UsageError):
        dumps(SCENE, "json", attributes=["colour"])
    for bad in (["color", "color"], "color", [["color"]], [1]):
        with pytest.raises(UsageError):
            dumps(SCENE, "json", attributes=bad)


ASCII_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="no libyaml")
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.dictionaries(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8),
    st.one_of(ASCII_TEXT, st.integers(-10**9, 10**9), st.booleans(), st.none(),
              st.floats(allow_nan=False, allow_infinity=False),
              st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3)),
    min_size=1, max_size=6), min_size=1, max_size=4))
def test_libyaml_writes_the_same_bytes_as_the_python_emitter(objects):
    from clevrlite.serialize import _printable_ascii, _yaml_dumps

    assert _printable_ascii(objects)  # so the first call takes libyaml's emitter
    assert _yaml_dumps(objects) == _yaml_dumps(objects, fast=False)
