"""Progress bars for long work (tqdm), switched off cleanly for tests and library use."""

from __future__ import annotations

from typing import Any


def progress_bar(total: int, enabled: bool = True, **kwargs: Any) -> Any:
    """A ``tqdm`` bar over ``total`` units, or ``None`` when ``enabled`` is false.

    Keyword arguments go to tqdm (``desc``, ``unit``...). The bar redraws at most twice a second
    so that it costs nothing measurable inside a training loop.
    """
    if not enabled:
        return None
    from tqdm.auto import tqdm

    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(total=total, **kwargs)
