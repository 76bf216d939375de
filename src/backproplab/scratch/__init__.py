"""Backpropagation written by hand in NumPy (this package never imports torch).

- :class:`NeuralNetwork` -- the course's three-layer network (input -> hidden -> softmax).
- :class:`DeepNeuralNetwork` -- any number of hidden layers, built from :class:`Layer`.
- :class:`Trainer` -- the training loop of both (``fit_model`` is a thin wrapper over it).
- :mod:`~backproplab.scratch.optimizers` -- SGD, momentum, Nesterov, Adagrad, RMSProp, Adam.
- :func:`gradient_check` -- finite-difference check of any network's backprop.
- :mod:`~backproplab.scratch.activations` -- the activation registry shared by every network.
"""

from backproplab.errors import TrainingDiverged
from backproplab.scratch.activations import ACTIVATIONS, Activation, activation_names, get_activation
from backproplab.scratch.deep import DeepNeuralNetwork
from backproplab.scratch.gradcheck import gradient_check, layer_gradient_check, rel_error
from backproplab.scratch.layer import Layer, init_names
from backproplab.scratch.losses import cross_entropy_sum, softmax
from backproplab.scratch.optimizers import OPTIMIZERS, Optimizer, make_optimizer, optimizer_names
from backproplab.scratch.three_layer import NeuralNetwork
from backproplab.scratch.trainer import Trainer

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "Activation",
    "DeepNeuralNetwork",
    "Layer",
    "NeuralNetwork",
    "Optimizer",
    "Trainer",
    "TrainingDiverged",
    "activation_names",
    "cross_entropy_sum",
    "get_activation",
    "gradient_check",
    "init_names",
    "layer_gradient_check",
    "make_optimizer",
    "optimizer_names",
    "rel_error",
    "softmax",
]
