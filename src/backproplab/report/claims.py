"""Claims a page makes from its numbers, sized to what the numbers can resolve."""

from __future__ import annotations

from collections.abc import Mapping


def leaders(values: Mapping[str, float], resolution: float) -> list[str]:
    """The keys whose value is within ``resolution`` of the highest, in their given order.

    A gap of ``resolution`` or less is not a ranking: for training accuracy on N points, one point (1/N) is
    what numpy's vector path alone can move (the moons width-2 tanh network: 0.845 on AVX-512, 0.840 on AVX2).
    """
    if not values:
        raise ValueError("no values to rank")
    top = max(values.values())
    return [key for key, value in values.items() if value >= top - resolution * (1 + 1e-9)]


def highest_phrase(values: Mapping[str, float], resolution: float) -> str:
    """``"relu is highest"``; ``"relu, elu tie for highest"``; ``"all 6 tie"`` (leaders within ``resolution``)."""
    tied = leaders(values, resolution)
    if len(tied) == 1:
        return f"{tied[0]} is highest"
    return f"all {len(tied)} tie" if len(tied) == len(values) else f"{', '.join(tied)} tie for highest"


def leaders_phrase(values: Mapping[str, float], resolution: float, fmt: str = ".3f") -> str:
    """``"relu (0.980)"`` or ``"relu, elu, tanh (0.975-0.980)"``: the leaders with their value or range."""
    tied = leaders(values, resolution)
    low, high = min(values[k] for k in tied), max(values[k] for k in tied)
    span = f"{high:{fmt}}" if low == high else f"{low:{fmt}}–{high:{fmt}}"
    return f"{', '.join(tied)} ({span})"
