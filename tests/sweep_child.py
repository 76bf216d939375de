"""A real `backproplab sweep` process on the small synthetic data of :mod:`sweep_data`, for tests that
signal it or its workers, or fill its disk.

    python tests/sweep_child.py SWEEP-ARGS...

``SWEEP_TEST_ENOSPC=1`` in the environment: every atomic write in the worker processes fails with
ENOSPC (a full disk where the runs are written; see :func:`sweep_data.small`).
"""

from __future__ import annotations

import dataclasses
import sys

from backproplab import cli
from backproplab.commands import sweep

DATA = "sweep_data:small"


def main() -> int:
    spec_from_args = sweep.spec_from_args
    sweep.spec_from_args = lambda args: dataclasses.replace(spec_from_args(args), data=DATA)
    return cli.main(["sweep", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
