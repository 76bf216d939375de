"""A learner's correct answers to part 1, as function bodies, and a helper that fills them into a workspace.

The bodies are what a learner would write (plain NumPy); ``fill`` puts each one in place of the
starter's ``raise NotImplementedError("fill in (...)")`` line of the named class and method, so the
tests run the real generated starter. Mutations (one common mistake each) replace a snippet of a body.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

THREE = "three_layer_neural_network.py"
DEEP = "n_layer_neural_network.py"
DCN = "dcn_mnist.py"

#: (file, class, method) -> body
SOLUTION: dict[tuple[str, str, str], str] = {
    (THREE, "NeuralNetwork", "actFun"): """
        if type == "tanh":
            return np.tanh(z)
        if type == "sigmoid":
            return np.exp(-np.logaddexp(0.0, -z))
        if type == "relu":
            return np.maximum(z, 0.0)
        raise ValueError(f"unknown activation {type!r}")
    """,
    (THREE, "NeuralNetwork", "diff_actFun"): """
        if type == "tanh":
            return 1.0 - np.tanh(z) ** 2
        if type == "sigmoid":
            s = np.exp(-np.logaddexp(0.0, -z))
            return s * (1.0 - s)
        if type == "relu":
            return (z > 0).astype(float)
        raise ValueError(f"unknown activation {type!r}")
    """,
    (THREE, "NeuralNetwork", "feedforward"): """
        if actFun is None:
            actFun = lambda z: self.actFun(z, type=self.actFun_type)  # noqa: E731
        self.z1 = X @ self.W1 + self.b1
        self.a1 = actFun(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        exp_scores = np.exp(self.z2 - self.z2.max(axis=1, keepdims=True))
        self.probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
        return self.probs
    """,
    (THREE, "NeuralNetwork", "calculate_loss"): """
        probs = self.feedforward(X, lambda z: self.actFun(z, type=self.actFun_type))
        data_loss = -np.sum(np.log(probs[np.arange(len(y)), y]))
        return data_loss + self.reg_lambda / 2 * (np.sum(self.W1**2) + np.sum(self.W2**2))
    """,
    (THREE, "NeuralNetwork", "backprop"): """
        probs = self.feedforward(X, lambda z: self.actFun(z, type=self.actFun_type))
        delta2 = probs.copy()
        delta2[np.arange(len(y)), y] -= 1
        dW2 = self.a1.T @ delta2 + self.reg_lambda * self.W2
        db2 = delta2.sum(axis=0)
        delta1 = (delta2 @ self.W2.T) * self.diff_actFun(self.z1, type=self.actFun_type)
        dW1 = X.T @ delta1 + self.reg_lambda * self.W1
        db1 = delta1.sum(axis=0)
        return dW1, db1, dW2, db2
    """,
    (THREE, "NeuralNetwork", "fit_model"): """
        for i in range(num_passes):
            dW1, db1, dW2, db2 = self.backprop(X, y)
            self.W1 -= epsilon * dW1
            self.b1 -= epsilon * db1
            self.W2 -= epsilon * dW2
            self.b2 -= epsilon * db2
            if print_loss and i % 1000 == 0:
                print(f"Loss after iteration {i}: {self.calculate_loss(X, y)}")
    """,
    (DEEP, "Layer", "feedforward"): """
        self.X = X
        self.z = X @ self.W + self.b
        self.a = activation(self.z, self.actFun_type)
        return self.a
    """,
    (DEEP, "Layer", "backprop"): """
        dz = delta * activation_derivative(self.z, self.actFun_type)
        self.dW = self.X.T @ dz
        self.db = dz.sum(axis=0)
        return dz @ self.W.T if input_grad else None
    """,
    (DEEP, "DeepNeuralNetwork", "feedforward"): """
        a = X
        for layer in self.layers:
            a = layer.feedforward(a)
        exp_scores = np.exp(a - a.max(axis=1, keepdims=True))
        self.probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
        return self.probs
    """,
    (DEEP, "DeepNeuralNetwork", "calculate_loss"): """
        probs = self.feedforward(X)
        data_loss = -np.sum(np.log(probs[np.arange(len(y)), y]))
        return data_loss + self.reg_lambda / 2 * sum(np.sum(layer.W**2) for layer in self.layers)
    """,
    (DEEP, "DeepNeuralNetwork", "backprop"): """
        delta = self.feedforward(X).copy()
        delta[np.arange(len(y)), y] -= 1
        for layer in reversed(self.layers):
            delta = layer.backprop(delta)
        grads = []
        for layer in self.layers:
            grads += [layer.dW + self.reg_lambda * layer.W, layer.db.copy()]
        return tuple(grads)
    """,
    (DCN, None, "weight_variable"): """
        w = torch.empty(shape)
        nn.init.trunc_normal_(w, mean=0.0, std=0.1, a=-0.2, b=0.2)
        return nn.Parameter(w)
    """,
    (DCN, None, "bias_variable"): """
        return nn.Parameter(torch.full(shape, 0.1))
    """,
    (DCN, None, "conv2d"): """
        return F.conv2d(x, W, b, stride=1, padding=W.shape[-1] // 2)
    """,
    (DCN, None, "max_pool_2x2"): """
        return F.max_pool2d(x, kernel_size=2, stride=2)
    """,
    (DCN, None, "forward_backward"): """
        with autocast():
            logits = model(x, capture)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad()
        loss.backward()
        return logits, loss
    """,
    (DCN, "DCN", "forward"): """
        x = x.reshape(-1, 1, 28, 28)
        for layer in ("conv1", "conv2"):
            w, b = self.parameters_of(layer)
            z = conv2d(x, w, b)
            a = F.relu(z)
            x = max_pool_2x2(a)
            if capture is not None:
                capture[f"{layer}/net_input"], capture[f"{layer}/activation"], capture[f"{layer}/pooled"] = z, a, x
        z = F.linear(x.flatten(1), self.fc1_w, self.fc1_b)
        a = F.relu(z)
        h = a
        if self.training and self.dropout > 0:  # inverted dropout, its mask drawn as the reference draws it
            h = a * (torch.rand(a.shape, device=a.device) >= self.dropout).to(a.dtype).mul_(1 / (1 - self.dropout))
        logits = F.linear(h, self.fc2_w, self.fc2_b)
        if capture is not None:
            capture["fc1/net_input"], capture["fc1/activation"], capture["fc2/net_input"] = z, a, logits
        return logits
    """,
}


def fill(workspace: Path, items: set[str] | None = None, bodies: dict | None = None) -> None:
    """Put the solution's bodies (or ``bodies``, e.g. a mutation) of ``items`` (all when None) into ``workspace``."""
    bodies = {**SOLUTION, **(bodies or {})}
    for filename in (THREE, DEEP, DCN):
        path = workspace / filename
        if not path.is_file():
            continue
        lines = path.read_text().splitlines(keepends=True)
        out, cls = [], None
        for line in lines:
            match = re.match(r"class (\w+)", line)
            if match:
                cls = match.group(1)
            elif re.match(r"def ", line):
                cls = None
            stub = re.match(r"(\s+)raise NotImplementedError\('fill in \(([\w-]+)\): (\w+)'\)", line)
            key = (filename, cls, stub.group(3)) if stub else None
            if stub and key in bodies and (items is None or stub.group(2) in items):
                out.append(textwrap.indent(textwrap.dedent(bodies[key]).strip("\n"), stub.group(1)) + "\n")
            else:
                out.append(line)
        path.write_text("".join(out))


def mutate(key: tuple[str, str, str], *changes: tuple[str, str]) -> dict:
    """The solution with each ``(old, new)`` applied to one body (``old`` must be there exactly once)."""
    body = SOLUTION[key]
    for old, new in changes:
        assert body.count(old) == 1, f"{old!r} is not in the solution's {key} exactly once"
        body = body.replace(old, new)
    return {key: body}
