"""The IDX reader against bytes built by hand, and each kind of damaged file."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backproplab.datasets.idx import (
    IDX_DTYPES,
    IDXError,
    decompress,
    parse_idx,
    parse_images,
    parse_labels,
    read_file_bytes,
    to_idx_bytes,
)
from backproplab.errors import UsageError


def _images_bytes(n: int = 3, rows: int = 28, cols: int = 28, seed: int = 0) -> tuple[np.ndarray, bytes]:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    # The header written by hand (not by to_idx_bytes), as the format's specification states it.
    return pixels, struct.pack(">IIII", 0x803, n, rows, cols) + pixels.tobytes()


def test_parse_hand_built_labels_and_images():
    labels = parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]), "labels")
    assert labels.dtype == np.uint8 and labels.tolist() == [7, 2, 1]
    pixels, data = _images_bytes(n=2, rows=3, cols=4)
    images = parse_images(data, "images")
    assert images.shape == (2, 3, 4)
    np.testing.assert_array_equal(images, pixels)


def test_multibyte_types_are_big_endian():
    data = struct.pack(">BBBBI", 0, 0, 0x0C, 1, 2) + struct.pack(">ii", -5, 70000)
    assert parse_idx(data).tolist() == [-5, 70000]
    data = struct.pack(">BBBBII", 0, 0, 0x0D, 2, 1, 2) + struct.pack(">ff", 1.5, -2.25)
    assert parse_idx(data).tolist() == [[1.5, -2.25]]


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.dtype(d.str) for d in IDX_DTYPES.values()]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    )
)
def test_to_idx_bytes_round_trips(array):
    back = parse_idx(to_idx_bytes(array))
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_gzip_and_raw_files_parse_the_same(tmp_path):
    pixels, data = _images_bytes()
    (tmp_path / "raw").write_bytes(data)
    (tmp_path / "packed.gz").write_bytes(gzip.compress(data))
    (tmp_path / "packed-no-suffix").write_bytes(gzip.compress(data))  # told by content, not name
    for name in ("raw", "packed.gz", "packed-no-suffix"):
        np.testing.assert_array_equal(parse_images(read_file_bytes(tmp_path / name), name), pixels)


def test_wrong_magic_number_names_the_file_and_both_numbers():
    with pytest.raises(IDXError, match=r"f\.idx: wrong magic number 0x504B0304.*expected 0x00000803") as info:
        parse_images(b"PK\x03\x04" + bytes(100), "f.idx")
    assert "not an IDX file" in str(info.value)
    assert isinstance(info.value, UsageError)


def test_labels_file_where_images_belong_is_told_apart():
    with pytest.raises(IDXError, match=r"0x00000801 \(uint8, 1 dimension\).*another kind"):
        parse_images(to_idx_bytes(np.zeros(4, np.uint8)), "t10k-images")


def test_truncated_data_and_truncated_header():
    _, data = _images_bytes(n=3)
    with pytest.raises(IDXError, match=r"images: truncated: the header announces 3x28x28 .*2368 bytes"):
        parse_images(data[:-1], "images")
    with pytest.raises(IDXError, match="truncated: 9 bytes, the header alone needs 16"):
        parse_images(data[:9], "images")
    with pytest.raises(IDXError, match="too short for an IDX header"):
        parse_labels(b"\x00\x00", "labels")


def test_extra_bytes_after_the_data():
    with pytest.raises(IDXError, match="labels: 2 unexpected bytes after the 3 items"):
        parse_labels(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3, 4, 5]), "labels")


def test_wrong_image_size():
    _, data = _images_bytes(n=2, rows=32, cols=32)
    with pytest.raises(IDXError, match="img: wrong image size 32x32, expected 28x28"):
        parse_images(data, "img", (28, 28))


def test_label_out_of_range():
    with pytest.raises(IDXError, match="lab: label 12 at index 1 is out of range"):
        parse_labels(to_idx_bytes(np.array([3, 12, 4], np.uint8)), "lab", num_classes=10)


def test_truncated_and_corrupt_gzip_archives(tmp_path):
    _, data = _images_bytes(n=20)
    packed = gzip.compress(data)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(IDXError, match=r"cut\.gz: truncated gzip archive"):
        read_file_bytes(cut)
    flipped = bytearray(packed)
    flipped[len(packed) // 2] ^= 0xFF
    bad = tmp_path / "bad.gz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(IDXError, match=r"bad\.gz: (damaged|truncated) gzip archive"):
        read_file_bytes(bad)


def test_to_idx_bytes_rejects_unstorable_arrays():
    with pytest.raises(ValueError, match="cannot store dtype"):
        to_idx_bytes(np.zeros(3, np.uint16))


def _bomb(head: bytes, zeros: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join([packer.compress(head), *(packer.compress(block) for _ in range(zeros >> 20)), packer.flush()])


def test_decompression_stops_past_the_size_the_header_announces(tmp_path):
    bomb = _bomb(struct.pack(">II", 0x801, 10) + bytes(10), 32 << 20)  # 10 labels, then 32 MB more
    (tmp_path / "labels.gz").write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match=r"labels\.gz: the gzip archive expands past the 18 bytes the IDX header"):
            read_file_bytes(tmp_path / "labels.gz")
        with pytest.raises(IDXError, match="expands past the 18 bytes"):
            decompress(bomb, "in memory")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the 35 KB archive and a few MB of buffers, not 32 MB


def test_decompression_limits_without_a_usable_header():
    huge = struct.pack(">IIII", 0x803, 2**32 - 1, 28, 28)  # announces 3.4 TB
    with pytest.raises(IDXError, match=r"x: the IDX header announces 3367254359296 bytes, more than the 1073741824"):
        decompress(gzip.compress(huge), "x")
    with pytest.raises(IDXError, match="y: the IDX header announces 208 bytes, more than the 100 this file can hold"):
        decompress(gzip.compress(to_idx_bytes(np.zeros(200, np.uint8))), "y", max_size=100)
    with pytest.raises(IDXError, match=r"z: wrong magic number 0x504B0304: not an IDX file"):
        decompress(gzip.compress(b"PK\x03\x04" + bytes(1 << 20)), "z")
    assert decompress(gzip.compress(b"\x00\x00"), "short") == b"\x00\x00"  # parse_idx then says "too short"


def test_several_gzip_members_are_one_file():
    _, data = _images_bytes(n=4)
    packed = gzip.compress(data[:100]) + gzip.compress(data[100:])
    assert decompress(packed, "two members") == data
    with pytest.raises(IDXError, match="damaged gzip archive"):
        decompress(gzip.compress(data) + b"trailing junk", "junk")
