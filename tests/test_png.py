"""clevrlite.png: what it writes decodes, with Pillow, to exactly the array it was given."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from clevrlite import png


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each chunk, checking every CRC on the way (as strict readers do)."""
    out, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind, payload = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        crc = int.from_bytes(data[at + 8 + length:at + 12 + length], "big")
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, kind
        out.append((kind, payload))
        at += 12 + length
    return out


def test_rgb_round_trips():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sizes, every byte value
    rgb[:10] = 128  # flat rows, where the sub filter gives zeros
    image = decode(png.encode(rgb))
    assert image.mode == "RGB"
    assert np.array_equal(np.asarray(image), rgb)


@pytest.mark.parametrize("top, mode", [(0, "L"), (255, "L"), (256, "I;16"), (65535, "I;16")])
def test_masks_round_trip_at_the_depth_they_need(top, mode):
    mask = np.zeros((20, 31), np.int32)
    mask[3:9, 4:20] = top
    mask[10:, 25:] = max(top // 2, 1) if top else 0
    data = png.encode(mask)
    image = decode(data)
    assert image.mode == mode
    assert np.array_equal(np.asarray(image).astype(np.int64), mask)
    header = dict(chunks(data))[b"IHDR"]
    assert header[8] == (16 if top > 255 else 8)  # bit depth


def test_stream_is_well_formed():
    data = png.encode(np.full((4, 4, 3), 7, np.uint8))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert [kind for kind, _ in chunks(data)] == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize("shape", [(4, 4, 4), (4,), (2, 2, 2, 3)])
def test_other_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="shape"):
        png.encode(np.zeros(shape, np.uint8))
