"""The import rule of CONTRIBUTING.md, read from the code: which package may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "backproplab"

#: package -> modules it must never import (a prefix matches its submodules too)
FORBIDDEN = {
    "numpy_dcn": ("torch", "backproplab.dcn"),
    "scratch": ("torch", "backproplab.dcn", "backproplab.numpy_dcn", "backproplab.mnist_net"),
    "mnist_net": ("torch", "backproplab.dcn", "backproplab.numpy_dcn"),
    "dcn": ("backproplab.numpy_dcn",),
}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_the_layout_allows(package) -> None:
    files = sorted((SRC / package).glob("*.py"))
    assert files, package
    for path in files:
        for module in imported_modules(path):
            for banned in FORBIDDEN[package]:
                assert not (module == banned or module.startswith(banned + ".")), f"{path.name} imports {module}"


def test_the_checker_sees_function_level_imports(tmp_path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from backproplab.dcn import training\n    import torch.nn\n")
    assert {"backproplab.dcn", "backproplab.dcn.training", "torch.nn"} <= imported_modules(source)
