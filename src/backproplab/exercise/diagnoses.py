"""What is wrong with a learner's answer: errors against the reference, and the common mistake that explains it.

A check computes the reference's answer and, for each common mistake, what the reference would
give had it made that mistake (a *variant*, computed with the reference's own classes). The
learner's answer is compared with the reference first; when it fails, the first variant it
matches names the mistake. Errors are cs231n's relative error (:func:`~backproplab.scratch.rel_error`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backproplab.scratch.gradcheck import rel_error

#: Below this relative error an answer equals the reference (same maths, other rounding: ~1e-14).
PASS_TOLERANCE = 1e-6
#: Below this an answer matches a mistake's variant.
MATCH_TOLERANCE = 1e-6


class NotStarted(Exception):
    """The item's function still raises the starter's NotImplementedError."""


@dataclass
class Failed(Exception):
    """An item failed: one line saying what, details (errors per array), the diagnosis when one explains it."""

    summary: str
    details: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    errors: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.summary


def as_array(value: object, name: str) -> np.ndarray:
    """``value`` as a float64 array; Failed when it is None or not numbers."""
    if value is None:
        raise Failed(f"{name} is None: a missing return statement?")
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failed(f"{name} is not an array of numbers (got {type(value).__name__})") from None


def worst_entry(yours: np.ndarray, reference: np.ndarray) -> tuple[int, ...]:
    """The index of the entry with the largest relative error (rel_error's terms, entry by entry)."""
    if yours.size == 0:
        return ()
    with np.errstate(invalid="ignore"):
        per_entry = np.abs(yours - reference) / np.maximum(1e-8, np.abs(yours) + np.abs(reference))
    per_entry = np.where(np.isnan(per_entry), np.inf, per_entry)
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(per_entry)), yours.shape))


def _index_text(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def compare(
    name: str, yours: np.ndarray, reference: np.ndarray, numeric: np.ndarray | None = None
) -> tuple[float, dict[str, Any], str]:
    """(error vs reference, the record for --json, one line for people) of one array of the same shape."""
    ref_err = rel_error(yours, reference)
    num_err = None if numeric is None else rel_error(yours, numeric)
    index = worst_entry(yours, reference)
    record = {
        "vs_reference": ref_err,
        "vs_finite_differences": num_err,
        "worst_entry": list(index),
        "yours": float(yours[index]) if yours.size else None,
        "reference": float(reference[index]) if reference.size else None,
    }
    line = f"{name}: relative error {ref_err:.1e} vs the reference"
    if num_err is not None:
        line += f", {num_err:.1e} vs finite differences of your calculate_loss"
    if ref_err >= PASS_TOLERANCE and yours.size:
        line += f"; largest at {_index_text(name, index)}: yours {yours[index]:.6g}, reference {reference[index]:.6g}"
    return ref_err, record, line


def matches(yours: Sequence[np.ndarray], variant: Sequence[np.ndarray]) -> bool:
    """Every array of ``yours`` equals the variant's (same shapes, relative error below MATCH_TOLERANCE)."""
    if len(yours) != len(variant):
        return False
    return all(
        a.shape == np.shape(b) and rel_error(a, np.asarray(b)) < MATCH_TOLERANCE
        for a, b in zip(yours, variant, strict=True)
    )


def first_match(yours: Sequence[np.ndarray], variants: Mapping[str, Sequence[np.ndarray]]) -> str | None:
    """The diagnosis of the first variant ``yours`` matches, else None."""
    return next((text for text, variant in variants.items() if matches(yours, variant)), None)


def scaled_variants(reference: Sequence[np.ndarray], n: int, what: str) -> dict[str, list[np.ndarray]]:
    """The sign and sum-vs-mean mistakes: the reference times -1, 1/N and N."""
    return {
        f"your {what} is the reference's times -1: a sign flipped": [-r for r in reference],
        f"your {what} is the reference's divided by N = {n} exactly: a mean where this project "
        "uses a sum over the examples": [r / n for r in reference],
        f"your {what} is the reference's times N = {n} exactly: a sum where a mean was meant, or a step scaled by N": [
            r * n for r in reference
        ],
    }


def shape_diagnosis(
    names: Sequence[str], yours: Sequence[np.ndarray], shapes: Sequence[tuple[int, ...]]
) -> Failed | None:
    """Failed naming the first array of the wrong shape (the handout's order, (1, H) biases, a scalar sum)."""
    got = [a.shape for a in yours]
    if len(yours) == len(shapes) and got != list(shapes) and sorted(got) == sorted(shapes) and len(names) == 4:
        return Failed(
            f"returned shapes {got}, expected {list(shapes)}",
            diagnosis=f"returned in the handout's order (dW1, dW2, db1, db2); return ({', '.join(names)}), "
            "the order of parameters()",
        )
    for name, a, shape in zip(names, yours, shapes, strict=False):
        if a.shape == shape:
            continue
        if a.shape == (1, *shape) or a.shape == (*shape, 1):
            hint = (
                f"{name} has shape {a.shape} but its parameter has shape {shape}: biases here are ({shape[0]},), "
                "not (1, H); sum over axis 0 without keepdims"
            )
        elif a.ndim == 0:
            hint = f"{name} is a single number: sum over the examples only (axis=0), not over every entry"
        else:
            hint = f"{name} has shape {a.shape}, its parameter {shape}: a transpose or the wrong axis?"
        return Failed(f"{name} has shape {a.shape}, expected {shape}", diagnosis=hint)
    if len(yours) != len(shapes):
        return Failed(f"returned {len(yours)} arrays, expected {len(shapes)} ({', '.join(names)})")
    return None


def check_arrays(
    what: str,
    names: Sequence[str],
    yours: Sequence[object],
    reference: Sequence[np.ndarray],
    *,
    numeric: Sequence[np.ndarray] | None = None,
    variants: Mapping[str, Sequence[np.ndarray]] | Callable[[], Mapping[str, Sequence[np.ndarray]]] | None = None,
) -> list[str]:
    """The per-array lines when ``yours`` equals the reference; else raises Failed with the diagnosis.

    ``variants`` (or a function making them, called only on a failure) name the common mistakes."""
    arrays = [as_array(a, n) for a, n in zip(yours, names, strict=False)]
    bad_shape = shape_diagnosis(names, arrays, [r.shape for r in reference])
    if bad_shape is not None:
        raise bad_shape
    non_finite = [n for n, a in zip(names, arrays, strict=True) if not np.all(np.isfinite(a))]
    lines, errors, worst = [], {}, 0.0
    for i, (name, a, r) in enumerate(zip(names, arrays, reference, strict=True)):
        err, record, line = compare(name, a, r, None if numeric is None else numeric[i])
        lines.append(line)
        errors[name] = record
        worst = max(worst, err) if np.isfinite(err) else np.inf
    if not non_finite and worst < PASS_TOLERANCE:
        return lines
    if non_finite:
        diagnosis = f"{', '.join(non_finite)} holds NaN or inf: overflow in exp? (subtract each row's max first)"
    else:
        diagnosis = first_match(arrays, (variants() if callable(variants) else variants) or {})
    raise Failed(f"{what} differs from the reference (relative error {worst:.1e})", lines, diagnosis, errors)
