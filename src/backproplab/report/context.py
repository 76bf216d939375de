"""What every report section gets: where to write, how thorough to be, and a place to record numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ReportContext:
    """``out_dir`` holds index.html; figures go to ``out_dir/figures``; ``quick`` shortens every run
    (for tests and previews); ``metrics`` collects each section's numbers for ``metrics.json``."""

    out_dir: Path
    quick: bool = False
    progress: bool = True
    seed: int = 0
    data_dir: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def figures_dir(self) -> Path:
        return self.out_dir / "figures"

    def figure(self, name: str) -> tuple[Path, str]:
        """(absolute path to write, relative src for the page) of figure ``name``."""
        return self.figures_dir / name, f"figures/{name}"
