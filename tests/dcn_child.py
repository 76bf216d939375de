"""A real `backproplab dcn` process on synthetic MNIST, for tests that need a second process
(two runs racing for one folder, SIGTERM to a running run).

    python tests/dcn_child.py [--pause-at STEP --ready FILE [--release FILE]] -- DCN-ARGS...

With ``--pause-at``, the run writes FILE after the step index STEP and then waits (up to a minute)
until the release file exists: the parent knows exactly where the run is when it acts.
Exits with the command's exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from backproplab.datasets import mnist


def synthetic_mnist(n_train: int = 120, n_eval: int = 40, seed: int = 0) -> mnist.Datasets:
    """MNIST-shaped data a CNN can learn: class c lights up its own band of rows, plus noise."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n).astype(np.int64)
        images = rng.random((n, 28, 28), dtype=np.float32) * 0.3
        for i, c in enumerate(labels):
            images[i, 2 * c + 4 : 2 * c + 7, 4:24] += 0.7
        return images.reshape(n, 784), labels

    seeds = np.random.SeedSequence(seed).spawn(3)
    return mnist.Datasets(
        train=mnist.DataSet(*split(n_train), seeds[0]),
        validation=mnist.DataSet(*split(n_eval), seeds[1]),
        test=mnist.DataSet(*split(n_eval), seeds[2]),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pause-at", type=int)
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--release", type=Path)
    split = sys.argv.index("--")
    args = parser.parse_args(sys.argv[1:split])
    dcn_argv = sys.argv[split + 1 :]

    from backproplab import cli
    from backproplab.mnist_net import run as training

    data = synthetic_mnist()
    training.load_data = lambda config, progress=True: data
    real_train = training.train

    def pause(step: int, loss: float) -> None:
        if step == args.pause_at:
            args.ready.write_text("ready")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (args.release and args.release.exists()):
                time.sleep(0.05)

    def train_with_pause(config, data=None, progress=True, callback=None, **kwargs):
        return real_train(config, data, progress, pause if args.pause_at is not None else callback, **kwargs)

    training.train = train_with_pause
    return cli.main(["dcn", *dcn_argv])


if __name__ == "__main__":
    sys.exit(main())
