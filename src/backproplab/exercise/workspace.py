"""The learner's workspace on disk: written fresh (never over work), then found by check, pack and report."""

from __future__ import annotations

import json
from pathlib import Path

from backproplab import __version__
from backproplab.errors import UsageError
from backproplab.exercise.handout import PART_FILES, PARTS, THREE_LAYER, parts_of
from backproplab.exercise.items import items_of_part
from backproplab.exercise.starter import file_source, learner_readme
from backproplab.io import write_json, write_text

MARKER = ".backproplab-exercise.json"
README = "README.md"


def workspace_files(part: str) -> dict[str, str]:
    """File name -> text of a fresh workspace of ``part`` ("1", "2" or "all")."""
    files = {f.filename: file_source(f) for p in parts_of(part) for f in PARTS[p]()}
    files[README] = learner_readme(part)
    return files


def start_workspace(out: str | Path, part: str = "1") -> list[Path]:
    """Write a fresh workspace to ``out``; refuses a folder holding anything but an untouched starter."""
    out = Path(out)
    files = workspace_files(part)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a new folder for the workspace")
    if out.exists():
        for path in sorted(out.iterdir()):
            if path.name == MARKER:
                continue
            fresh = files.get(path.name)
            if fresh is None or not path.is_file() or path.read_text(errors="replace") != fresh:
                what = "has work in it" if fresh is not None else "holds other files"
                raise UsageError(f"--out {out} {what} ({path.name}); it is never overwritten: give a new folder")
    written = [write_text(out / name, text) for name, text in files.items()]
    write_json(out / MARKER, {"backproplab_exercise": __version__, "part": part, "items": items_of_part(part)})
    return written


def workspace_modules(folder: str | Path) -> list[str]:
    """The learner modules of the workspace at ``folder``; UsageError when it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; make a workspace with: backproplab exercise start --out {folder}")
    modules = [name for p in PART_FILES for name in PART_FILES[p] if (folder / name).is_file()]
    if not modules:
        raise UsageError(
            f"{folder} is not an exercise workspace (no {THREE_LAYER.filename} or dcn_mnist.py); "
            f"make one with: backproplab exercise start --out DIR"
        )
    return modules


def workspace_part(folder: str | Path) -> str:
    """The part the workspace was started for ("1" when it does not say)."""
    try:
        return str(json.loads((Path(folder) / MARKER).read_text())["part"])
    except (OSError, ValueError, KeyError, TypeError):
        return "1"
