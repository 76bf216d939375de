"""The interactive explorer (:mod:`backproplab.explorer`) built beside the report, in ``explorer/``.

Its runs are a finished study like the others (``<results>/explorer-<key>/page``), reused when the
settings match. It shows :func:`~backproplab.explorer.runs.default_specs` on moons (the handout's
network per activation and hidden size, item 1e); quick mode trains each for at most
:data:`QUICK_PASSES` passes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

from backproplab.experiments.store import Result, run_or_reuse
from backproplab.io import write_text
from backproplab.report.context import ReportContext
from backproplab.report.html import Raw

QUICK_PASSES = 300
#: Part 1's data set: the explorer beside the report shows the networks of item 1e.
DATASET = "moons"
FOLDER = "explorer"


def run(ctx: ReportContext) -> Result:
    """The finished explorer page under ``ctx.results_dir`` (trained now when missing)."""
    from backproplab.explorer import build_explorer, default_specs

    specs = [dataclasses.replace(s, seed=ctx.seed) for s in default_specs() if s.dataset == DATASET]
    if ctx.quick:
        specs = [dataclasses.replace(s, passes=min(s.passes, QUICK_PASSES)) for s in specs]
    settings = {"specs": [dataclasses.asdict(s) for s in specs]}

    def compute(config, folder):
        build_explorer(folder / "page", specs, progress=ctx.progress)
        return {"runs": len(specs)}, {}

    return run_or_reuse(ctx.results_dir, "explorer", settings, compute, rerun=ctx.rerun)


def copy_into(result: Result, ctx: ReportContext) -> Raw:
    """Copy the page into the report folder, rendered anew over its recorded runs; return a link to it.

    The settings key a result by its runs, not by the page's code: a reused result's ``index.html`` may come
    from an older backproplab, so the page is rendered from ``runs.json`` with this build's code.
    """
    from backproplab.explorer.page import render_page

    target = ctx.out_dir / FOLDER
    shutil.copytree(result.folder / "page", target)
    recorded = json.loads((target / "runs.json").read_text(encoding="utf-8"))
    write_text(target / "index.html", render_page(recorded["datasets"], recorded["runs"]))
    return Raw(f'<a href="{FOLDER}/index.html">the interactive explorer</a>')
