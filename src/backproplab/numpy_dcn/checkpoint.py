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


def load(path: Path, model: dict[str, np.ndarray], params: list[np.ndarray]) -> dict[str, Any]:
    """Read and check a checkpoint against the network's ``model`` state (names, shapes, dtypes) and
    the optimizer's ``params``. Returns ``meta`` with ``model``, ``optimizer`` (``{"t", "state"}``)
    and ``data`` (a full iterator state) filled in."""
    try:
        archive = np.load(path, allow_pickle=False)
        lone = not isinstance(archive, np.lib.npyio.NpzFile)  # a .npy file holds one array
        if not lone:
            with archive:
                arrays = {name: archive[name] for name in archive.files}
    except OSError as exc:
        raise UsageError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except (ValueError, zipfile.BadZipFile, EOFError, KeyError, TypeError) as exc:
        # a pickle is refused here, before any of it is read
        why = "holds pickled data, which is never loaded" if "pickle" in str(exc) else "is damaged"
        raise runs.damaged_checkpoint(path, f"{why} (not a numpy-engine checkpoint)") from None
    if lone:
        raise runs.damaged_checkpoint(path, "is not a numpy-engine checkpoint (one array, not an .npz archive)")
    if "meta" not in arrays:
        raise runs.damaged_checkpoint(path, "is not a numpy-engine checkpoint (no 'meta' entry)")
    meta = _read_meta(path, arrays.pop("meta"))
    state = {name: arrays.pop(f"model/{name}", None) for name in model}
    for name, expected in model.items():
        got = state[name]
        if got is None:
            raise runs.damaged_checkpoint(path, f"lacks the weights {name}")
        if got.shape != expected.shape or got.dtype != expected.dtype:
            raise runs.damaged_checkpoint(
                path, f"does not match this network ({name}: {got.shape} {got.dtype} vs {expected.shape})"
            )
    slots: list[dict[str, np.ndarray]] = [{} for _ in params]
    permutation = arrays.pop("data/permutation", None)
    for key, value in arrays.items():
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != "optimizer" or not parts[1].isdigit() or int(parts[1]) >= len(params):
            raise runs.damaged_checkpoint(path, f"has an unknown entry {key!r}")
        p = params[int(parts[1])]
        if value.shape != p.shape or value.dtype != p.dtype:
            raise runs.damaged_checkpoint(
                path, f"has an optimizer buffer {key} of shape {value.shape}, its parameter {p.shape}"
            )
        slots[int(parts[1])][parts[2]] = value
    if permutation is None or permutation.ndim != 1 or permutation.dtype.kind not in "iu":
        raise runs.damaged_checkpoint(path, "lacks the batch order (data/permutation)")
    meta["model"] = state
    meta["optimizer"] = {"t": meta.pop("optimizer_t"), "state": slots}
    meta["data"] = {**meta["data"], "permutation": permutation}
    return meta


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
    if meta["step"] < 0 or meta["optimizer_t"] < 0:
        raise runs.damaged_checkpoint(path, "has a negative step count")
    return meta
