"""What the workspace holds: each starter file's functions, declared by the reference function they mirror.

Every function of a starter file is a :class:`Stub` naming the reference function it mirrors (its
signature and docstring are read from it when the file is written, by :mod:`.starter`). A stub is
either *to fill in* (its body raises ``NotImplementedError("fill in (1d): ...")``, which the checks
report as "not started") or *provided* (a few lines the handout gives: constructors, ``parameters``,
``predict``). Part 2's file is declared on demand: it reads the PyTorch reference.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backproplab.errors import UsageError
from backproplab.scratch import deep, layer, three_layer


@dataclass(frozen=True)
class Stub:
    """One function of a starter file. ``item`` None: provided, ``body`` is its code; else ``body``
    is the hint on what to fill in, added to the reference's docstring."""

    reference: Callable[..., Any]
    body: str
    item: str | None = None


@dataclass(frozen=True)
class StarterClass:
    name: str
    reference: type
    bases: str
    stubs: tuple[Stub, ...]


@dataclass(frozen=True)
class StarterFile:
    """A module of the workspace: its name, header (docstring), imports, classes and helpers."""

    filename: str
    header: str
    imports: str
    classes: tuple[StarterClass, ...]
    helpers: str = ""
    functions: tuple[Stub, ...] = ()

    @property
    def module(self) -> str:
        return self.filename.removesuffix(".py")


NN = three_layer.NeuralNetwork
DNN = deep.DeepNeuralNetwork
LAYER = layer.Layer


def _conventions() -> str:
    """The reference module's conventions and loss, without its derivation of the gradients."""
    doc = inspect.getdoc(three_layer) or ""
    return doc.split("``backprop`` returns")[0].strip()


def _layer_contract() -> str:
    """The reference Layer's contract (shapes and caches), without the lines that derive the gradients."""
    doc = (inspect.getdoc(layer) or "").split("Weight initialisations")[0]
    return "\n".join(line for line in doc.splitlines() if not line.startswith(" " * 8)).strip()


THREE_LAYER = StarterFile(
    "three_layer_neural_network.py",
    "Part 1 (b-e): the three-layer network of the handout. Fill in every function that raises\n"
    "NotImplementedError, in the README's order, and check each item with\n\n"
    "    backproplab exercise check . 1b\n\n" + _conventions(),
    "import os\nfrom collections.abc import Callable\nfrom typing import Any\n\nimport numpy as np",
    (
        StarterClass(
            "NeuralNetwork",
            NN,
            "",
            (
                Stub(
                    NN.__init__,
                    """
                    self.nn_input_dim = nn_input_dim
                    self.nn_hidden_dim = nn_hidden_dim
                    self.nn_output_dim = nn_output_dim
                    self.actFun_type = actFun_type
                    self.reg_lambda = reg_lambda
                    self.seed = seed
                    # The reference's starting weights: keep them, the checks compare your numbers with it.
                    rng = np.random.RandomState(seed)
                    self.W1 = rng.randn(nn_input_dim, nn_hidden_dim) / np.sqrt(nn_input_dim)
                    self.b1 = np.zeros(nn_hidden_dim)
                    self.W2 = rng.randn(nn_hidden_dim, nn_output_dim) / np.sqrt(nn_hidden_dim)
                    self.b2 = np.zeros(nn_output_dim)
                    """,
                ),
                Stub(
                    NN.actFun,
                    "tanh, sigmoid and relu, element-wise; any other name: raise ValueError. "
                    "Keep exp from overflowing for large |z|.",
                    "1b",
                ),
                Stub(
                    NN.diff_actFun,
                    "the derivative of each activation at the net input z. "
                    "ReLU has no derivative at 0: use 0 there (as PyTorch does).",
                    "1b",
                ),
                Stub(
                    NN.feedforward,
                    "keep z1, a1, z2 and probs on self; each row of probs sums to 1. "
                    "Keep exp from overflowing when scores are large.",
                    "1c",
                ),
                Stub(
                    NN.calculate_loss,
                    "a SUM over the N examples, not a mean, plus the L2 term of the module docstring.",
                    "1c",
                ),
                Stub(
                    NN.backprop,
                    "return (dW1, db1, dW2, db2), each shaped like its parameter: exactly the gradient "
                    "of calculate_loss, its L2 term included.",
                    "1d",
                ),
                Stub(NN.parameters, "return [self.W1, self.b1, self.W2, self.b2]"),
                Stub(
                    NN.predict,
                    "return np.argmax(self.feedforward(X, lambda z: self.actFun(z, type=self.actFun_type)), axis=1)",
                ),
                Stub(
                    NN.fit_model,
                    "num_passes full-batch steps p -= epsilon * dL/dp on all of X, with your backprop "
                    "(update the arrays in place or assign new ones); with print_loss print "
                    "calculate_loss every 1000 passes. record_every and progress may be ignored.",
                    "1e",
                ),
                Stub(
                    NN.visualize_decision_boundary,
                    """
                    from backproplab.figures import plot_decision_boundary

                    title = f"{self.nn_hidden_dim} hidden units, {self.actFun_type}"
                    return plot_decision_boundary(self.predict, X, y, title=title, path=path)
                    """,
                ),
            ),
        ),
    ),
)

N_LAYER = StarterFile(
    "n_layer_neural_network.py",
    "Part 1f: a deeper network built from Layer objects, each with its own feedforward and backprop.\n\n"
    + _layer_contract(),
    "import os\nfrom collections.abc import Sequence\nfrom typing import Any\n\nimport numpy as np\n"
    "from three_layer_neural_network import NeuralNetwork\n\n"
    "from backproplab.scratch.deep import resolve_hidden_dims\n"
    "from backproplab.scratch.layer import init_weights",
    (
        StarterClass(
            "Layer",
            LAYER,
            "",
            (
                Stub(
                    LAYER.__init__,
                    """
                    self.input_dim = input_dim
                    self.output_dim = output_dim
                    self.actFun_type = actFun_type
                    rng = np.random.RandomState(0) if rng is None else rng
                    self.W = init_weights(input_dim, output_dim, init, rng).astype(dtype)
                    self.b = np.zeros(output_dim, dtype=dtype)
                    self.dW = np.zeros_like(self.W)
                    self.db = np.zeros_like(self.b)
                    self.X = self.z = self.a = None
                    """,
                ),
                Stub(LAYER.parameters, "return [self.W, self.b]"),
                Stub(
                    LAYER.feedforward,
                    "use activation(z, self.actFun_type) (your part 1b); cache X, z and a on self.",
                    "1f",
                ),
                Stub(
                    LAYER.backprop,
                    "use activation_derivative(z, self.actFun_type); store self.dW and self.db "
                    "(the data part only: the network adds L2).",
                    "1f",
                ),
            ),
        ),
        StarterClass(
            "DeepNeuralNetwork",
            DNN,
            "NeuralNetwork",
            (
                Stub(
                    DNN.__init__,
                    """
                    self.nn_input_dim = nn_input_dim
                    self.nn_output_dim = nn_output_dim
                    self.nn_hidden_dims = resolve_hidden_dims(nn_hidden_dims, n_layers, layer_size)
                    hidden = len(self.nn_hidden_dims)
                    acts = [actFun_type] * hidden if isinstance(actFun_type, str) else list(actFun_type)
                    self.actFun_type = actFun_type
                    self.reg_lambda = reg_lambda
                    self.seed = seed
                    # One generator shared by the layers in order: the reference's starting weights.
                    rng = np.random.RandomState(seed)
                    dims = [nn_input_dim, *self.nn_hidden_dims, nn_output_dim]
                    self.layers = [
                        Layer(dims[i], dims[i + 1], [*acts, "identity"][i], init, rng, dtype)
                        for i in range(len(dims) - 1)
                    ]
                    """,
                ),
                Stub(DNN.parameters, "return [p for layer in self.layers for p in (layer.W, layer.b)]"),
                Stub(
                    DNN.feedforward,
                    "run the layers in order (the last one's scores go into a softmax); keep self.probs.",
                    "1f",
                ),
                Stub(DNN.calculate_loss, "the summed loss with the L2 term over every layer's W.", "1f"),
                Stub(
                    DNN.backprop,
                    "from the softmax's delta, call each layer's backprop from the last to the first; "
                    "add the L2 term to each dW; return new arrays in the order of parameters().",
                    "1f",
                ),
            ),
        ),
    ),
    helpers='''
def activation(z: np.ndarray, type: str) -> np.ndarray:
    """f(z) of the activation ``type``: your NeuralNetwork.actFun of part 1b ("identity": z itself)."""
    return z if type == "identity" else NeuralNetwork.actFun(None, z, type)


def activation_derivative(z: np.ndarray, type: str) -> np.ndarray:
    """f'(z) of the activation ``type``: your NeuralNetwork.diff_actFun of part 1b ("identity": 1)."""
    return np.ones_like(z) if type == "identity" else NeuralNetwork.diff_actFun(None, z, type)
''',
)


def _dcn_file() -> StarterFile:
    """Part 2's starter, from the PyTorch reference (imported only when part 2 is asked for)."""
    from backproplab.dcn import model, training

    return StarterFile(
        "dcn_mnist.py",
        'Part 2: the deep convolutional network of "Deep MNIST for Experts", in PyTorch. Fill in every\n'
        "function that raises NotImplementedError and check with: backproplab exercise check . 2a\n\n"
        + (inspect.getdoc(model) or "").split("3,274,634")[0].strip(),
        "import contextlib\nfrom collections.abc import Callable\n\nimport torch\nimport torch.nn.functional as F\n"
        "from torch import nn",
        (
            StarterClass(
                "DCN",
                model.DCN,
                "nn.Module",
                (
                    Stub(
                        model.DCN.__init__,
                        """
                        super().__init__()
                        self.activation_name, self.init_name, self.dropout = activation, init, dropout
                        self.conv1_w = weight_variable((32, 1, 5, 5), init)
                        self.conv1_b = bias_variable((32,))
                        self.conv2_w = weight_variable((64, 32, 5, 5), init)
                        self.conv2_b = bias_variable((64,))
                        self.fc1_w = weight_variable((1024, 7 * 7 * 64), init)
                        self.fc1_b = bias_variable((1024,))
                        self.fc2_w = weight_variable((10, 1024), init)
                        self.fc2_b = bias_variable((10,))
                        """,
                    ),
                    Stub(model.DCN.parameters_of, 'return getattr(self, f"{layer}_w"), getattr(self, f"{layer}_b")'),
                    Stub(
                        model.DCN.forward,
                        "conv1, ReLU, max-pool; conv2, ReLU, max-pool; fc1, ReLU, dropout (only in training: "
                        "self.training); fc2. With a capture dict (part 2b), put z, a and the pooled output of "
                        "conv1 and conv2 under conv1/net_input, conv1/activation, conv1/pooled, ..., and "
                        "fc1/net_input, fc1/activation, fc2/net_input.",
                        "2a",
                    ),
                ),
            ),
        ),
        functions=(
            Stub(
                model.weight_variable,
                "an nn.Parameter of that shape drawn from a normal of std 0.1 truncated at two standard "
                "deviations (the course's tf.truncated_normal; only this initialiser is checked).",
                "2a",
            ),
            Stub(model.bias_variable, "an nn.Parameter of that shape, every entry 0.1.", "2a"),
            Stub(model.conv2d, "stride 1 and SAME padding: the output keeps H and W.", "2a"),
            Stub(model.max_pool_2x2, "a 2x2 window moved by 2: H and W halve.", "2a"),
            Stub(
                training.forward_backward,
                "inside autocast(), logits = model(x, capture); the loss is the mean cross-entropy of "
                "the logits; clear the previous gradients, then backpropagate. No optimizer step.",
                "2a-step",
            ),
        ),
    )


#: The starter files of each part, in the order a learner meets them (part 2's built on demand: torch).
PARTS: dict[str, Callable[[], tuple[StarterFile, ...]]] = {
    "1": lambda: (THREE_LAYER, N_LAYER),
    "2": lambda: (_dcn_file(),),
}
#: The file names of each part (known without importing torch).
PART_FILES: dict[str, tuple[str, ...]] = {
    "1": ("three_layer_neural_network.py", "n_layer_neural_network.py"),
    "2": ("dcn_mnist.py",),
}


def parts_of(part: str) -> list[str]:
    """The parts ``part`` names ("1", "2" or "all"); UsageError otherwise."""
    if part == "all":
        return list(PARTS)
    if part not in PARTS:
        raise UsageError(f"--part must be 1, 2 or all, got {part!r}")
    return [part]
