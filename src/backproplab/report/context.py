"""What every report section gets: where to write, where finished results live, and how to record answers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backproplab.report.html import Text


@dataclass
class ReportContext:
    """``out_dir``: the folder being written (a temporary sibling of ``final_dir`` until the build ends);
    figures go to ``out_dir/figures``. ``final_dir``: where the page will live (paths on the page are
    relative to it). ``results_dir``: the finished experiments. ``quick`` picks the shortened studies, ``full``
    the course-length ones (the sweep at 5,500 steps with the learning-rate search and two seeds).
    ``course_sweep``: a finished course sweep the 2c section compares its ranking with.
    ``metrics`` collects each section's numbers for ``metrics.json``; ``answers`` the one-line answer
    per assignment item (``"1a"``...) for the map at the top of the page."""

    out_dir: Path
    final_dir: Path
    results_dir: Path
    quick: bool = False
    full: bool = False
    progress: bool = True
    seed: int = 0
    data_dir: Path | None = None
    rerun: bool = False
    #: a learner's network to run instead of the reference's (``report --implementation``)
    implementation: Any = None
    #: the folder TensorBoard's views show (None: every run in ``results_dir``); with a learner's
    #: network, the dcn section sets its run's folder
    tensorboard_logdir: Path | None = None
    #: a finished ``sweep --preset course`` folder whose ranking 2c sets beside its own (``report --course-sweep``)
    course_sweep: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Text] = field(default_factory=dict)

    @property
    def figures_dir(self) -> Path:
        return self.out_dir / "figures"

    def figure(self, name: str) -> tuple[Path, str]:
        """(path to write, relative src for the page) of figure ``name``."""
        return self.figures_dir / name, f"figures/{name}"

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` as seen from the page's folder (never an absolute path on the page)."""
        return Path(os.path.relpath(Path(path).resolve(), self.final_dir.resolve())).as_posix()

    def answer(self, item: str, text: Text) -> None:
        """The one-line answer to assignment item ``item`` shown in the map at the top."""
        self.answers[item] = text
