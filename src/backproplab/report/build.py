"""Run the experiments and assemble the HTML report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backproplab import __version__
from backproplab.errors import UsageError
from backproplab.io import write_json, write_text
from backproplab.registry import Registry
from backproplab.report.context import ReportContext
from backproplab.report.dcn import dcn_section
from backproplab.report.deep import deep_section
from backproplab.report.html import Section, render_page
from backproplab.report.moons import moons_section

SECTIONS: Registry[Callable[[ReportContext], Section]] = Registry(
    "report section", {"moons": moons_section, "deep": deep_section, "dcn": dcn_section}
)


def build_report(
    out_dir: str | Path,
    *,
    sections: Sequence[str] | None = None,
    quick: bool = False,
    progress: bool = True,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Run the chosen sections (all by default) and write ``index.html`` and ``metrics.json`` to ``out_dir``."""
    names = SECTIONS.names() if sections is None else [SECTIONS.canonical(n) for n in sections]
    if not names:
        raise UsageError(f"no report section chosen; choose from: {SECTIONS.choices_text()}")
    ctx = ReportContext(
        Path(out_dir), quick=quick, progress=progress, seed=seed, data_dir=Path(data_dir) if data_dir else None
    )
    if "dcn" in names:  # find (or fetch) MNIST before any experiment runs, so a missing file fails fast
        from backproplab.datasets import mnist

        mnist.fetch(ctx.data_dir, progress=progress)
    ctx.figures_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rendered = [SECTIONS[name](ctx) for name in names]
    seconds = time.perf_counter() - start
    meta = (
        f"backproplab {__version__}, built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s"
        f"{' (quick mode: shortened runs)' if quick else ''}; seed {seed}."
    )
    page = render_page(
        "backproplab: how neural networks learn",
        "Every number and figure on this page was computed by the experiments it describes, when the page was built.",
        rendered,
        meta,
    )
    write_json(
        ctx.out_dir / "metrics.json",
        {"sections": names, "quick": quick, "seed": seed, "seconds": seconds, **ctx.metrics},
    )
    write_text(ctx.out_dir / "index.html", page)
    return ctx.metrics
