"""Pinned numbers hold on more than one of numpy's vector paths.

numpy dispatches kernels such as ``tanh`` and ``exp`` to the widest vector instructions the CPU has, and each
path rounds its last bit its own way; a long run amplifies that (the handout's 20,000 passes end at 0.07076 on
the AVX2 path and 0.07132 on the AVX-512 path of one machine). So every test that compares a computed number
with a fixed one carries the ``pins_numbers`` marker, and this test runs all of them again in a child process
with numpy's highest path switched off: a pin that holds on one path only fails wherever the suite runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.hardware import (
    NUMPY_DISABLE_VARIABLE,
    describe_numpy_vector_path,
    lower_vector_path,
    numpy_vector_path,
)

TESTS = Path(__file__).parent
HANDOUT_PIN = "tests/test_trainer.py::test_the_reference_loop_trains_the_handout_network_as_the_handout_did"


def pinning_files() -> list[str]:
    """The test files that use the marker: collecting only them keeps the child run short."""
    return sorted(str(f) for f in TESTS.glob("test_*.py") if "mark.pins_numbers" in f.read_text(encoding="utf-8"))


def lower_path_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    already_off = os.environ.get(NUMPY_DISABLE_VARIABLE, "").split()  # a suite run on a lowered path goes lower
    env[NUMPY_DISABLE_VARIABLE] = " ".join(dict.fromkeys([*already_off, *lower_vector_path()]))
    return env


def test_the_lower_path_switches_the_highest_targets_off() -> None:
    """In a child process under the lower path's setting, numpy reports exactly the remaining targets."""
    off = lower_vector_path()
    if not off:
        pytest.skip(f"numpy has no dispatched vector path on this CPU ({describe_numpy_vector_path()})")
    code = "from backproplab.hardware import numpy_vector_path; print(' '.join(numpy_vector_path()))"
    child = subprocess.run(
        [sys.executable, "-c", code], env=lower_path_env(), capture_output=True, text=True, check=True
    )
    assert child.stdout.split() == [t for t in numpy_vector_path() if t not in off]
    assert set(off) <= set(numpy_vector_path())


@pytest.mark.slow
@pytest.mark.timeout(420)  # a child pytest over the pinned tests: 70-110 s measured on 2 busy cores
def test_every_pinned_number_also_holds_on_the_next_lower_vector_path() -> None:
    off = lower_vector_path()
    if not off:
        pytest.skip(f"numpy has no dispatched vector path on this CPU ({describe_numpy_vector_path()})")
    command = [sys.executable, "-m", "pytest", "-m", "pins_numbers", "-p", "no:xdist", "-p", "no:cacheprovider",
               "-rA", *pinning_files()]  # fmt: skip
    child = subprocess.run(command, cwd=TESTS.parent, env=lower_path_env(), capture_output=True, text=True,
                           timeout=400)  # fmt: skip
    report = child.stdout + child.stderr
    assert child.returncode == 0, f"pinned numbers fail with {NUMPY_DISABLE_VARIABLE}={' '.join(off)}:\n{report}"
    header = next(line for line in report.splitlines() if line.startswith("numpy "))
    assert not set(off) & set(header.partition("dispatch ")[2].split()), header  # the child really ran lower
    passed = re.findall(r"^PASSED (\S+)", report, flags=re.MULTILINE)
    assert HANDOUT_PIN in passed, report  # the marker is where the pins are
    assert not re.search(r"^(SKIPPED|XFAIL|XPASS)", report, flags=re.MULTILINE), report
