"""The learner's workspace: starter files generated from the reference's signatures and docstrings.

Every function of a starter file is declared here as a :class:`Stub` naming the reference function
it mirrors: its signature and docstring are read from that function (``inspect``), so the
workspace cannot drift from the reference. A stub is either *to fill in* (its body raises
``NotImplementedError("fill in (1d): ...")``, which the checks report as "not started") or
*provided* (a few lines the handout gives: constructors, ``parameters``, ``predict``).
"""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import __version__
from backproplab.errors import UsageError
from backproplab.exercise.items import ITEMS, items_of_part
from backproplab.io import write_json, write_text
from backproplab.scratch import deep, layer, three_layer

MARKER = ".backproplab-exercise.json"
README = "README.md"
FILL_IN = "fill in"


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


# -- rendering ------------------------------------------------------------------------------------


def _default_source(value: object) -> str:
    if isinstance(value, type) and value.__module__ == "numpy":
        return f"np.{value.__name__}"
    if isinstance(value, np.dtype):
        return f"np.{value.name}"
    return repr(value)


def _annotation_source(annotation: object) -> str:
    if isinstance(annotation, str):
        return annotation  # the reference uses postponed annotations: already source text
    return inspect.formatannotation(annotation)


def signature_source(function: Callable[..., Any]) -> str:
    """``name(params) -> ret`` as source text, from the function's own signature."""
    sig = inspect.signature(function)
    parts: list[str] = []
    star_done = False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation_source(p.annotation)}"
        if p.default is not p.empty:
            text += (
                f" = {_default_source(p.default)}" if p.annotation is not p.empty else f"={_default_source(p.default)}"
            )
        parts.append(text)
    ret = "" if sig.return_annotation is sig.empty else f" -> {_annotation_source(sig.return_annotation)}"
    return f"{function.__name__}({', '.join(parts)}){ret}"


def _docstring(text: str, indent: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', r"\"\"\"")
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join(f"{indent}{line}" if line.strip() else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""\n'


def _def_line(function: Callable[..., Any]) -> str:
    """``    def name(params) -> ret:``, one parameter per line when it would pass 100 characters."""
    line = f"    def {signature_source(function)}:\n"
    if len(line) <= 101:
        return line
    head, _, rest = signature_source(function).partition("(")
    params, _, ret = rest.rpartition(")")
    items = _split_params(params)
    return f"    def {head}(\n" + "".join(f"        {p},\n" for p in items) + f"    ){ret}:\n"


def _split_params(text: str) -> list[str]:
    """Split a parameter list at the top-level commas (annotations hold commas in brackets)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [*parts, current.strip()] if current.strip() else parts


def _function_source(stub: Stub) -> str:
    """A module-level function's source (a stub rendered as a method, then dedented)."""
    return textwrap.dedent(_stub_source(stub)).strip() + "\n"


def _stub_source(stub: Stub) -> str:
    indent = " " * 8
    own = stub.reference.__doc__  # not inspect.getdoc: an undocumented __init__ would get object's
    doc = inspect.cleandoc(own) if own else ""
    out = _def_line(stub.reference)
    if stub.item is None:
        if doc:
            out += _docstring(doc, indent)
        return out + textwrap.indent(textwrap.dedent(stub.body).strip(), indent) + "\n"
    hint = textwrap.fill(f"Fill in ({stub.item}): {stub.body}", 96)
    out += _docstring(f"{doc}\n\n{hint}" if doc else hint, indent)
    message = f"{FILL_IN} ({stub.item}): {stub.reference.__qualname__.split('.')[-1]}"
    return out + f"{indent}raise NotImplementedError({message!r})\n"


def file_source(starter: StarterFile) -> str:
    """The text of one starter file."""
    out = _docstring(starter.header, "") + "\nfrom __future__ import annotations\n\n" + starter.imports + "\n"
    if starter.helpers:
        out += "\n\n" + starter.helpers.strip() + "\n"
    for stub in starter.functions:
        out += "\n\n" + _function_source(stub)
    for cls in starter.classes:
        out += f"\n\nclass {cls.name}{f'({cls.bases})' if cls.bases else ''}:\n"
        out += _docstring(inspect.getdoc(cls.reference) or cls.name, "    ")
        for stub in cls.stubs:
            out += "\n" + _stub_source(stub)
    return out


def learner_readme(part: str) -> str:
    """The learner's README: what to do, in which order, how to check."""
    rows = "\n".join(f"| {n} | {ITEMS[n].title} | {ITEMS[n].points:g} |" for n in items_of_part(part))
    files = ", ".join(f"`{name}`" for p in _parts(part) for name in PART_FILES[p])
    report = (
        "\n    backproplab report --implementation . --out report    # part 1's report, with your networks"
        if "1" in _parts(part)
        else ""
    )
    return f"""# Your backproplab exercise

Fill in the functions of {files} that raise `NotImplementedError("fill in (...)")`, item by item
in this order. Each docstring states the shapes and conventions; the reference you are checked
against is backproplab's own (`backproplab.scratch`), which you may read once you are done.

| item | what | points |
|---|---|---|
{rows}

Check your work as you go (from this folder):

    backproplab exercise check .          # every item
    backproplab exercise check . 1d       # one item
    backproplab exercise check . --json results.json

Each item is reported as *passed*, *not started* (its function still raises NotImplementedError) or
*failed*, with what is wrong: the relative error against finite differences and against the reference
(`max |a - b| / max(1e-8, |a| + |b|)`, cs231n's; below 1e-6 passes), the entry with the largest error,
and the common mistake that explains it when one does. Your code runs in a separate process with a
time and memory limit, so an endless loop or a crash is reported as one line.

When every check passes:
{report}
    backproplab exercise pack .                           # the hand-in zip: your code and your report

Keep the constructors (`__init__`) as given: the checks compare your numbers with the reference's,
starting from the same weights.
"""


def _parts(part: str) -> list[str]:
    if part == "all":
        return list(PARTS)
    if part not in PARTS:
        raise UsageError(f"--part must be 1, 2 or all, got {part!r}")
    return [part]


def workspace_files(part: str) -> dict[str, str]:
    """File name -> text of a fresh workspace of ``part`` ("1", "2" or "all")."""
    files = {f.filename: file_source(f) for p in _parts(part) for f in PARTS[p]()}
    files[README] = learner_readme(part)
    return files


def start_workspace(out: str | Path, part: str = "1") -> list[Path]:
    """Write a fresh workspace to ``out``; refuses a folder holding anything but an untouched starter."""
    out = Path(out)
    files = workspace_files(part)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a new folder for the workspace")
    if out.exists():
        for path in sorted(out.iterdir()):
            if path.name == MARKER:
                continue
            fresh = files.get(path.name)
            if fresh is None or not path.is_file() or path.read_text(errors="replace") != fresh:
                what = "has work in it" if fresh is not None else "holds other files"
                raise UsageError(f"--out {out} {what} ({path.name}); it is never overwritten: give a new folder")
    written = [write_text(out / name, text) for name, text in files.items()]
    write_json(out / MARKER, {"backproplab_exercise": __version__, "part": part, "items": items_of_part(part)})
    return written


def workspace_modules(folder: str | Path) -> list[str]:
    """The learner modules of the workspace at ``folder``; UsageError when it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; make a workspace with: backproplab exercise start --out {folder}")
    modules = [name for p in PART_FILES for name in PART_FILES[p] if (folder / name).is_file()]
    if not modules:
        raise UsageError(
            f"{folder} is not an exercise workspace (no {THREE_LAYER.filename} or dcn_mnist.py); "
            f"make one with: backproplab exercise start --out DIR"
        )
    return modules


def workspace_part(folder: str | Path) -> str:
    """The part the workspace was started for ("1" when it does not say)."""
    try:
        return str(json.loads((Path(folder) / MARKER).read_text())["part"])
    except (OSError, ValueError, KeyError, TypeError):
        return "1"
