"""Backpropagation written by hand in NumPy (this package never imports torch).

- :class:`NeuralNetwork` -- the course's three-layer network (input -> hidden -> softmax).
- :class:`DeepNeuralNetwork` -- any number of hidden layers, built from :class:`Layer`.
- :class:`Trainer` -- the training loop of both (``fit_model`` is a thin wrapper over it).
- :mod:`~backproplab.scratch.optimizers` -- SGD, momentum, Nesterov, Adagrad, RMSProp, Adam.
- :func:`gradient_check` -- finite-difference check of any network's backprop.
- :mod:`~backproplab.scratch.activations` -- the activation registry shared by every network.
"""

from backproplab.errors import TrainingDiverged
from backproplab.scratch.activations import ACTIVATIONS, Activation
from backproplab.scratch.deep import DeepNeuralNetwork
from backproplab.scratch.gradcheck import gradient_check, layer_gradient_check, rel_error
from backproplab.scratch.layer import INITS, Layer
from backproplab.scratch.losses import cross_entropy_sum, softmax
from backproplab.scratch.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from backproplab.scratch.three_layer import NeuralNetwork
from backproplab.scratch.trainer import Trainer, TrainSettings

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "OPTIMIZERS",
    "Activation",
    "DeepNeuralNetwork",
    "Layer",
    "NeuralNetwork",
    "Optimizer",
    "TrainSettings",
    "Trainer",
    "TrainingDiverged",
    "cross_entropy_sum",
    "gradient_check",
    "layer_gradient_check",
    "make_optimizer",
    "rel_error",
    "softmax",
]
