"""Backpropagation written by hand in NumPy (this package never imports torch).

- :class:`NeuralNetwork` -- the course's three-layer network (input -> hidden -> softmax).
- :mod:`~backproplab.scratch.activations` -- the activation registry shared by every network.
"""

from backproplab.scratch.activations import ACTIVATIONS, Activation, activation_names, get_activation
from backproplab.scratch.losses import cross_entropy_sum, softmax
from backproplab.scratch.three_layer import NeuralNetwork, TrainingDiverged

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "NeuralNetwork",
    "TrainingDiverged",
    "activation_names",
    "cross_entropy_sum",
    "get_activation",
    "softmax",
]
