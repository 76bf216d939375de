"""Report section: TensorBoard's own dashboards (scalars, histograms, HParams parallel coordinates),
screenshotted over the report's finished runs when Debian's ``chromium`` is present.

The build starts TensorBoard on 127.0.0.1 (a free port) over the results folder, opens each
dashboard in headless chromium (driven by Playwright pointed at the system browser; never a
browser download), waits up to :data:`WAIT_SECONDS` for it to draw, and saves a screenshot.
Without chromium, or in quick mode (it costs about half a minute), the section says how to open
the same views. Nothing is trained here. The screenshots are kept as a study of their own
(``tensorboard-<key>/`` in the results folder, keyed by the event files they show), so a second
build over unchanged runs reuses them instead of starting TensorBoard again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from backproplab import hints
from backproplab.experiments.store import Result, run_or_reuse
from backproplab.report.context import ReportContext
from backproplab.report.html import Section, code, markup

ANCHOR = "tensorboard"
#: (dashboard, what it shows); the URL fragment is the dashboard's name.
DASHBOARDS = (
    ("scalars", "every run's scalars: loss, validation and test error, per-layer min/max/mean/std"),
    ("histograms", "per-layer histograms of weights, net inputs and activations over training"),
    ("hparams", "the sweep's HParams dashboard, parallel coordinates view: one line per setting"),
)
WAIT_SECONDS = 12.0
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


STUDY = "tensorboard"


def shown(ctx: ReportContext) -> tuple[Path, tuple[str, ...]]:
    """(the folder TensorBoard is started over, the dashboards photographed): every run in the results
    folder and all of :data:`DASHBOARDS`; with a learner's network, their DCN run's scalars and
    histograms only (one run has no HParams)."""
    if ctx.implementation is not None:
        return ctx.tensorboard_logdir or ctx.results_dir, ("scalars", "histograms")
    return ctx.results_dir, tuple(name for name, _ in DASHBOARDS)


def _logdir_of(folder: Path) -> str | None:
    try:
        return json.loads((folder / "config.json").read_text())["logdir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run(ctx: ReportContext) -> Result:
    """The screenshots of the other sections' runs in ``ctx.results_dir`` (taken now, or reused when
    those runs' event files are unchanged); an empty result in quick mode or without chromium."""
    if ctx.quick or not available():
        return Result(ctx.results_dir, {}, {})
    logdir, names = shown(ctx)
    where = Path(os.path.relpath(logdir, ctx.results_dir)).as_posix()
    settings = {"events": events_fingerprint(logdir), "dashboards": list(names), "logdir": where}

    def compute(config: dict[str, Any], folder: Path) -> tuple[dict[str, Any], dict]:
        taken = screenshots(logdir, folder, names)
        for old in ctx.results_dir.glob(f"{STUDY}-*"):  # earlier builds' views of the same runs since replaced
            if old != folder and old.is_dir() and _logdir_of(old) in (where, None):
                shutil.rmtree(old, ignore_errors=True)
        return {"screenshots": sorted(taken)}, {}

    return run_or_reuse(ctx.results_dir, STUDY, settings, compute, rerun=ctx.rerun)


def events_fingerprint(logdir: Path) -> str:
    """A hash of every TensorBoard event file under ``logdir`` (path, size, modification time)."""
    digest = hashlib.sha256()
    for path in sorted(logdir.rglob("events.out.tfevents.*")):
        info = path.stat()
        digest.update(f"{path.relative_to(logdir).as_posix()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def available() -> bool:
    """Whether this machine can take the screenshots (system chromium and Playwright)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return shutil.which("chromium") is not None


def screenshots(
    logdir: Path, out_dir: Path, names: tuple[str, ...] | None = None, wait: float = WAIT_SECONDS
) -> dict[str, Path]:
    """Screenshot the dashboards ``names`` (default: all of :data:`DASHBOARDS`) of TensorBoard over
    ``logdir`` into ``out_dir/<name>.png``."""
    from playwright.sync_api import sync_playwright

    from backproplab.tensorboard_server import start

    out_dir.mkdir(parents=True, exist_ok=True)
    url, stop = start(logdir, port=0, load_fast=False)
    taken: dict[str, Path] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                for name in names or [n for n, _ in DASHBOARDS]:
                    page.goto(f"{url.rstrip('/')}/#{name}", wait_until="load")
                    _settle(page, name, wait)
                    path = out_dir / f"{name}.png"
                    page.screenshot(path=str(path))
                    taken[name] = path
            finally:
                browser.close()
    finally:
        stop()
    return taken


def _settle(page, name: str, wait: float) -> None:
    """Wait until the dashboard has drawn something (charts or the parallel-coordinates view)."""
    deadline = time.monotonic() + wait
    if name == "hparams":
        try:
            page.get_by_text("Parallel Coordinates View").click(timeout=wait * 1000)
        except Exception:  # an older or newer TensorBoard: keep the table view
            pass
    selector = {"scalars": "canvas, svg", "histograms": "svg", "hparams": "svg, table"}[name]
    try:
        page.wait_for_selector(selector, timeout=max(0.5, deadline - time.monotonic()) * 1000)
    except Exception:
        pass
    page.wait_for_timeout(min(2000, max(0, (deadline - time.monotonic()) * 1000)))


def render(result: Result, ctx: ReportContext) -> Section:
    section = Section("TensorBoard's own views", ANCHOR)
    folder, names = shown(ctx)
    logdir = ctx.relative(folder)
    choose = (
        "SCALARS, HISTOGRAMS or HPARAMS (then PARALLEL COORDINATES VIEW)"
        if "hparams" in names
        else ("SCALARS or HISTOGRAMS")
    )
    how = markup(
        "Open them with ",
        code(hints.tensorboard(logdir)),
        f" (the path is relative to this page's folder) and choose {choose} at the top of the page.",
    )
    if ctx.implementation is not None:
        section.paragraph(
            f"These views show the learner's DCN run only (the dcn section's, from {ctx.implementation.folder}): "
            "every tag is one their network logged."
        )
    if ctx.quick or not available():
        why = "quick mode skips them" if ctx.quick else "this machine has no chromium to take them"
        section.paragraph(markup(f"Screenshots of TensorBoard's dashboards are not in this build ({why}). ", how))
        ctx.metrics["tensorboard"] = {"screenshots": []}
        return section
    taken = [name for name in result.metrics.get("screenshots", []) if (result.folder / f"{name}.png").is_file()]
    for name in taken:
        path, _ = ctx.figure(f"tensorboard/{name}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.folder / f"{name}.png", path)
    section.paragraph(
        markup(
            "TensorBoard itself, started by the build on 127.0.0.1 over "
            + ("the learner's run" if ctx.implementation is not None else "this report's runs")
            + " and photographed in headless chromium (the figures above are drawn from the same event files). ",
            how,
        )
    )
    for name, caption in DASHBOARDS:
        if name in taken:
            _, src = ctx.figure(f"tensorboard/{name}.png")
            section.figure(src, f"TensorBoard, {name}: {caption}.")
    ctx.metrics["tensorboard"] = {"screenshots": sorted(taken)}
    return section
