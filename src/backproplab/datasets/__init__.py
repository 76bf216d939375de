"""Data sets: toy 2-D problems (scikit-learn), and MNIST in :mod:`backproplab.datasets.mnist`."""

from backproplab.datasets.toy import make_moons

__all__ = ["make_moons"]
