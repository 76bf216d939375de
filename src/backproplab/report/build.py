"""Assemble the HTML report: check the data, run (or reuse) each section's experiments, render the
finished results into a temporary sibling folder, and swap it in only when the page is complete.

A section is a :class:`ReportSection`: ``run(ctx)`` returns its finished study (an
:class:`~backproplab.experiments.store.Result`, trained now or reused from ``ctx.results_dir``) and
``render(result, ctx)`` draws figures and writes prose from that result alone. Add one to
:data:`SECTIONS` to put it on the page; its ``items`` are the assignment items it answers.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backproplab import __version__, outputs, runs
from backproplab.checks import named
from backproplab.errors import UsageError
from backproplab.experiments.store import Result
from backproplab.io import write_json, write_text
from backproplab.registry import Registry
from backproplab.report import convnet, dcn, deep, moons, sweeps, tensorboard_views
from backproplab.report import explorer as explorer_page
from backproplab.report.assignment import assignment_map
from backproplab.report.context import ReportContext
from backproplab.report.html import Section, data_uri_embed, markup, render_page
from backproplab.settings import int_range

#: NumPy and scikit-learn seeds are 32-bit, and the fresh 2-D test sets use seed + 1000.
MAX_SEED = 2**32 - 1001
#: The key in ``metrics.json`` that marks a folder as a report this command may replace.
MARKER = "backproplab_report"
COMMAND = "report"
#: Where the studies' finished results are kept by default: ``runs/report``.
DEFAULT_RESULTS_DIR = runs.default_root(COMMAND)


@dataclass(frozen=True)
class ReportSection:
    """One part of the page: how to get its finished results, and how to render them."""

    name: str
    run: Callable[[ReportContext], Result]
    render: Callable[[Result, ReportContext], Section]
    items: tuple[str, ...]
    needs_mnist: bool = False
    #: shows the other sections' runs, so its ``run`` comes after theirs (the page order is unchanged)
    shows_others: bool = False


SECTIONS: Registry[ReportSection] = Registry(
    "report section",
    {
        s.name: s
        for s in (
            ReportSection("moons", moons.run, moons.render, ("1a", "1b", "1c", "1d", "1e")),
            ReportSection("deep", deep.run, deep.render, ("1f",)),
            ReportSection("dcn", dcn.run, dcn.render, ("2a", "2b"), needs_mnist=True),
            ReportSection("sweeps", sweeps.run, sweeps.render, ("2c",), needs_mnist=True),
            ReportSection("tensorboard", tensorboard_views.run, tensorboard_views.render, (), shows_others=True),
            ReportSection("convnet", convnet.run, convnet.render, (), needs_mnist=True),
        )
    },
)


def section_names(sections: Sequence[str] | None) -> list[str]:
    """The chosen section names in page order (all when None); ValueError naming the valid ones otherwise."""
    names = SECTIONS.names() if sections is None else [SECTIONS.canonical(n) for n in sections]
    if not names:
        raise UsageError(f"no report section chosen; choose from: {SECTIONS.choices_text()}")
    return [n for n in SECTIONS.names() if n in names]


def check_data(names: Sequence[str], data_dir: str | os.PathLike[str] | None, progress: bool) -> None:
    """Every data file the chosen sections read is present (fetched if allowed) and matches its checksum."""
    if not any(SECTIONS[n].needs_mnist for n in names):
        return
    from backproplab.datasets import mnist

    mnist.require(data_dir, progress=progress)


def build_report(
    out_dir: str | Path,
    *,
    sections: Sequence[str] | None = None,
    quick: bool = False,
    full: bool = False,
    progress: bool = True,
    seed: int = 0,
    data_dir: str | Path | None = None,
    results_dir: str | Path | None = None,
    rerun: bool = False,
    single_file: bool = False,
    implementation: Any = None,
    course_sweep: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``index.html``, ``figures/`` and ``metrics.json`` to ``out_dir`` (replacing a previous report
    whole, or leaving it untouched if anything fails). Studies are reused from ``results_dir`` (default
    ``runs/report``) unless ``rerun``; ``quick``: shortened studies, ``full``: the sweep at the course's
    length with a learning-rate search and two seeds; ``single_file`` embeds the figures in the page.
    ``implementation``: a learner's network for part 1 (see :mod:`backproplab.exercise.implementation`).
    ``course_sweep``: a finished ``sweep --preset course`` folder whose ranking 2c sets beside its own (checked
    before anything trains). Returns the metrics."""
    if quick and full:
        raise UsageError("--quick and --full contradict each other; pass one of them")
    names = section_names(sections)
    seed = named(int_range(0, MAX_SEED), seed, "--seed")
    final = Path(out_dir)
    results = Path(results_dir) if results_dir is not None else DEFAULT_RESULTS_DIR
    outputs.check_writable(final, COMMAND, "report", ours=_is_report)
    outputs.check_not_inside(results, "--results", final, "--out")
    _remove_abandoned_builds(final)
    check_data(names, data_dir, progress)
    if course_sweep is not None:  # a wrong folder is refused now, not after hours of training
        from backproplab.report.sweep_budgets import check_course_sweep

        check_course_sweep(course_sweep, "quick" if quick else "full" if full else "default", seed)
    ctx = ReportContext(
        out_dir=final,
        final_dir=final,
        results_dir=results,
        quick=quick,
        full=full,
        progress=progress,
        seed=seed,
        data_dir=Path(data_dir) if data_dir else None,
        rerun=rerun,
        implementation=implementation,
        course_sweep=Path(course_sweep) if course_sweep is not None else None,
    )
    start = time.perf_counter()
    run_order = sorted(names, key=lambda name: SECTIONS[name].shows_others)
    studies = {name: SECTIONS[name].run(ctx) for name in run_order}  # all training happens here
    # the explorer (1e, interactive) sits beside the page; a single file to hand in goes without it
    explorer = explorer_page.run(ctx) if "moons" in names and not single_file and implementation is None else None
    final.parent.mkdir(parents=True, exist_ok=True)
    ctx.out_dir = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-{os.getpid()}-", dir=final.parent))
    try:
        os.chmod(ctx.out_dir, 0o777 & ~_umask())  # mkdtemp's 0700 would hide the report from others
        _write(ctx, names, studies, start, single_file, explorer)
        outputs.mark(ctx.out_dir, COMMAND)
        _swap_in(ctx.out_dir, final)
    except BaseException:
        shutil.rmtree(ctx.out_dir, ignore_errors=True)
        raise
    return ctx.metrics


def _write(
    ctx: ReportContext,
    names: list[str],
    results: dict[str, Result],
    start: float,
    single_file: bool,
    explorer: Result | None,
) -> None:
    ctx.figures_dir.mkdir()
    rendered = [SECTIONS[name].render(results[name], ctx) for name in names]
    intro = markup(
        "Every number and figure on this page comes from the recorded settings and metrics of the runs it describes."
    )
    if explorer is not None:
        link = explorer_page.copy_into(explorer, ctx)
        intro = markup(intro, " Watch the networks of part 1 train in ", link, " (offline, in this folder).")
        if "1e" in ctx.answers:
            ctx.answers["1e"] = markup(ctx.answers["1e"], "; watch them train in ", link)
    owners = {item: s.name for s in SECTIONS.values() for item in s.items}
    lead = assignment_map(ctx.answers, owners)
    seconds = time.perf_counter() - start
    reused = [n for n in names if results[n].reused]
    meta = (
        f"backproplab {__version__}, built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s"
        f"{' (quick mode: shortened runs)' if ctx.quick else ' (full mode)' if ctx.full else ''}; seed {ctx.seed}"
        + (f"; finished results reused for: {', '.join(reused)}" if reused else "")
        + "."
    )
    page = render_page(
        "backproplab: how neural networks learn",
        intro,
        rendered,
        meta,
        lead=lead,
        embed=data_uri_embed(ctx.out_dir) if single_file else str,
    )
    write_json(
        ctx.out_dir / "metrics.json",
        {
            MARKER: __version__,
            "sections": names,
            "quick": ctx.quick,
            "full": ctx.full,
            "seed": ctx.seed,
            "seconds": seconds,
            "results": {n: ctx.relative(results[n].folder) for n in names},
            **ctx.metrics,
        },
    )
    write_text(ctx.out_dir / "index.html", page)


def _is_report(folder: Path) -> bool:
    """A report built before reports carried the output mark (:mod:`backproplab.outputs`)."""
    try:
        return MARKER in json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def _remove_abandoned_builds(final: Path) -> None:
    """Delete the temporary folders beside ``final`` of builds whose process is gone (``kill -9``)."""
    for pattern in (f".{final.name}.building-*", f".{final.name}.old-*"):
        for folder in final.parent.glob(pattern):
            pid = folder.name.removeprefix(f".{final.name}.").split("-")[1]
            if folder.is_dir() and not folder.is_symlink() and not (pid.isdigit() and _alive(int(pid))):
                shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_in(built: Path, final: Path) -> None:
    """Replace ``final`` by ``built`` with two renames; the old report is deleted only after the swap."""
    if not final.exists():
        os.replace(built, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-{os.getpid()}-", dir=final.parent))
    try:
        os.replace(final, old / "report")
        os.replace(built, final)
    except BaseException:  # e.g. Ctrl-C between the two renames: put the previous report back
        if not final.exists() and (old / "report").exists():
            os.replace(old / "report", final)
        raise
    finally:
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
