"""Tests for clevrlite.solver: checked against brute-force enumeration written independently."""

from __future__ import annotations

import copy
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clevrlite.errors import ClevrliteError
from clevrlite.solver import (
    ConstructionError,
    constrain_linking,
    make_unique,
    minimal_linking_sets,
    unique_values,
    value_key,
)

# --- independent reference implementations -------------------------------------------------


def ref_key(value, precision):
    if isinstance(value, (list, tuple)):
        return tuple(ref_key(item, precision) for item in value)
    if isinstance(value, float) and precision is not None:
        return round(value, precision)
    return value


def ref_original(value):
    if isinstance(value, (list, tuple)):
        return tuple(ref_original(item) for item in value)
    return value


def ref_separates(objects, target, subset, precision):
    mine = objects[target]
    return all(
        any(ref_key(obj[a], precision) != ref_key(mine[a], precision) for a in subset)
        for j, obj in enumerate(objects) if j != target
    )


def ref_minimal_sets(objects, target, attributes, precision=None):
    names = sorted(set(attributes))
    separating = [
        subset for r in range(len(names) + 1) for subset in combinations(names, r)
        if ref_separates(objects, target, subset, precision)
    ]
    minimal = [s for s in separating if not any(set(t) < set(s) for t in separating)]
    return sorted(minimal, key=lambda s: (len(s), s))


def ref_smallest(objects, target, attributes):
    sets = ref_minimal_sets(objects, target, attributes)
    return len(sets[0]) if sets else None


def ref_unique(objects, attribute, precision=None):
    counts = Counter(ref_key(obj[attribute], precision) for obj in objects)
    return {
        ref_original(obj[attribute]): i for i, obj in enumerate(objects)
        if counts[ref_key(obj[attribute], precision)] == 1
    }


# --- random scenes ---------------------------------------------------------------------------

NAMES = ["shape", "color", "size", "rot", "coords", "extra"]
STRINGS = st.sampled_from(["x", "y", "z"])
INTS = st.integers(0, 2)
FLOATS = st.sampled_from([0.35, 0.7, 0.699, 0.701, 0.7049, 1.0, -0.0, 0.0])
COORDS = st.lists(st.sampled_from([0.0, 0.004, 1.0, 1.001, -1.0]), min_size=2, max_size=2)
COORD_TUPLES = COORDS.map(tuple)
MIXED = st.one_of(STRINGS, INTS, FLOATS, COORDS, COORD_TUPLES)
KINDS = [STRINGS, INTS, FLOATS, COORDS, st.one_of(COORDS, COORD_TUPLES), MIXED]


@st.composite
def scenes(draw, max_objects=12, max_attributes=6):
    count = draw(st.integers(1, max_objects))
    attributes = draw(st.permutations(NAMES))[:draw(st.integers(0, max_attributes))]
    kinds = {name: draw(st.sampled_from(KINDS)) for name in attributes}
    objects = [{name: draw(kinds[name]) for name in attributes} for _ in range(count)]
    target = draw(st.integers(0, count - 1))
    precision = draw(st.sampled_from([None, 1, 2]))
    return objects, target, attributes, precision


def numpy_scene(rng, count, attributes):
    objects = []
    for _ in range(count):
        obj = {}
        for a, name in enumerate(attributes):
            if a % 3 == 0:
                obj[name] = f"v{int(rng.integers(1 + a % 4))}"
            elif a % 3 == 1:
                obj[name] = float(rng.choice([0.35, 0.7, 0.704, 0.696]))
            else:
                obj[name] = [float(rng.choice([0.0, 0.001, 1.0])) for _ in range(2)]
        objects.append(obj)
    return objects


# --- minimal_linking_sets and unique_values --------------------------------------------------


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_minimal_linking_sets_match_brute_force(scene):
    objects, target, attributes, precision = scene
    got = minimal_linking_sets(objects, target, attributes, precision=precision)
    assert got == ref_minimal_sets(objects, target, attributes, precision)


def test_minimal_linking_sets_match_brute_force_seeded():
    rng = np.random.default_rng(20240617)
    for _ in range(3000):
        count = int(rng.integers(1, 13))
        attributes = [f"a{i}" for i in rng.permutation(int(rng.integers(0, 7)))]
        objects = numpy_scene(rng, count, attributes)
        target = int(rng.integers(count))
        precision = [None, 2][int(rng.integers(2))]
        assert minimal_linking_sets(objects, target, attributes, precision=precision) == \
            ref_minimal_sets(objects, target, attributes, precision)


@settings(max_examples=500, deadline=None)
@given(scenes(max_attributes=1).filter(lambda scene: scene[2]))
def test_unique_values_match_counter(scene):
    objects, _, attributes, precision = scene
    got = unique_values(objects, attributes[0], precision=precision)
    assert got == ref_unique(objects, attributes[0], precision)


def test_one_object_is_singled_out_by_the_empty_set():
    assert minimal_linking_sets([{"shape": "cube"}], 0, ["shape"]) == [()]
    assert minimal_linking_sets([{}], 0, []) == [()]


def test_no_attributes_or_identical_objects_link_nothing():
    assert minimal_linking_sets([{}, {}], 1, []) == []
    twins = [{"shape": "cube", "color": "red"}] * 3
    assert minimal_linking_sets(twins, 0, ["shape", "color"]) == []
    assert unique_values(twins, "shape") == {}


def test_sets_sorted_by_size_then_names_and_attribute_order_ignored():
    objects = [
        {"shape": "cube", "color": "red", "material": "metal", "size": "large"},
        {"shape": "cube", "color": "blue", "material": "metal", "size": "small"},
        {"shape": "sphere", "color": "red", "material": "metal", "size": "small"},
        {"shape": "cube", "color": "red", "material": "rubber", "size": "small"},
    ]
    expected = [("size",), ("color", "material", "shape")]
    assert minimal_linking_sets(objects, 0, ["size", "shape", "material", "color"]) == expected
    assert minimal_linking_sets(objects, 0, ["color", "shape", "size", "material", "size"]) == \
        expected


def test_precision_rounding():
    objects = [{"w": 0.701, "s": "a"}, {"w": 0.699, "s": "b"}]
    assert minimal_linking_sets(objects, 0, ["w"], precision=2) == []
    assert minimal_linking_sets(objects, 0, ["w"], precision=3) == [("w",)]
    assert minimal_linking_sets(objects, 0, ["w"]) == [("w",)]
    assert minimal_linking_sets(objects, 0, ["w", "s"], precision=2) == [("s",)]
    assert unique_values(objects, "w", precision=2) == {}
    assert unique_values(objects, "w") == {0.701: 0, 0.699: 1}


def test_coordinates_lists_equal_tuples_and_round_inside():
    objects = [{"p": [1.0, 2.004]}, {"p": (1.0, 2.0)}, {"p": [1.0, 2.1]}]
    assert minimal_linking_sets(objects, 0, ["p"], precision=2) == []
    assert minimal_linking_sets(objects, 0, ["p"]) == [("p",)]
    # Keys are the original values, lists as tuples, never the rounded ones.
    assert unique_values(objects, "p", precision=2) == {(1.0, 2.1): 2}
    assert unique_values(objects, "p") == {(1.0, 2.004): 0, (1.0, 2.0): 1, (1.0, 2.1): 2}


def test_value_key():
    assert value_key("red") == "red"
    assert value_key([1, [2.0, 3.0]]) == (1, (2.0, 3.0)) == value_key((1, (2.0, 3.0)))
    assert value_key(0.701, 2) == value_key(0.699, 2) == 0.7
    assert value_key([0.701, 5], 2) == (0.7, 5)
    assert value_key(np.array([0.701, 0.5]), 2) == (0.7, 0.5)
    assert value_key(np.float64(0.701), 2) == 0.7
    assert type(value_key(np.int64(3))) is int
    assert value_key(np.str_("red")) == "red"
    assert value_key(0.701) == 0.701
    hash(value_key([[1.0], (2.0,)], 1))


def test_numpy_values_compare_like_python_ones():
    objects = [{"c": "red", "w": np.float64(0.7)}, {"c": np.str_("red"), "w": 0.70001},
               {"c": "blue", "w": 0.7}]
    assert minimal_linking_sets(objects, 0, ["c"]) == []
    assert minimal_linking_sets(objects, 1, ["w"], precision=2) == []
    assert minimal_linking_sets(objects, 1, ["w"]) == [("w",)]


def test_target_out_of_range():
    with pytest.raises(IndexError):
        minimal_linking_sets([{"a": 1}], 1, ["a"])
    with pytest.raises(IndexError):
        minimal_linking_sets([], 0, [])


# --- make_unique -----------------------------------------------------------------------------

SIZES = ["large", "small"]
SHAPES = ["cube", "sphere", "cylinder"]
COLORS = ["gray", "red", "blue", "green", "brown", "purple", "cyan", "yellow"]
MATERIALS = ["rubber", "metal"]
CHOICES = {"shape": SHAPES, "color": COLORS, "material": MATERIALS, "size": SIZES}


def clevr_objects(rng, count):
    return [
        {"name": f"Object_{i}", **{a: values[int(rng.integers(len(values)))]
                                   for a, values in CHOICES.items()},
         "3d_coords": [float(x) for x in rng.uniform(-3, 3, 2)] + [0.35]}
        for i in range(count)
    ]


@settings(max_examples=300, deadline=None)
@given(
    count=st.integers(1, 10),
    alphabet=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_make_unique_property(count, alphabet, seed):
    rng = np.random.default_rng(seed)
    choices = ["a", "b", "c", "d"][:alphabet]
    objects = [{"v": choices[int(rng.integers(alphabet))], "other": i} for i in range(count)]
    index = int(rng.integers(count))
    before = copy.deepcopy(objects)
    value = objects[index]["v"]
    clashes = sum(obj["v"] == value for obj in objects) - 1
    if clashes and all(choice == value for choice in choices):
        with pytest.raises(ConstructionError):
            make_unique(objects, index, "v", choices, rng)
        return
    out = make_unique(objects, index, "v", choices, rng)
    assert objects == before
    assert ref_unique(out, "v").get(value) == index
    assert out[index] == objects[index]
    for old, new in zip(objects, out):
        assert new["other"] == old["other"] and new.keys() == old.keys()
        if old["v"] != value or old is objects[index]:
            assert new["v"] == old["v"]
        else:
            assert new["v"] in choices and new["v"] != value


def test_make_unique_two_choices_flip_all_others():
    objects = [{"size": "large"} for _ in range(5)]
    out = make_unique(objects, 2, "size", SIZES, np.random.default_rng(0))
    assert [obj["size"] for obj in out] == ["small", "small", "large", "small", "small"]


def test_make_unique_coordinates_with_precision():
    objects = [{"p": [1.0, 2.0]}, {"p": [1.0, 2.004]}, {"p": [0.0, 0.0]}]
    out = make_unique(objects, 0, "p", [[1.0, 2.0], [5.0, 5.0]], np.random.default_rng(1),
                      precision=2)
    assert out[1]["p"] == [5.0, 5.0] and out[2]["p"] == [0.0, 0.0]
    assert unique_values(out, "p", precision=2)[(1.0, 2.0)] == 0


def test_make_unique_is_deterministic():
    objects = clevr_objects(np.random.default_rng(3), 10)
    for obj in objects:
        obj["color"] = "red"
    first = make_unique(objects, 4, "color", COLORS, np.random.default_rng(9))
    assert first == make_unique(objects, 4, "color", COLORS, np.random.default_rng(9))
    assert unique_values(first, "color")["red"] == 4


def test_make_unique_impossible():
    objects = [{"material": "rubber"}] * 3
    with pytest.raises(ConstructionError, match=r"3 objects.*1 choices") as info:
        make_unique(objects, 0, "material", ["rubber"], np.random.default_rng(0))
    assert isinstance(info.value, ClevrliteError)
    assert make_unique([{"m": "rubber"}], 0, "m", ["rubber"], np.random.default_rng(0)) == \
        [{"m": "rubber"}]


# --- constrain_linking -----------------------------------------------------------------------


def check_constrained(objects, out, target, attributes, size, choices, fixed):
    assert ref_smallest(out, target, attributes) == size
    assert out[target] == objects[target]
    for old, new in zip(objects, out):
        assert new.keys() == old.keys()
        for key in old:
            if new[key] != old[key]:
                assert key in attributes and key not in fixed
                assert new[key] in choices[key] or new[key] == objects[target][key]


@st.composite
def linking_requests(draw):
    count = draw(st.integers(1, 8))
    attributes = draw(st.permutations(["a", "b", "c", "d"]))[:draw(st.integers(0, 4))]
    choices = {name: ["p", "q", "r"][:draw(st.integers(1, 3))] for name in attributes}
    objects = [
        {"pointer": i, **{name: draw(st.sampled_from(["p", "q", "r"])) for name in attributes}}
        for i in range(count)
    ]
    fixed = [name for name in attributes if draw(st.integers(0, 4)) == 0]
    target = draw(st.integers(0, count - 1))
    size = draw(st.sampled_from([None, *range(0, len(attributes) + 2)]))
    return objects, target, attributes, size, choices, fixed


def surely_possible(objects, target, attributes, size, choices, fixed):
    """Requests a construction exists for: one object per attribute of a set of ``size`` that
    differs from the target on that attribute alone (or, for None, one twin)."""
    free = not fixed and all(len(choices[a]) >= 2 for a in attributes)
    if size is None:
        return len(objects) > 1 and not fixed
    if size == 0:
        return len(objects) == 1
    return free and size <= min(len(attributes), len(objects) - 1)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linking_requests(), st.integers(0, 2**32 - 1))
def test_constrain_linking_property(request, seed):
    objects, target, attributes, size, choices, fixed = request
    before = copy.deepcopy(objects)
    try:
        out = constrain_linking(objects, target, attributes, size, choices,
                                np.random.default_rng(seed), fixed=fixed, max_tries=60)
    except ConstructionError:
        assert not surely_possible(*request)
        return
    assert objects == before
    check_constrained(objects, out, target, attributes, size, choices, fixed)


def test_constrain_linking_clevr_scenes_always_succeed():
    """The builder's use: pointer made unique, then every difficulty for a text target."""
    linking = ["material", "shape", "size"]
    for seed in range(60):
        rng = np.random.default_rng(seed)
        count = int(rng.integers(3, 11))
        objects = make_unique(clevr_objects(rng, count), 0, "color", COLORS, rng)
        pointer = objects[0]["color"]
        for size in (None, 1, 2, 3)[:count]:
            out = constrain_linking(objects, 0, linking, size, CHOICES, rng,
                                    fixed=("color", "3d_coords"))
            check_constrained(objects, out, 0, linking, size, CHOICES, ("color",))
            assert unique_values(out, "color")[pointer] == 0


def test_constrain_linking_unchanged_when_already_true():
    objects = clevr_objects(np.random.default_rng(5), 6)
    size = ref_smallest(objects, 2, ["shape", "material", "size"])
    out = constrain_linking(objects, 2, ["shape", "material", "size"], size, CHOICES,
                            np.random.default_rng(0))
    assert out == objects and out is not objects and out[0] is not objects[0]


def test_constrain_linking_changes_one_value_when_one_suffices():
    objects = [
        {"shape": "cube", "material": "rubber"},
        {"shape": "cube", "material": "metal"},
        {"shape": "sphere", "material": "rubber"},
    ]
    assert ref_smallest(objects, 0, ["shape", "material"]) == 2
    for seed in range(20):
        out = constrain_linking(objects, 0, ["shape", "material"], 1, CHOICES,
                                np.random.default_rng(seed))
        changed = sum(o[k] != n[k] for o, n in zip(objects, out) for k in o)
        assert changed == 1
        assert ref_smallest(out, 0, ["shape", "material"]) == 1


def test_constrain_linking_twin_for_none():
    objects = [
        {"shape": "cube", "material": "rubber", "size": "large", "color": "red"},
        {"shape": "sphere", "material": "metal", "size": "large", "color": "blue"},
        {"shape": "cube", "material": "metal", "size": "small", "color": "red"},
    ]
    out = constrain_linking(objects, 0, ["shape", "material", "size", "color"], None, CHOICES,
                            np.random.default_rng(0), fixed=["color"])
    # Only object 2 shares the fixed colour, so it becomes the twin with two edits.
    assert out[1] == objects[1]
    assert out[2] == {**objects[0]}
    assert minimal_linking_sets(out, 0, ["shape", "material", "size", "color"]) == []


def test_constrain_linking_is_deterministic():
    objects = clevr_objects(np.random.default_rng(11), 9)
    runs = [constrain_linking(objects, 3, ["shape", "material", "size"], 3, CHOICES,
                              np.random.default_rng(42)) for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("count", "attributes", "size", "fixed", "match"), [
    (4, ["shape", "size"], 3, (), r"2 attributes and 3 other objects allow at most 2"),
    (3, ["shape", "size", "material"], 3, (), r"allow at most 2"),
    (3, ["shape"], 0, (), r"size 0"),
    (1, ["shape"], 1, (), r"lone object"),
    (1, ["shape"], None, (), r"lone object"),
])
def test_constrain_linking_impossible_requests(count, attributes, size, fixed, match):
    objects = clevr_objects(np.random.default_rng(0), count)
    with pytest.raises(ConstructionError, match=match):
        constrain_linking(objects, 0, attributes, size, CHOICES, np.random.default_rng(0),
                          fixed=fixed)


def test_constrain_linking_impossible_with_fixed_attributes():
    objects = [{"shape": "cube", "color": "red"}, {"shape": "cube", "color": "blue"},
               {"shape": "sphere", "color": "green"}]
    # The fixed colour alone singles out object 0, so no size but 1 is reachable.
    with pytest.raises(ConstructionError, match=r"size 2 over .* in 25 tries"):
        constrain_linking(objects, 0, ["shape", "color"], 2, CHOICES, np.random.default_rng(0),
                          fixed=["color"], max_tries=25)
    with pytest.raises(ConstructionError, match=r"differs from it on a fixed attribute"):
        constrain_linking(objects, 0, ["shape", "color"], None, CHOICES,
                          np.random.default_rng(0), fixed=["color"])
    assert constrain_linking(objects, 0, ["shape", "color"], 1, CHOICES,
                             np.random.default_rng(0), fixed=["color"]) == objects


def test_constrain_linking_bad_arguments():
    objects = clevr_objects(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match="choices"):
        constrain_linking(objects, 0, ["shape", "weight"], 1, CHOICES, np.random.default_rng(0))
    with pytest.raises(ValueError, match="size"):
        constrain_linking(objects, 0, ["shape"], -1, CHOICES, np.random.default_rng(0))
    with pytest.raises(IndexError):
        constrain_linking(objects, 3, ["shape"], 1, CHOICES, np.random.default_rng(0))


def test_constrain_linking_on_float_attributes_with_precision():
    objects = [{"w": 0.7, "k": "a"}, {"w": 0.701, "k": "a"}, {"w": 0.35, "k": "b"}]
    out = constrain_linking(objects, 0, ["w", "k"], 1, {"w": [0.7, 0.35], "k": ["a", "b"]},
                            np.random.default_rng(0), precision=2)
    assert minimal_linking_sets(objects, 0, ["w", "k"], precision=2) == []
    assert len(minimal_linking_sets(out, 0, ["w", "k"], precision=2)[0]) == 1
    assert out[1]["w"] == 0.35 or out[1]["k"] == "b"
