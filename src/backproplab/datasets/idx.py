"""The IDX file format of MNIST and Fashion-MNIST: read (gzip-compressed or raw) and write.

An IDX file is a big-endian header followed by the array's bytes in C order::

    0x00 0x00 <type code> <number of dimensions d>   the "magic number", e.g. 0x00000803
    d x uint32                                       the size of each dimension
    data                                             prod(sizes) items of the type

MNIST uses type 0x08 (unsigned byte): images are ``0x00000803`` (N, rows, cols), labels
``0x00000801`` (N,). Every parse goes through ``np.frombuffer`` (no Python loop over items), and
every way a file can be damaged raises :class:`IDXError` naming the file and the problem, never a
NumPy reshape error.
"""

from __future__ import annotations

import itertools
import math
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from backproplab.errors import UsageError

# IDX type code -> dtype (multi-byte types are big-endian in the file).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions: (N, rows, cols)
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension: (N,)
GZIP_MAGIC = b"\x1f\x8b"
# No IDX file is read or decompressed past this size unless a caller allows more (MNIST's largest
# file, the training images, is 47 MB decompressed); the known files pass their exact sizes.
MAX_IDX_BYTES = 1 << 30
_CHUNK = 1 << 20
_MAX_HEADER = 4 + 4 * 255  # magic number + up to 255 dimension sizes
_DAMAGED = "the file is damaged or not what it claims to be; delete it and download or copy it again"


class IDXError(UsageError):
    """A data file that is not a well-formed IDX file of the expected kind (the message names it)."""


def read_file_bytes(
    path: str | os.PathLike[str], max_size: int = MAX_IDX_BYTES, expected_magic: int | None = None
) -> bytes:
    """The IDX bytes of ``path``, decompressed if the file is gzip (told by its content, not its name).

    At most ``max_size`` bytes are ever produced (see :func:`decompress`, also for
    ``expected_magic``). Raises :class:`IDXError`
    for a damaged or oversized file and ``OSError`` (e.g. ``FileNotFoundError``,
    ``PermissionError``) when it cannot be read.
    """
    path = Path(path)
    with path.open("rb") as stream:
        head = stream.read(2)
        if head == GZIP_MAGIC:
            chunks = itertools.chain([head], iter(lambda: stream.read(_CHUNK), b""))
            return _inflate(chunks, str(path), max_size, expected_magic)
        size = os.fstat(stream.fileno()).st_size
        if size > max_size:
            raise IDXError(f"{path}: {size} bytes, more than the {max_size} this file can hold: {_DAMAGED}")
        return head + stream.read()


def decode_bytes(raw: bytes, source: str, max_size: int = MAX_IDX_BYTES, expected_magic: int | None = None) -> bytes:
    """``raw`` decompressed if it is gzip, else unchanged; ``source`` names it in error messages."""
    if raw[:2] == GZIP_MAGIC:
        return decompress(raw, source, max_size, expected_magic)
    if len(raw) > max_size:
        raise IDXError(f"{source}: {len(raw)} bytes, more than the {max_size} this file can hold: {_DAMAGED}")
    return raw


def decompress(raw: bytes, source: str, max_size: int = MAX_IDX_BYTES, expected_magic: int | None = None) -> bytes:
    """Decompress gzip bytes ``raw`` read from ``source`` (a name for error messages).

    Decompression stops as soon as the output passes ``max_size`` bytes or the size that the IDX
    header at its start announces, whichever is smaller, so a small archive that would expand to
    gigabytes (a "gzip bomb") fails after at most that much output, with an :class:`IDXError`.
    Content that does not start with an IDX magic number (``expected_magic`` when given) fails
    after its first four bytes, with the message :func:`parse_idx` would give.
    """
    view = memoryview(raw)
    return _inflate((view[i : i + _CHUNK] for i in range(0, len(raw), _CHUNK)), source, max_size, expected_magic)


def announced_size(head: bytes) -> int | None:
    """The total file size (header + data) that an IDX header announces, or None if ``head`` is too
    short to tell or is not an IDX header."""
    if not _is_idx_magic(head):
        return None
    header = 4 + 4 * head[3]
    if len(head) < header:
        return None
    dims = struct.unpack(f">{head[3]}I", head[4:header])
    return header + math.prod(dims) * IDX_DTYPES[head[2]].itemsize


def _is_idx_magic(head: bytes) -> bool:
    return len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in IDX_DTYPES and head[3] > 0


def _inflate(
    chunks: Iterable[bytes | memoryview], source: str, max_size: int, expected_magic: int | None = None
) -> bytes:
    """Decompress a gzip stream (one or more members) given as ``chunks``, never producing more than
    ``max_size`` bytes, nor more than the IDX header announces (plus one byte, to tell "too long")."""
    limit = max_size  # lowered to the announced size once the header is out
    checked_header = False
    pieces: list[bytes] = []
    size = 0
    inflater = zlib.decompressobj(wbits=31)
    fed = 0
    try:
        for chunk in chunks:
            fed += len(chunk)
            data = chunk
            while data:
                if inflater.eof:  # another gzip member follows (or trailing garbage, which zlib refuses)
                    inflater = zlib.decompressobj(wbits=31)
                # Until the header is out, inflate no more than the longest header; max_length >= 1
                # always (0 would mean "no limit").
                want = limit + 1 - size if checked_header else max(1, min(limit + 1, _MAX_HEADER) - size)
                piece = inflater.decompress(data, want)
                pieces.append(piece)
                size += len(piece)
                if not checked_header and size >= 4:
                    head = b"".join(pieces)
                    check_magic(head, source, expected_magic)
                    announced = announced_size(head)
                    checked_header = announced is not None
                    if announced is not None and announced > max_size:
                        raise IDXError(
                            f"{source}: the IDX header announces {announced} bytes, more than the {max_size} "
                            f"this file can hold: {_DAMAGED}"
                        )
                    limit = min(limit, announced or limit)
                if size > limit:
                    what = "the IDX header announces" if checked_header else "this file can hold"
                    raise IDXError(
                        f"{source}: the gzip archive expands past the {limit} bytes {what} "
                        f"(decompression stopped there): {_DAMAGED}"
                    )
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    except zlib.error as exc:
        raise IDXError(f"{source}: damaged gzip archive ({exc}); delete it and download or copy it again") from exc
    if not inflater.eof:
        raise IDXError(
            f"{source}: truncated gzip archive (the compressed stream ends early, "
            f"{fed} bytes on disk): the file is damaged; delete it and download or copy it again"
        )
    return b"".join(pieces)


def magic_name(magic: int) -> str:
    """A readable description of an IDX magic number, e.g. ``0x00000803 (uint8, 3 dimensions)``."""
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if magic >> 16 == 0 and code in IDX_DTYPES:
        return f"0x{magic:08X} ({IDX_DTYPES[code].name}, {ndim} dimension{'s' if ndim != 1 else ''})"
    return f"0x{magic:08X}"


def check_magic(head: bytes, source: str, expected_magic: int | None = None) -> None:
    """Raise :class:`IDXError` unless ``head`` (at least 4 bytes) starts with an IDX magic number,
    and with ``expected_magic`` itself when given."""
    magic = int.from_bytes(head[:4], "big")
    well_formed = _is_idx_magic(head)
    if expected_magic is not None and magic != expected_magic:
        kind = "is not an IDX file" if not well_formed else "is an IDX file of another kind"
        raise IDXError(
            f"{source}: wrong magic number {magic_name(magic)}, expected {magic_name(expected_magic)}: "
            f"the file {kind} (damaged, or another file under this name)"
        )
    if not well_formed:
        raise IDXError(f"{source}: wrong magic number 0x{magic:08X}: not an IDX file")


def parse_idx(data: bytes, source: str = "<bytes>", expected_magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an IDX file into a read-only array of the stored shape and dtype.

    ``expected_magic`` (e.g. :data:`IMAGES_MAGIC`) rejects a well-formed file of another kind.
    The data must fill the file exactly: a short file is "truncated", extra bytes are an error too.
    """
    if len(data) < 4:
        raise IDXError(f"{source}: truncated: {len(data)} bytes, too short for an IDX header")
    check_magic(data, source, expected_magic)
    code, ndim = data[2], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{source}: truncated: {len(data)} bytes, the header alone needs {header}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[code]
    count = math.prod(dims)
    expected = header + count * dtype.itemsize
    shape = "x".join(map(str, dims))
    if len(data) < expected:
        raise IDXError(
            f"{source}: truncated: the header announces {shape} items ({expected} bytes) "
            f"but the file holds {len(data)} bytes"
        )
    if len(data) > expected:
        raise IDXError(
            f"{source}: {len(data) - expected} unexpected bytes after the {shape} items the header announces"
        )
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)


def parse_images(data: bytes, source: str = "<bytes>", image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Images from IDX bytes: (N, rows, cols) uint8; ``image_shape`` (rows, cols) is checked if given."""
    images = parse_idx(data, source, IMAGES_MAGIC)
    if image_shape is not None and images.shape[1:] != tuple(image_shape):
        got = "x".join(map(str, images.shape[1:]))
        want = "x".join(map(str, image_shape))
        raise IDXError(f"{source}: wrong image size {got}, expected {want}")
    return images


def parse_labels(data: bytes, source: str = "<bytes>", num_classes: int | None = None) -> np.ndarray:
    """Labels from IDX bytes: (N,) uint8; with ``num_classes``, every label must be below it."""
    labels = parse_idx(data, source, LABELS_MAGIC)
    if num_classes is not None and labels.size and int(labels.max()) >= num_classes:
        bad = int(np.flatnonzero(labels >= num_classes)[0])
        raise IDXError(
            f"{source}: label {int(labels[bad])} at index {bad} is out of range "
            f"(expected 0..{num_classes - 1}): the file is damaged"
        )
    return labels


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an IDX file (the inverse of :func:`parse_idx`)."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder(">"): code for code, dtype in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder(">"))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {[d.name for d in IDX_DTYPES.values()]}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
