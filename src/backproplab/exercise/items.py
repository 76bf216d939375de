"""The exercise's items in the assignment's order, with their points: the one table grading reads."""

from __future__ import annotations

from dataclasses import dataclass

from backproplab.registry import Registry


@dataclass(frozen=True)
class Item:
    """One checked item: ``name`` as the assignment numbers it, what it checks, its points, its part."""

    name: str
    title: str
    points: float
    part: int


ITEMS: Registry[Item] = Registry(
    "exercise item",
    {
        item.name: item
        for item in (
            Item("1b", "activations and their derivatives (actFun, diff_actFun)", 10, 1),
            Item("1c", "feedforward and loss (feedforward, calculate_loss)", 20, 1),
            Item("1d", "backprop, against finite differences and the reference", 30, 1),
            Item("1e", "training (fit_model)", 15, 1),
            Item("1f", "Layer and DeepNeuralNetwork with L2", 25, 1),
            Item("2a", "the DCN's layers and network (PyTorch)", 20, 2),
            Item("2a-step", "one training step (forward_backward)", 15, 2),
            Item("2b", "the monitored tensors under their TensorBoard tags", 15, 2),
        )
    },
)

#: The statuses an item can end with; only "passed" earns its points.
STATUSES = ("passed", "not started", "failed")


def items_of_part(part: str) -> list[str]:
    """The item names of ``part`` ("1", "2" or "all"), in the assignment's order."""
    if part == "all":
        return ITEMS.names()
    return [name for name, item in ITEMS.items() if str(item.part) == part]


def max_score(names: list[str] | None = None) -> float:
    """The points of the named items (all when None)."""
    return float(sum(ITEMS[n].points for n in (names or ITEMS.names())))
