"""Atomic writes: file and folder modes as a plain open() would give them, and strict JSON."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from backproplab import io


@pytest.fixture
def umask():
    """Set the process umask for one test (restored afterwards); returns the setter."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plain_open_mode(directory: Path) -> int:
    """The mode the system gives a file made by a plain open() (the independent reference)."""
    reference = directory / "reference-made-by-open"
    with open(reference, "w") as handle:
        handle.write("x")
    return mode(reference)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o027, 0o002])
def test_atomic_files_get_the_mode_of_a_plain_open(tmp_path, umask, mask):
    umask(mask)
    expected = plain_open_mode(tmp_path)
    assert expected == 0o666 & ~mask
    assert io.current_umask() == mask
    written = [
        io.write_text(tmp_path / "a.txt", "hello"),
        io.write_bytes(tmp_path / "b.bin", b"\x00"),
        io.write_json(tmp_path / "c.json", {"x": 1}),
        io.save_with(tmp_path / "d.npy", lambda tmp: np.save(tmp, np.zeros(2))),
    ]
    assert {p.name: oct(mode(p)) for p in written} == {p.name: oct(expected) for p in written}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_usual_umask_gives_0644_files_and_0755_folders(tmp_path, umask):
    umask(0o022)
    path = io.write_text(tmp_path / "new" / "nested" / "index.html", "<p>hi</p>")
    assert oct(mode(path)) == oct(0o644)
    assert oct(mode(tmp_path / "new")) == oct(mode(tmp_path / "new" / "nested")) == oct(0o755)
    umask(0o027)
    io.write_text(tmp_path / "other" / "f.txt", "x")
    assert oct(mode(tmp_path / "other")) == oct(0o750)


def test_rewriting_an_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "metrics.json"
    path.write_text("{}")
    path.chmod(0o600)  # the owner chose private: a plain open("w") would keep that
    io.write_json(path, {"a": 1})
    assert oct(mode(path)) == oct(0o600)
    path.chmod(0o664)
    io.write_json(path, {"a": 2})
    assert oct(mode(path)) == oct(0o664) and json.loads(path.read_text()) == {"a": 2}


def _reject_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


def strict_load(path: Path):
    """json.loads that refuses NaN, Infinity and -Infinity (as browsers and strict parsers do)."""
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)


def test_write_json_writes_non_finite_numbers_as_null(tmp_path):
    obj = {
        "loss": float("nan"),
        "best": math.inf,
        "worst": -math.inf,
        "curve": [0.5, float("nan"), np.float32("inf"), 0.1],
        "array": np.array([[1.0, np.nan], [np.inf, -2.5]]),
        "scalar": np.float64("nan"),
        "pair": (np.int64(3), np.float16("-inf")),
        "nested": {"deep": [{"x": float("nan")}]},
        "fine": {"int": 2**60, "float": 0.1, "path": Path("runs/x"), "flag": np.bool_(True), "none": None},
    }
    path = io.write_json(tmp_path / "metrics.json", obj)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert strict_load(path) == {
        "loss": None,
        "best": None,
        "worst": None,
        "curve": [0.5, None, None, 0.1],
        "array": [[1.0, None], [None, -2.5]],
        "scalar": None,
        "pair": [3, None],
        "nested": {"deep": [{"x": None}]},
        "fine": {"int": 2**60, "float": 0.1, "path": "runs/x", "flag": True, "none": None},
    }


def test_write_json_refuses_what_json_cannot_hold_and_leaves_nothing(tmp_path):
    with pytest.raises(TypeError, match="cannot write object to JSON"):
        io.write_json(tmp_path / "bad.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []
