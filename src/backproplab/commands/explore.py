"""``backproplab explore``: an offline page that replays real NumPy training runs pass by pass."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backproplab.datasets.registry import DATASETS, is_two_dimensional
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.trainer import DEFAULTS
from backproplab.settings import (
    Invalid,
    add_arguments,
    comma_list,
    common_help,
    given,
    int_range,
    parse_list,
    positive_float,
    quiet_setting,
    setting,
    validate,
)


def _networks(text: str) -> list[tuple[int, ...]]:
    """ "3;16,16" -> [(3,), (16, 16)]: networks separated by ';', layer widths by ','."""
    try:
        return [tuple(parse_list(part, int)) for part in text.split(";")]
    except Invalid:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of widths; use e.g. '3;16,16'") from None


def _check_networks(value: Any) -> list[tuple[int, ...]] | None:
    if value is None:
        return None
    if not value or any(not widths or min(widths) < 1 or max(widths) > 256 for widths in value):
        raise Invalid("every network needs hidden widths from 1 to 256")
    return [tuple(widths) for widths in value]


def _names_in(registry: Any, two_d: bool = False) -> Any:
    def check(value: Any) -> list[str] | None:
        if value is None:
            return None
        if not value or not all(value):
            raise Invalid("has an empty name; separate names with commas")
        names = [registry.canonical(name) for name in value]
        if two_d and not all(is_two_dimensional(name) for name in names):
            raise Invalid("the explorer draws the plane, so it needs 2-D data sets")
        return names

    return check


@dataclass
class ExploreConfig:
    """What the explorer trains; without ``dataset``/``hidden``/``activation`` the default runs."""

    out: Path = setting(Path("explorer"), common_help("--out"), parse=Path, metavar="DIR")
    dataset: list[str] | None = setting(
        None, "comma-separated 2-D data sets, e.g. moons,spirals", parse=comma_list(str, "moons,spirals"),
        check=_names_in(DATASETS, True), metavar="NAMES", default_text="the default runs",
    )  # fmt: skip
    hidden: list[tuple[int, ...]] | None = setting(
        None, "hidden widths: ';' between networks, ',' between layers, e.g. '3;16,16'", parse=_networks,
        check=_check_networks, metavar="WIDTHS", default_text="the default runs",
    )  # fmt: skip
    activation: list[str] | None = setting(
        None, "comma-separated activations, e.g. tanh,relu", parse=comma_list(str, "tanh,relu"),
        check=_names_in(ACTIVATIONS), metavar="NAMES", default_text="the default runs",
    )  # fmt: skip
    passes: int = setting(
        DEFAULTS.num_passes, "passes per run of a custom grid", check=int_range(1, 1_000_000), metavar="N"
    )
    epsilon: float = setting(DEFAULTS.epsilon, "learning rate of a custom grid", check=positive_float, metavar="RATE")
    snapshots: int = setting(40, "recorded passes per run (spaced geometrically)", check=int_range(2, 200))
    quiet: bool = quiet_setting()

    def __post_init__(self) -> None:
        validate(self)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explore",
        help="write an interactive offline page that replays NumPy training runs pass by pass",
        description="Train NumPy networks, record them at a few dozen passes, and write one self-contained "
        "OUT/index.html (no network needed) with a pass slider: the decision boundary, each first-layer unit, "
        "the weights and the loss curves. Without --dataset/--hidden/--activation: the handout's moons network "
        "for each activation and hidden size of the report, and deeper networks on spirals and circles. "
        "The page also trains live: its own engine, proven equal to the NumPy one, trains networks you set up "
        "there, on the 2-D data sets it generates.",
    )
    add_arguments(p, ExploreConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backproplab.explorer import build_explorer, default_specs, grid_specs

    config = ExploreConfig(**given(args, ExploreConfig))
    if config.dataset or config.hidden or config.activation:
        specs = grid_specs(
            config.dataset or ["moons"],
            config.hidden or [(3,)],
            config.activation or ["tanh"],
            config.passes,
            config.epsilon,
        )
    else:
        specs = default_specs()
    page = build_explorer(config.out, specs, snapshots=config.snapshots, progress=not config.quiet)
    print(f"explorer written to {page} ({page.stat().st_size / 1e6:.2f} MB, {len(specs)} runs); open it in a browser")
    return 0
