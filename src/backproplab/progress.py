"""Progress for long work: a tqdm bar on a terminal, plain lines in a pipe or a file.

A bar redraws itself with carriage returns, which a log keeps as thousands of redraws on one line;
so where the output is not a terminal, progress is a line when a stage starts, one every
:data:`LINE_INTERVAL` seconds while it runs, and one when it ends::

    sweep: 0/20 run (0%)
    sweep: 7/20 run (35%), 02:10 elapsed, ETA 04:01, 41.0 steps/s
    sweep: 20/20 run (100%) done in 06:12, 41.3 steps/s
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

#: Seconds between two progress lines of one stage in a log.
LINE_INTERVAL = 30.0


def progress_bar(total: int | None, enabled: bool = True, **kwargs: Any) -> Any:
    """Progress over ``total`` units: a ``tqdm`` bar on a terminal, a :class:`LineProgress` elsewhere,
    ``None`` when ``enabled`` is false.

    Keyword arguments are tqdm's (``desc``, ``unit``, ``initial``, ``unit_scale``, ``leave``, ``file``...).
    The bar redraws at most twice a second so that it costs nothing measurable inside a training loop.
    """
    if not enabled:
        return None
    stream = kwargs.get("file") or sys.stderr
    if not _is_terminal(stream):
        return LineProgress(total, **kwargs)
    from tqdm.auto import tqdm

    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(total=total, **kwargs)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LineProgress:
    """The part of tqdm's interface the project uses, written as plain lines (see the module docstring)."""

    def __init__(
        self,
        total: int | None,
        desc: str | None = None,
        unit: str = "it",
        initial: int = 0,
        unit_scale: bool = False,
        file: IO[str] | None = None,
        interval: float = LINE_INTERVAL,
        **_tqdm_only: Any,  # mininterval, leave, dynamic_ncols...: drawing details of a bar
    ) -> None:
        self.total, self.n, self.desc, self.unit = total, initial, desc or "progress", unit
        self.unit_scale, self.file, self.interval = unit_scale, file, interval
        self.postfix = ""
        self._start = time.monotonic()
        self._initial = initial
        self._closed = False
        self._line(self._count(), self._start)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last_line >= self.interval:
            self._line(self._status(now), now)

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{key}={_short(value)}" for key, value in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or self.desc

    def refresh(self) -> None:
        """A bar redraws here; a line waits for its interval (see :meth:`update`)."""

    def write(self, s: str, file: IO[str] | None = None) -> None:
        print(s, file=file or self._stream(), flush=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        now = time.monotonic()
        final = [part for part in self.postfix.split(", ") if part and not part.startswith("ETA")]  # 0 s left
        self._line(", ".join([f"{self._count()} done in {_duration(now - self._start)}", *final]), now)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ text

    def _stream(self) -> IO[str]:
        return self.file or sys.stderr

    def _line(self, text: str, now: float) -> None:
        self._last_line = now
        print(f"{self.desc}: {text}", file=self._stream(), flush=True)

    def _amount(self, value: float) -> str:
        if self.unit_scale:
            from tqdm import tqdm

            return tqdm.format_sizeof(value)
        return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"

    def _count(self) -> str:
        done = self._amount(self.n)
        if not self.total:
            return f"{done} {self.unit}"
        return f"{done}/{self._amount(self.total)} {self.unit} ({100 * self.n / self.total:.0f}%)"

    def _status(self, now: float) -> str:
        elapsed = now - self._start
        parts = [self._count(), f"{_duration(elapsed)} elapsed"]
        done_now = self.n - self._initial
        # A caller that knows better gives its own ETA (the sweep's counts steps, not runs).
        if self.total and 0 < done_now and self.n < self.total and "ETA" not in self.postfix:
            parts.append(f"ETA {_duration(elapsed / done_now * (self.total - self.n))}")
        if self.postfix:
            parts.append(self.postfix)
        return ", ".join(parts)


def _duration(seconds: float) -> str:
    """``75`` -> ``01:15``, ``3725`` -> ``1:02:05``: tqdm's format, so a log reads like the bar."""
    from tqdm import tqdm

    return tqdm.format_interval(seconds)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
