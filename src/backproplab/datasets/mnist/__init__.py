"""MNIST and Fashion-MNIST: find, download, verify and load the IDX files; split them; serve batches.

    from backproplab.datasets import mnist
    data = mnist.load()                      # or load(data_dir=..., dataset="fashion-mnist", seed=1)
    data.train.images                        # (55000, 784) float32 in [0, 1]
    data.train.labels                        # (55000,) int64
    x, y = data.train.next_batch(50)         # seeded shuffled order, reshuffled every epoch
    mnist.require()                          # all four files present and intact, or one clear error

The split is TensorFlow's classic ``input_data.read_data_sets``: validation = the FIRST
``validation_size`` training images, train = the rest, test = the 10,000 t10k images.

One module per job: :mod:`.catalog` (names, sizes, checksums), :mod:`.locate` (where the files are
looked for: ``--data-dir``, ``BACKPROPLAB_DATA``, system folder, per-user cache), :mod:`.verify`
(reading and checking), :mod:`.download` (mirrors), :mod:`.batches` (the mini-batch iterator).
Files may be gzip-compressed (``*.gz``) or raw IDX. Missing files are downloaded unless
``download=False`` or ``BACKPROPLAB_OFFLINE=1``. Every file is checked against the size and SHA-256
of its decompressed content. Nothing is cached besides the files themselves, so nothing can go stale.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from backproplab.datasets.mnist.batches import DataSet, Datasets
from backproplab.datasets.mnist.catalog import (
    DATASETS,
    DEFAULT_VALIDATION_SIZE,
    DISPLAY_NAMES,
    FILES,
    IMAGE_SHAPE,
    NUM_CLASSES,
    SHA256,
    SIZES,
    check_dataset,
)
from backproplab.datasets.mnist.download import MIRRORS, OFFLINE_ENV_VAR, fetch
from backproplab.datasets.mnist.locate import ENV_VAR, default_cache_dir, find_files, resolve_data_dir, search_dirs
from backproplab.datasets.mnist.verify import (
    ChecksumError,
    DataError,
    MissingDataError,
    UnreadableDataError,
    fix_hint,
    read_arrays,
    verify,
)
from backproplab.errors import UsageError

__all__ = [
    "DATASETS",
    "DEFAULT_VALIDATION_SIZE",
    "DISPLAY_NAMES",
    "ENV_VAR",
    "FILES",
    "IMAGE_SHAPE",
    "MIRRORS",
    "NUM_CLASSES",
    "OFFLINE_ENV_VAR",
    "SHA256",
    "SIZES",
    "ChecksumError",
    "DataError",
    "DataSet",
    "Datasets",
    "MissingDataError",
    "UnreadableDataError",
    "default_cache_dir",
    "fetch",
    "find_files",
    "load",
    "read_arrays",
    "require",
    "resolve_data_dir",
    "search_dirs",
    "verify",
]


def require(
    data_dir: str | os.PathLike[str] | None = None,
    dataset: str = "mnist",
    *,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """Make sure all of ``dataset`` is usable before any work starts; return the folder of its files.

    Downloads missing files where allowed (as :func:`fetch`), then reads every file and checks its
    structure, size and SHA-256 (as :func:`verify`). Raises :class:`MissingDataError` or
    :class:`DataError` with one line naming every problem and the fix; never a partial success.
    """
    directory = fetch(data_dir, dataset, download=download, progress=progress)
    report = verify(directory, dataset, validation_size=0)
    if not report["ok"]:
        raise DataError(f"{'; '.join(report['problems'])}. {fix_hint(report)}".strip())
    return directory


def load(
    data_dir: str | os.PathLike[str] | None = None,
    validation_size: int = DEFAULT_VALIDATION_SIZE,
    dataset: str = "mnist",
    seed: int = 0,
    *,
    download: bool = True,
    verify_checksums: bool = True,
    progress: bool = True,
) -> Datasets:
    """Load ``dataset`` split into train / validation / test, downloading missing files if allowed.

    Images: (N, 784) float32 in [0, 1] (byte / 255, correctly rounded), row-major 28x28; labels: (N,) int64.
    ``seed`` fixes the batch order of the three splits (train uses ``SeedSequence(seed)``'s first child).
    ``verify_checksums=False`` accepts IDX files that are not the published ones (your own data in
    the MNIST layout); their structure is still checked.
    """
    check_dataset(dataset)
    if isinstance(validation_size, bool) or not isinstance(validation_size, int | np.integer):
        raise UsageError(f"validation_size must be an integer, got {validation_size!r}")
    directory = resolve_data_dir(data_dir, dataset)
    if not all(find_files(directory).values()):
        directory = fetch(data_dir, dataset, download=download, progress=progress)
    arrays = read_arrays(directory, dataset, verify_checksums)
    n_train = arrays["train_labels"].shape[0]
    if not 0 <= validation_size <= n_train:
        raise UsageError(
            f"validation_size must be between 0 and {n_train} (the training images), got {validation_size}"
        )

    def as_float(images: np.ndarray) -> np.ndarray:
        out = images.reshape(images.shape[0], -1).astype(np.float32)
        out /= np.float32(255.0)  # division: each pixel is k/255 correctly rounded
        return out

    train_x, test_x = as_float(arrays["train_images"]), as_float(arrays["test_images"])
    train_y = arrays["train_labels"].astype(np.int64)
    test_y = arrays["test_labels"].astype(np.int64)
    seeds = np.random.SeedSequence(seed).spawn(3)
    return Datasets(
        train=DataSet(train_x[validation_size:], train_y[validation_size:], seeds[0]),
        validation=DataSet(train_x[:validation_size], train_y[:validation_size], seeds[1]),
        test=DataSet(test_x, test_y, seeds[2]),
    )
