"""Data sets: 2-D toy problems, small bundled tabular sets, and MNIST in :mod:`backproplab.datasets.mnist`.

:func:`load` is the one entry point for the classification sets (standardised, stratified split).
"""

from backproplab.datasets.registry import DATASETS, Dataset, is_two_dimensional, load
from backproplab.datasets.toy import (
    make_blobs,
    make_circles,
    make_gaussian_quantiles,
    make_moons,
    make_spirals,
    make_xor,
)

__all__ = [
    "DATASETS",
    "Dataset",
    "is_two_dimensional",
    "load",
    "make_blobs",
    "make_circles",
    "make_gaussian_quantiles",
    "make_moons",
    "make_spirals",
    "make_xor",
]
