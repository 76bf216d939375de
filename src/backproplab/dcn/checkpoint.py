"""Checkpoints that resume a run exactly: weights, optimizer, every random state and the data order.

A checkpoint is one ``torch.save`` file written atomically, loadable with
``torch.load(path, weights_only=True)``: it holds only tensors, numbers, strings, lists and
dicts. NumPy arrays in the batch iterator's state are stored as tensors and converted back.
:func:`load_checkpoint` checks the format version and the keys and their types; the training
code checks the shapes against the model it builds (:func:`check_model_state`). Every problem is
a one-line :class:`UsageError` in our own words (never torch's advice to load unsafely).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backproplab import runs
from backproplab.errors import UsageError
from backproplab.io import write_bytes

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
_ARRAY = "__ndarray__"
#: Every key of a checkpoint and the type its value must have.
CHECKPOINT_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "step": int,
    "config": dict,
    "model": dict,
    "optimizer": dict,
    "random": dict,
    "data": dict,
    "history": list,
    "wall_seconds": (int, float),
}


def to_safe(obj: Any) -> Any:
    """Replace NumPy arrays and scalars in a nested state by ``weights_only``-loadable values."""
    if isinstance(obj, np.ndarray):
        return {_ARRAY: torch.from_numpy(np.array(obj, copy=True)), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {key: to_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_safe(value) for value in obj)
    return obj


def from_safe(obj: Any) -> Any:
    """Inverse of :func:`to_safe`."""
    if isinstance(obj, dict):
        if _ARRAY in obj:
            return obj[_ARRAY].numpy().astype(obj["dtype"], copy=False)
        return {key: from_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(from_safe(value) for value in obj)
    return obj


def random_states(device: torch.device) -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_random_states(path: Path, states: dict[str, Any], device: torch.device) -> None:
    """Put back the random states of :func:`random_states` from the checkpoint at ``path`` (checked: a wrong
    one is :class:`~backproplab.runs.DamagedCheckpoint`, whose way out a sweep words as its own)."""
    expected = torch.get_rng_state()
    state = states.get("torch")
    if not (isinstance(state, torch.Tensor) and state.dtype == expected.dtype and state.shape == expected.shape):
        raise runs.damaged_checkpoint(path, "has a damaged random state")
    torch.set_rng_state(state)
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, NumPy arrays, nested dicts/lists) to ``path`` atomically.

    Serialised in memory first and written by :mod:`backproplab.io`: a full disk is then an
    ``OSError`` naming the cause (torch's own file writer reports only ``basic_ios::clear``)."""
    buffer = io.BytesIO()
    torch.save(to_safe(state), buffer)
    return write_bytes(path, buffer.getbuffer())


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``), checking its
    format version and that every key of :data:`CHECKPOINT_KEYS` holds the right type."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError as exc:
        raise UsageError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # torch raises several types for damaged files; its message advises unsafe loading
        raise runs.damaged_checkpoint(
            path, f"is damaged or not a backproplab checkpoint ({type(exc).__name__})"
        ) from exc
    if not isinstance(state, dict):
        raise runs.damaged_checkpoint(path, "is not a backproplab checkpoint")
    if state.get("format") != CHECKPOINT_FORMAT:
        raise runs.damaged_checkpoint(
            path, f"has format {state.get('format')!r}; this version reads format {CHECKPOINT_FORMAT}"
        )
    runs.check_entries(path, state, CHECKPOINT_KEYS)
    runs.check_run_state(path, state)
    if state["step"] < 0 or any(not isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise runs.damaged_checkpoint(path, "has a damaged 'step' or 'model' entry")
    return from_safe(state)


def check_model_state(path: Path, saved: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    """Raise a one-line UsageError unless ``saved`` has exactly the names and shapes of ``expected``."""
    if saved.keys() != expected.keys():
        missing = sorted(expected.keys() - saved.keys()) or sorted(saved.keys() - expected.keys())
        raise runs.damaged_checkpoint(path, f"does not match this network (weights {', '.join(missing)} differ)")
    for name, tensor in expected.items():
        if saved[name].shape != tensor.shape:
            raise runs.damaged_checkpoint(
                path, f"does not match this network ({name}: {tuple(saved[name].shape)} vs {tuple(tensor.shape)})"
            )
