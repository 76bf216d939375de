"""Checkpoints that resume a run exactly: weights, optimizer, every random state and the data order.

A checkpoint is one ``torch.save`` file written atomically, loadable with
``torch.load(path, weights_only=True)``: it holds only tensors, numbers, strings, lists and
dicts. NumPy arrays in the batch iterator's state are stored as tensors and converted back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backproplab.errors import UsageError
from backproplab.io import save_with

CHECKPOINT_NAME = "checkpoint.pt"
_ARRAY = "__ndarray__"


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


def restore_random_states(states: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(states["torch"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, NumPy arrays, nested dicts/lists) to ``path`` atomically."""
    return save_with(path, lambda tmp: torch.save(to_safe(state), tmp))


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no checkpoint at {path}; run without --resume to start this run afresh")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise UsageError(f"cannot read checkpoint {path} ({type(exc).__name__}: {exc})") from exc
    return from_safe(state)
