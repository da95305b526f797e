"""Vocabulary loading: CLEVR's defaults, user files merged or replacing, clear errors."""

import json

import pytest

from clevrlite.errors import UsageError
from clevrlite.vocab import load_vocabulary

CLEVR_PROPERTIES = {  # CLEVR's own file, shapes and materials naming Blender assets
    "shapes": {"cube": "SmoothCube_v2", "sphere": "Sphere", "cylinder": "SmoothCylinder"},
    "colors": {"gray": [87, 87, 87], "red": [173, 35, 35], "blue": [42, 75, 215],
               "green": [29, 105, 20], "brown": [129, 74, 25], "purple": [129, 38, 192],
               "cyan": [41, 208, 208], "yellow": [255, 238, 51]},
    "materials": {"rubber": "Rubber", "metal": "MyMetal"},
    "sizes": {"large": 0.7, "small": 0.35},
}


def write(tmp_path, data, name="props.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_default_vocabulary_is_clevrs():
    v = load_vocabulary()
    assert list(v.shapes) == ["cube", "sphere", "cylinder"]
    assert {n: list(c) for n, c in v.colors.items()} == CLEVR_PROPERTIES["colors"]
    assert v.sizes == {"large": 0.7, "small": 0.35}
    assert v.materials["metal"].metallic == 1.0 and v.materials["rubber"].metallic == 0.0
    assert v.rgb("red") == pytest.approx((173 / 255, 35 / 255, 35 / 255))


def test_clevr_properties_file_is_accepted_unchanged(tmp_path):
    v = load_vocabulary(write(tmp_path, {**CLEVR_PROPERTIES, "replace": True}))
    assert [s.primitive for s in v.shapes.values()] == ["cube", "sphere", "cylinder"]
    assert v.materials["metal"].metallic == 1.0
    v2 = load_vocabulary(write(tmp_path, CLEVR_PROPERTIES, "plain.json"))
    assert list(v2.colors) == list(CLEVR_PROPERTIES["colors"])


def test_user_file_adds_to_defaults_or_replaces(tmp_path):
    extra = {"colors": {"orange": [255, 140, 0]},
             "shapes": {"cone": {"primitive": "cone"}},
             "attributes": {"weight": {"side": "text", "range": [1, 5], "decimals": 1}}}
    v = load_vocabulary(write(tmp_path, extra))
    assert "orange" in v.colors and "red" in v.colors and "cone" in v.shapes
    assert v.attributes["weight"].range == (1.0, 5.0)
    replaced = load_vocabulary(write(tmp_path, {**extra, "replace": True, "sizes": {"big": 1},
                                                "materials": {"m": {"metallic": 0,
                                                                    "roughness": 1}}},
                                     "r.json"))
    assert list(replaced.colors) == ["orange"] and list(replaced.shapes) == ["cone"]
    assert replaced.to_dict()["attributes"]["weight"] == {"side": "text", "range": [1.0, 5.0],
                                                          "decimals": 1}


@pytest.mark.parametrize("data, words", [
    ("{not json", "not valid JSON"),
    ([1, 2], "top level must be a JSON object"),
    ({"colours": {}}, "unknown section 'colours'"),
    ({"colors": {"orange": "orange"}}, "colour 'orange' needs an RGB list"),
    ({"colors": {"orange": [300, 0, 0]}}, "0-255"),
    ({"colors": []}, "must be a JSON object"),
    ({"sizes": {"huge": -1}}, "size 'huge' needs a scale"),
    ({"materials": {"glass": {"metallic": 2, "roughness": 0}}}, "material 'glass'"),
    ({"shapes": {"blob": {"primitive": "blob"}}}, "unknown primitive 'blob'"),
    ({"shapes": {"blob": {"mesh": "missing.obj"}}}, "does not exist"),
    ({"shapes": {"blob": "BlenderThing"}}, "Blender asset"),
    ({"attributes": {"color": {"side": "text", "values": [1]}}}, "built in"),
    ({"attributes": {"w": {"side": "left", "values": [1]}}}, "\"side\""),
    ({"attributes": {"w": {"side": "text", "range": [5, 1]}}}, "low < high"),
    ({"attributes": {"w": {"side": "text"}}}, "needs \"values\""),
    ({"replace": True, "colors": {"red": [1, 2, 3]}}, "section 'shapes' is empty"),
])
def test_bad_files_give_one_line_usage_errors(tmp_path, data, words):
    with pytest.raises(UsageError) as info:
        load_vocabulary(write(tmp_path, data))
    message = str(info.value)
    assert words in message and "\n" not in message


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_vocabulary(tmp_path / "nope.json")
