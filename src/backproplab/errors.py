"""The exception types the command line turns into a one-line message."""

from __future__ import annotations

from typing import Any


class UsageError(ValueError):
    """A problem the user can fix: bad arguments, missing or damaged files.

    It is a ``ValueError`` so that library callers can catch bad input the usual way; the
    message names the problem and, where there is one, the fix.
    """


class TrainingDiverged(UsageError, ArithmeticError):
    """Training blew up (a non-finite loss, or one far above where it started), in either engine.

    A :class:`UsageError` (the fix is a setting: a smaller learning rate) and an ``ArithmeticError``
    (what it is). What was recorded up to the blow-up travels with it, so a diverged run can still
    write its curves: ``history`` (the NumPy trainer's history, ``diverged_at_pass`` included) and
    ``metrics`` (what the DCN wrote to ``metrics.json``); each is None where not given.
    """

    def __init__(
        self, message: str, metrics: dict[str, Any] | None = None, *, history: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.metrics = metrics
        self.history = history
