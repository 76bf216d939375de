"""An interactive, offline page that replays real NumPy training runs pass by pass and trains networks live
with an in-page engine equal to the NumPy one (``backproplab explore``)."""

from backproplab.explorer.page import build_explorer, render_page
from backproplab.explorer.runs import RunSpec, default_specs, grid_specs, snapshot_passes, train_run

__all__ = ["RunSpec", "build_explorer", "default_specs", "grid_specs", "render_page", "snapshot_passes", "train_run"]
