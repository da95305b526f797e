"""Depth and normal maps as files (clevrlite.maps): scales, quantization, the 'nothing drawn'
value, and 16-bit PNGs that decode back exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clevrlite import maps, png


def test_depth_scale_is_a_millimetre_until_the_far_depth_needs_more():
    assert maps.depth_scale(np.array([[0.0, 12.5], [30.0, 65.5]])) == 0.001
    assert maps.depth_scale(np.array([[0.0, 65.6]])) == 0.002
    assert maps.depth_scale(np.array([[300.0]])) == 0.008  # 300 m / 8 mm = 37500 units
    assert maps.depth_scale(np.zeros((2, 2))) == 0.001


@pytest.mark.parametrize("far", [14.0, 65.0, 70.0, 400.0])
def test_depth_round_trips_through_a_16_bit_png_within_half_a_unit(far):
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.1, far, (31, 47)).astype(np.float32)
    depth[:5] = 0.0  # nothing drawn
    depth[5, :] = far
    scale = maps.depth_scale(depth)
    image = Image.open(io.BytesIO(png.encode_smooth16(maps.encode_depth(depth, scale))))
    assert image.mode == "I;16"
    back = maps.decode_depth(np.asarray(image), scale)
    assert np.abs(back - depth).max() <= scale / 2 + 1e-6
    assert np.array_equal(back == 0, depth == 0)


def test_a_drawn_depth_never_encodes_as_nothing():
    units = maps.encode_depth(np.array([[0.0, 0.0001, 0.0006]]), 0.001)
    assert units.tolist() == [[0, 1, 1]]


def test_smooth16_is_16_bit_even_for_small_values():
    image = Image.open(io.BytesIO(png.encode_smooth16(np.array([[0, 3], [7, 255]]))))
    assert image.mode == "I;16"
    assert np.asarray(image).tolist() == [[0, 3], [7, 255]]
    with pytest.raises(ValueError, match="shape"):
        png.encode_smooth16(np.zeros((2, 2, 3)))


def test_normals_decode_to_unit_vectors_and_nothing_drawn_to_zero():
    n = np.array([[0.0, 0.0, -1.0], [0.6, -0.8, 0.0], [0.48, 0.6, -0.64]])
    coded = np.rint((n + 1.0) / 2.0 * 255.0).astype(np.uint8)
    back = maps.decode_normals(np.vstack([coded, np.zeros((1, 3), np.uint8)]))
    assert np.abs(back[:3] - n).max() <= 1.0 / 255 + 1e-12
    assert back[3].tolist() == [0.0, 0.0, 0.0]
