"""What is known about MNIST and Fashion-MNIST before reading a byte: names, sizes, checksums.

Both data sets use the same four file names and the same shapes: 60,000 training and 10,000 test
images of 28x28 unsigned bytes, with one label (0..9) each.
"""

from __future__ import annotations

import math

from backproplab.errors import UsageError

DATASETS = ("mnist", "fashion-mnist")
DISPLAY_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
DEFAULT_VALIDATION_SIZE = 5000
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

# The four files, by role, without the .gz suffix (both data sets use the same names).
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
COUNTS = {"train": 60000, "test": 10000}

# The exact size of each DECOMPRESSED file (IDX header + one byte per pixel or label): nothing is
# ever decompressed past it, so a damaged or hostile archive cannot fill the memory.
SIZES: dict[str, int] = {}
for _split, _count in COUNTS.items():
    SIZES[f"{_split}_images"] = 16 + _count * math.prod(IMAGE_SHAPE)  # header: magic number + 3 sizes
    SIZES[f"{_split}_labels"] = 8 + _count  # header: magic number + 1 size

# SHA-256 of each DECOMPRESSED file: it holds for every copy, however the archive was compressed.
# MNIST: the published values (shared/data/mnist/README.md). Fashion-MNIST: the values listed by
# several independent public projects, derived from the archives whose MD5s the publisher lists,
# and reproduced from Debian's dataset-fashion-mnist package.
SHA256 = {
    "mnist": {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}


def check_dataset(dataset: str) -> str:
    """``dataset`` if it is one of :data:`DATASETS`, else a :class:`UsageError` listing them."""
    if dataset not in DATASETS:
        raise UsageError(f"unknown data set {dataset!r}: choose one of {', '.join(DATASETS)}")
    return dataset
