"""The NumPy engine's checkpoint: one ``checkpoint.npz`` read with ``allow_pickle=False``, so a
crafted file can never run code.

Layout (every entry a plain numeric array)::

    model/<name>           the parameters by the DCN's names (conv1_w, ..., fc2_b)
    optimizer/<i>/<slot>   the optimizer's buffers of parameter i (m, v, velocity...; not its scratch)
    data/permutation       the batch iterator's current permutation (int64)
    meta                   UTF-8 JSON as uint8: format, engine, step, config, optimizer step count,
                           the network's generator state (dropout), the iterator's other state,
                           the evaluation history, wall seconds, the divergence watch's state

:func:`load` checks the format, the entries and their types and shapes against the network and
optimizer it restores into; every problem is a one-line :class:`UsageError` in our words.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import runs
from backproplab.errors import UsageError
from backproplab.io import save_with

NAME = "checkpoint.npz"
FORMAT = 2  # format 1 was a pickle, which this version refuses to read
ENGINE = "numpy"
#: Optimizer buffers that are scratch space, not state: left out of the file.
_SCRATCH = frozenset({"tmp"})
#: Every entry of ``meta`` and the type its value must have.
META_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "engine": str,
    "step": int,
    "config": dict,
    "optimizer_t": int,
    "rng": dict,
    "data": dict,
    "history": list,
    "wall_seconds": (int, float),
    "watch": dict,
}


def save(
    path: Path, meta: dict[str, Any], model: dict[str, np.ndarray], optimizer_state: dict[str, Any], data: dict
) -> Path:
    """Write a checkpoint atomically. ``meta``: the JSON entries of :data:`META_KEYS` except
    ``format``, ``engine``, ``optimizer_t`` and ``data`` (given here); ``model``: the parameters;
    ``optimizer_state``: ``{"t": int, "state": [dict of arrays per parameter]}``; ``data``: the
    iterator's :meth:`state_dict`."""
    arrays = {f"model/{name}": value for name, value in model.items()}
    for i, slots in enumerate(optimizer_state["state"]):
        arrays |= {f"optimizer/{i}/{slot}": value for slot, value in slots.items() if slot not in _SCRATCH}
    arrays["data/permutation"] = np.asarray(data["permutation"], dtype=np.int64)
    rest = {key: value for key, value in data.items() if key != "permutation"}
    document = {**meta, "format": FORMAT, "engine": ENGINE, "optimizer_t": optimizer_state["t"], "data": rest}
    arrays["meta"] = np.frombuffer(json.dumps(document).encode("utf-8"), dtype=np.uint8)
    return save_with(path, lambda tmp: _savez(tmp, arrays))


def _savez(tmp: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to the temporary's name
        np.savez(handle, **arrays)


#: The most bytes the entries whose size the network does not fix may declare: ``meta`` (JSON: settings,
#: history) and the batch order (int64 per training image). An .npy header is a few hundred bytes.
META_MAX_BYTES = 64 * 2**20
PERMUTATION_MAX = 2**24
_HEADER_MAX = 65_536
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def load(path: Path, model: dict[str, np.ndarray], params: list[np.ndarray]) -> dict[str, Any]:
    """Read and check a checkpoint against the network's ``model`` state (names, shapes, dtypes) and
    the optimizer's ``params``. Returns ``meta`` with ``model``, ``optimizer`` (``{"t", "state"}``)
    and ``data`` (a full iterator state) filled in.

    Every entry is checked before it is decompressed: its name and declared size from the archive's
    directory, then its dtype and shape from its .npy header; a crafted file can demand no more
    memory than the network's own arrays (and the bounded ``meta`` and batch order)."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
            if magic.startswith(b"\x93NUMPY"):
                raise runs.damaged_checkpoint(path, "is not a numpy-engine checkpoint (one array, not an .npz archive)")
            if not magic.startswith(_ZIP_MAGIC):
                why = "holds pickled data, which is never loaded" if magic[:1] == b"\x80" else "is damaged"
                raise runs.damaged_checkpoint(path, f"{why} (not a numpy-engine checkpoint)")
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                arrays = _read_checked(path, archive, model, params)
    except OSError as exc:
        raise UsageError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except (ValueError, zipfile.BadZipFile, EOFError, KeyError, TypeError, NotImplementedError) as exc:
        if isinstance(exc, UsageError):
            raise
        raise runs.damaged_checkpoint(path, "is damaged (not a numpy-engine checkpoint)") from None
    meta = arrays.pop("meta")
    slots: list[dict[str, np.ndarray]] = [{} for _ in params]
    for key, value in arrays.items():
        if key.startswith("optimizer/"):
            _, index, slot = key.split("/")
            slots[int(index)][slot] = value
    meta["model"] = {name: arrays[f"model/{name}"] for name in model}
    meta["optimizer"] = {"t": meta.pop("optimizer_t"), "state": slots}
    meta["data"] = {**meta["data"], "permutation": arrays["data/permutation"]}
    return meta


def _expected(
    key: str, model: dict[str, np.ndarray], params: list[np.ndarray]
) -> tuple[np.dtype | None, tuple[int, ...] | None, int] | None:
    """(dtype, shape, most bytes) an entry named ``key`` must have (None: any of its kind), or None
    when no checkpoint holds such an entry."""
    parts = key.split("/")
    if key == "meta":
        return np.dtype(np.uint8), None, META_MAX_BYTES
    if key == "data/permutation":
        return None, None, PERMUTATION_MAX * 8
    if len(parts) == 2 and parts[0] == "model" and parts[1] in model:
        return model[parts[1]].dtype, model[parts[1]].shape, model[parts[1]].nbytes
    if len(parts) == 3 and parts[0] == "optimizer" and parts[1].isdigit() and int(parts[1]) < len(params):
        if parts[2].isidentifier() and parts[2] not in _SCRATCH:
            p = params[int(parts[1])]
            return p.dtype, p.shape, p.nbytes
    return None


def _read_checked(
    path: Path, archive: zipfile.ZipFile, model: dict[str, np.ndarray], params: list[np.ndarray]
) -> dict[str, Any]:
    """Every entry of ``archive`` checked (directory, then header) and read; ``meta`` decoded and checked."""
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        key = info.filename.removesuffix(".npy")
        expected = _expected(key, model, params) if info.filename.endswith(".npy") else None
        if expected is None or key in infos:
            raise runs.damaged_checkpoint(path, f"has an unknown entry {key!r}")
        if info.file_size > expected[2] + _HEADER_MAX:
            raise runs.damaged_checkpoint(
                path, f"has an entry {key!r} of {info.file_size:,} bytes, more than it can hold ({expected[2]:,})"
            )
        infos[key] = info
    if "meta" not in infos:
        raise runs.damaged_checkpoint(path, "is not a numpy-engine checkpoint (no 'meta' entry)")
    for name in model:
        if f"model/{name}" not in infos:
            raise runs.damaged_checkpoint(path, f"lacks the weights {name}")
    if "data/permutation" not in infos:
        raise runs.damaged_checkpoint(path, "lacks the batch order (data/permutation)")
    arrays: dict[str, Any] = {"meta": _read_meta(path, _read_entry(path, archive, infos["meta"], "meta"))}
    for key, info in infos.items():
        if key == "meta":
            continue
        dtype, shape, _ = _expected(key, model, params)  # type: ignore[misc]
        array = _read_entry(path, archive, info, key, dtype, shape)
        if key == "data/permutation" and (array.ndim != 1 or array.dtype.kind not in "iu"):
            raise runs.damaged_checkpoint(path, "lacks the batch order (data/permutation)")
        arrays[key] = array
    return arrays


def _read_entry(
    path: Path,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    key: str,
    dtype: np.dtype | None = None,
    shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """One .npy entry: its header checked (no objects; ``dtype`` and ``shape`` where given; no more
    data than the directory declares) before its data is decompressed."""
    fmt = np.lib.format
    with archive.open(info) as stream:
        version = fmt.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise runs.damaged_checkpoint(path, f"has a damaged entry {key!r}")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        got_shape, fortran, got_dtype = read_header(stream, max_header_size=_HEADER_MAX)
        if got_dtype.hasobject:
            raise runs.damaged_checkpoint(path, "holds pickled data, which is never loaded")
        if (dtype is not None and got_dtype != dtype) or (shape is not None and tuple(got_shape) != tuple(shape)):
            what = "an optimizer buffer" if key.startswith("optimizer/") else "a damaged entry"
            if key.startswith("model/"):
                raise runs.damaged_checkpoint(
                    path, f"does not match this network ({key[6:]}: {got_shape} {got_dtype} vs {shape})"
                )
            raise runs.damaged_checkpoint(path, f"has {what} {key} of shape {got_shape} {got_dtype}, expected {shape}")
        size = int(np.prod(got_shape, dtype=np.int64)) * got_dtype.itemsize
        if size > info.file_size:
            raise runs.damaged_checkpoint(path, f"has a damaged entry {key!r} (shorter than its header says)")
        data = stream.read(size)
    if len(data) != size:
        raise runs.damaged_checkpoint(path, f"has a damaged entry {key!r} (shorter than its header says)")
    array = np.frombuffer(bytearray(data), dtype=got_dtype)
    return array.reshape(got_shape, order="F" if fortran else "C")


def _read_meta(path: Path, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise runs.damaged_checkpoint(path, "has a damaged 'meta' entry")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise runs.damaged_checkpoint(path, "has a damaged 'meta' entry (not JSON)") from None
    if not isinstance(meta, dict) or meta.get("engine") != ENGINE:
        raise runs.damaged_checkpoint(path, "is not a numpy-engine checkpoint")
    if meta.get("format") != FORMAT:
        raise runs.damaged_checkpoint(path, f"has format {meta.get('format')!r}; this version reads format {FORMAT}")
    runs.check_entries(path, meta, META_KEYS)
    runs.check_run_state(path, meta)
    if meta["step"] < 0 or meta["optimizer_t"] < 0:
        raise runs.damaged_checkpoint(path, "has a negative step count")
    return meta
