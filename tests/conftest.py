"""Test-wide settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI replays the same examples on every run (a red CI then means a change broke something, not that
# a new random example was drawn); local runs keep exploring new examples and remember failures.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_report_header() -> str:
    """Name numpy's vector path in every run's header: pinned numbers depend on it (tests/test_vector_paths.py)."""
    from backproplab.hardware import describe_numpy_vector_path

    return describe_numpy_vector_path()


@pytest.fixture
def one_thread():
    """One torch thread and one BLAS thread for the test: the suite runs two workers on two cores, and
    oversubscribed threads spin instead of working."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)
