"""`make mutants` (benchmarks/mutants.py) and its results page stay in step: the page's tables of the groups and
of what they leave out are the script's own, and every function it leaves out exists."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import mutants as script

ROOT = script.ROOT


def test_the_results_page_shows_the_scripts_groups_and_what_they_leave_out() -> None:
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert script.groups_table() in page, "rerun `python benchmarks/mutants.py --tables` into docs/results.md"
    assert script.left_out_table() in page, "rerun `python benchmarks/mutants.py --tables` into docs/results.md"


def test_every_left_out_function_and_test_file_exists() -> None:
    """A renamed function would stop the run only when its group starts (minutes in); a test file, never."""
    for spec in script.GROUPS.values():
        for entry in spec.left_out:
            path, _, name = entry.partition("::")
            assert (ROOT / path).is_file(), entry
            if name:
                tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
                names = {
                    f"{outer.name}.{inner.name}" if inner is not outer else outer.name
                    for outer in tree.body
                    if isinstance(outer, ast.FunctionDef | ast.ClassDef)
                    for inner in [outer, *(outer.body if isinstance(outer, ast.ClassDef) else [])]
                    if isinstance(inner, ast.FunctionDef | ast.ClassDef)
                }
                assert name in names, entry
        for test in [*spec.tests, *(t for t in spec.tests_left_out if t.endswith(".py"))]:
            assert (ROOT / test).is_file(), test


def test_a_deselected_test_name_matches_a_test_of_its_group() -> None:
    """A ``-k`` fragment that matches nothing would leave out nothing, silently (a renamed test)."""
    for spec in script.GROUPS.values():
        source = "\n".join((ROOT / t).read_text(encoding="utf-8") for t in spec.tests)
        for fragment in spec.tests_left_out:
            if not fragment.endswith(".py"):
                assert fragment in source, fragment
