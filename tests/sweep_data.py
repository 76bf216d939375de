"""Small data for sweep tests, loaded by the sweep's worker processes (``data="sweep_data:small"``).

``SWEEP_TEST_KILL_TOKEN``: a file; the first worker to take batch ``SWEEP_TEST_KILL_AT`` of a run
while the file exists removes it and kills itself with SIGKILL (a worker dying mid-run).
"""

from __future__ import annotations

import os
import signal

from backproplab.datasets import mnist
from test_dcn_train import synthetic_mnist


class KillingDataSet(mnist.DataSet):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches = 0

    def next_batch(self, batch_size: int):
        self.batches += 1
        token = os.environ.get("SWEEP_TEST_KILL_TOKEN")
        if token and self.batches == int(os.environ.get("SWEEP_TEST_KILL_AT", "0")):
            try:
                os.remove(token)
            except FileNotFoundError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().next_batch(batch_size)


def small(data_dir, validation_size) -> mnist.Datasets:
    data = synthetic_mnist(n_train=120, n_eval=40)
    return mnist.Datasets(
        train=KillingDataSet(data.train.images, data.train.labels),
        validation=data.validation,
        test=data.test,
    )
