"""Claims a page makes from its numbers, sized to what the numbers can resolve."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


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


# Claims over seeds: a setting trained with several seeds is a spread, and two settings trained with the same
# seeds (same data order, same initial draw where the architecture matches) are compared seed by seed.

#: A paired gap is a finding when its mean exceeds this many standard errors (see :func:`paired_gap`).
RESOLVING_SE = 2.0
RULE = (
    "a gap between two values counts only where the mean over seeds of their paired difference (both trained "
    f"with the same seed) exceeds {RESOLVING_SE:g} × its standard error: with two seeds, both seeds put them in the "
    "same order and the smaller of the two gaps is more than a third of the larger. A rule of thumb, not a "
    "significance test"
)


@dataclass(frozen=True)
class Spread:
    """One setting's number over its seeds: ``std`` is the sample std (ddof 1, NaN below two seeds)."""

    mean: float
    std: float
    low: float
    high: float
    seeds: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-safe (NaN -> None), keyed ``mean std min max seeds``."""
        raw = {"mean": self.mean, "std": self.std, "min": self.low, "max": self.high}
        return {**{k: v if math.isfinite(v) else None for k, v in raw.items()}, "seeds": self.seeds}


def spread(values: Iterable[float | None]) -> Spread:
    """The :class:`Spread` of the finite ``values`` (None, NaN and inf, e.g. a diverged run, are left out)."""
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not len(finite):
        return Spread(math.nan, math.nan, math.nan, math.nan, 0)
    std = float(finite.std(ddof=1)) if len(finite) >= 2 else math.nan
    return Spread(float(finite.mean()), std, float(finite.min()), float(finite.max()), len(finite))


@dataclass(frozen=True)
class PairedGap:
    """``b - a`` over the seeds both have: ``mean`` and its standard error ``se`` (NaN below two pairs)."""

    mean: float
    se: float
    pairs: int

    @property
    def resolved(self) -> bool:
        """Whether the gap exceeds the noise by :data:`RULE` (never with fewer than two pairs)."""
        return self.pairs >= 2 and abs(self.mean) > RESOLVING_SE * self.se


def paired_gap(a: Mapping[Any, float | None], b: Mapping[Any, float | None]) -> PairedGap:
    """The paired difference ``b[seed] - a[seed]`` over the seeds where both are finite."""
    diffs = np.array(
        [
            b[s] - a[s]  # type: ignore[operator]
            for s in a
            if s in b and all(x is not None and math.isfinite(x) for x in (a[s], b[s]))
        ],
        dtype=float,
    )
    if not len(diffs):
        return PairedGap(math.nan, math.nan, 0)
    se = float(diffs.std(ddof=1) / math.sqrt(len(diffs))) if len(diffs) >= 2 else math.nan
    return PairedGap(float(diffs.mean()), se, len(diffs))


def gaps_to_lowest(by_seed: Mapping[str, Mapping[Any, float | None]]) -> tuple[str, dict[str, PairedGap]]:
    """(the value with the lowest mean, each other value's :class:`PairedGap` above it): ``by_seed`` maps a
    value to its number per seed (an error: lower is better)."""
    means = {v: spread(seeds.values()).mean for v, seeds in by_seed.items()}
    finite = {v: m for v, m in means.items() if math.isfinite(m)}
    if not finite:
        raise ValueError("no finite values to rank")
    lowest = min(finite, key=finite.__getitem__)
    return lowest, {v: paired_gap(by_seed[lowest], seeds) for v, seeds in by_seed.items() if v != lowest}


@dataclass(frozen=True)
class Finding:
    """What :data:`RULE` supports about the lowest value: ``tied`` (the lowest mean first, then each value whose
    paired gap to it does not pass), ``worse`` (higher by more than the noise), ``seeds`` (the most of a value)."""

    tied: tuple[Any, ...]
    worse: tuple[Any, ...]
    seeds: int

    def key(self) -> tuple[bool, frozenset[Any], frozenset[Any]]:
        """What a reader takes from it (order aside): two findings with one key say the same."""
        if self.seeds < 2:
            return False, frozenset(), frozenset()
        return True, frozenset(self.tied), frozenset(self.worse)


def lowest_finding(by_seed: Mapping[str, Mapping[Any, float | None]]) -> Finding:
    """The :class:`Finding` of ``by_seed`` (value -> seed -> an error, lower is better)."""
    lowest, gaps = gaps_to_lowest(by_seed)
    seeds = max(spread(s.values()).seeds for s in by_seed.values())
    tied = (lowest, *(v for v, g in gaps.items() if not g.resolved))
    return Finding(tied, tuple(v for v, g in gaps.items() if g.resolved), seeds)


def lowest_claim(by_seed: Mapping[str, Mapping[Any, float | None]], what: str = "test error") -> str:
    """What the numbers support about the lowest ``what``, by :data:`RULE`: one value resolved from all
    others, the values indistinguishable from the lowest, or none when one seed gives no spread to judge by."""
    finding = lowest_finding(by_seed)
    tied, worse, seeds, lowest = list(finding.tied), list(finding.worse), finding.seeds, finding.tied[0]
    if seeds < 2:
        return (
            f"one seed per value: no spread to size the gaps against, so no ranking is claimed ({lowest} has "
            f"the lowest {what} of this one draw)"
        )
    if not worse:
        count = "both" if len(tied) == 2 else f"all {len(tied)}"
        return f"{count} values are indistinguishable at this budget ({seeds} seeds)"
    if len(tied) == 1:
        return f"{lowest} has the lowest {what}, ahead of every other value by more than the noise ({seeds} seeds)"
    return (
        f"{', '.join(map(str, tied))} are indistinguishable at this budget for the lowest {what} ({seeds} seeds); "
        f"{', '.join(map(str, worse))} {'is' if len(worse) == 1 else 'are'} higher by more than the noise"
    )
