"""MNIST loading: the real files (via BACKPROPLAB_DATA) and small IDX sets the tests write themselves."""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from backproplab.cli import main
from backproplab.datasets import mnist
from backproplab.datasets.idx import IDXError, to_idx_bytes
from backproplab.datasets.mnist import download, locate
from backproplab.errors import UsageError

# Published facts about MNIST (shared/data/mnist/README.md, and the per-digit counts LeCun lists).
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
PIXEL_MEAN, PIXEL_STD = 0.1306604762738429, 0.3081078


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path):
    def refuse(url, timeout):
        raise AssertionError(f"a test tried to reach the network: {url}")

    monkeypatch.setattr(download, "_open_url", refuse)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def real_data_dir() -> Path:
    """The real MNIST folder: $BACKPROPLAB_DATA (set by the Makefile and .ci/run) or ../shared/data/mnist."""
    value = os.environ.get("BACKPROPLAB_DATA", "").strip()
    candidates = [Path(value)] if value else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
    for candidate in candidates:
        if (candidate / "train-images-idx3-ubyte.gz").is_file() or (candidate / "mnist").is_dir():
            return candidate
    pytest.fail(
        "real MNIST not found: set BACKPROPLAB_DATA to the folder of the four MNIST files "
        "(e.g. export BACKPROPLAB_DATA=$PWD/../shared/data/mnist) or run the tests with `make test`"
    )


@pytest.fixture(scope="module")
def real():
    return mnist.load(real_data_dir(), download=False)


# ---------------------------------------------------------------------------------------------
# Real MNIST


def test_real_split_sizes_shapes_and_types(real):
    assert (real.train.num_examples, real.validation.num_examples, real.test.num_examples) == (55000, 5000, 10000)
    for split in (real.train, real.validation, real.test):
        assert split.images.shape == (split.num_examples, 784) and split.images.dtype == np.float32
        assert split.labels.shape == (split.num_examples,) and split.labels.dtype == np.int64
        assert split.images.min() == 0.0 and split.images.max() == 1.0


def test_real_validation_is_the_first_training_images(real):
    assert real.validation.labels[:10].tolist() == FIRST_TRAIN_LABELS
    assert real.test.labels[:10].tolist() == FIRST_TEST_LABELS
    all_train = np.concatenate([real.validation.labels, real.train.labels])
    assert np.bincount(all_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(real.test.labels, minlength=10).tolist() == TEST_COUNTS


def test_real_pixel_statistics(real):
    pixels = np.concatenate([real.validation.images, real.train.images])
    assert pixels.mean(dtype=np.float64) == pytest.approx(PIXEL_MEAN, abs=1e-7)
    assert pixels.std(dtype=np.float64) == pytest.approx(PIXEL_STD, abs=1e-6)
    # Pixels are k/255 exactly (to float32): the 256 grey levels survive the scaling.
    assert np.unique(real.test.images).size == 256


def test_real_next_batch_covers_each_training_example_once_per_epoch(real):
    train = mnist.DataSet(real.train.images, real.train.labels, seed=11)
    probe = np.random.default_rng(0).standard_normal(784)
    expected = np.sort(train.images @ probe)  # a fingerprint per image
    for epoch in range(2):
        batches = [train.next_batch(50) for _ in range(1100)]
        assert train.epochs_completed == epoch + 1
        images = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
        np.testing.assert_array_equal(np.sort(images @ probe), expected)
        assert np.bincount(labels).tolist() == np.bincount(train.labels).tolist()
        assert not np.array_equal(labels[:500], train.labels[:500])  # shuffled, not file order


def test_real_batches_are_reproducible_from_the_seed(real):
    def first_labels(seed):
        ds = mnist.DataSet(real.train.images, real.train.labels, seed=seed)
        return np.concatenate([ds.next_batch(50)[1] for _ in range(20)])

    np.testing.assert_array_equal(first_labels(3), first_labels(3))
    assert not np.array_equal(first_labels(3), first_labels(4))


def test_real_verify_and_cli(real, capsys):
    report = mnist.verify(real_data_dir())
    assert report["ok"], report["problems"]
    assert report["splits"] == {"train": 55000, "validation": 5000, "test": 10000}
    assert [f["sha256"] for f in report["files"]] == list(mnist.SHA256["mnist"].values())
    assert main(["data", "verify", "--data-dir", str(real_data_dir())]) == 0
    out = capsys.readouterr().out
    assert "splits: train 55000, validation 5000, test 10000" in out
    assert out.count(" ok ") == 4


def test_real_files_are_found_through_the_environment_variable(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_DATA", str(real_data_dir()))
    found = mnist.resolve_data_dir(None, "mnist")
    assert all(mnist.find_files(found).values())


# ---------------------------------------------------------------------------------------------
# Small IDX sets written here


def write_set(directory: Path, n_train=20, n_test=8, gz=True, seed=0, **overrides) -> dict[str, np.ndarray]:
    """Write a small MNIST-layout data set; ``overrides`` replace a role's bytes. Returns the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for role, array in arrays.items():
        data = overrides.get(role, to_idx_bytes(array))
        name = mnist.FILES[role]
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return arrays


def load_small(directory, **kwargs):
    kwargs.setdefault("validation_size", 5)
    return mnist.load(directory, verify_checksums=False, download=False, **kwargs)


@pytest.mark.parametrize("gz", [True, False])
def test_small_set_gzip_and_raw_load_and_split(tmp_path, gz):
    arrays = write_set(tmp_path, gz=gz)
    data = load_small(tmp_path)
    flat = arrays["train_images"].reshape(20, 784).astype(np.float64) / 255
    np.testing.assert_allclose(data.validation.images, flat[:5], rtol=1e-6)
    np.testing.assert_allclose(data.train.images, flat[5:], rtol=1e-6)
    np.testing.assert_array_equal(data.validation.labels, arrays["train_labels"][:5])
    np.testing.assert_array_equal(data.train.labels, arrays["train_labels"][5:])
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])
    np.testing.assert_allclose(data.test.images, arrays["test_images"].reshape(8, 784) / 255, rtol=1e-6)


def test_validation_size_zero_and_out_of_range(tmp_path):
    write_set(tmp_path)
    data = load_small(tmp_path, validation_size=0)
    assert (data.train.num_examples, data.validation.num_examples) == (20, 0)
    with pytest.raises(ValueError, match="batch_size must be between 1 and the number of examples"):
        data.validation.next_batch(1)
    with pytest.raises(UsageError, match="validation_size must be between 0 and 20"):
        load_small(tmp_path, validation_size=21)
    with pytest.raises(UsageError, match="unknown data set 'cifar'"):
        mnist.load(tmp_path, dataset="cifar")


def test_checksum_mismatch_names_the_file(tmp_path):
    write_set(tmp_path)
    with pytest.raises(mnist.ChecksumError, match=r"train-images-idx3-ubyte\.gz: SHA-256 mismatch: got [0-9a-f]{64}"):
        mnist.load(tmp_path, validation_size=5, download=False)


def test_counts_that_disagree(tmp_path):
    labels = to_idx_bytes(np.zeros(19, np.uint8))
    write_set(tmp_path, train_labels=labels)
    with pytest.raises(
        IDXError, match=r"counts disagree:.*train-images.* holds 20 images but .*train-labels.* 19 labels"
    ):
        load_small(tmp_path)


@pytest.mark.parametrize(
    ("role", "data", "message"),
    [
        ("test_images", b"\x00\x00\x08\x01" + bytes(20), r"t10k-images-idx3-ubyte.gz: wrong magic number 0x00000801"),
        ("train_labels", to_idx_bytes(np.zeros(20, np.uint8))[:-3], r"train-labels-idx1-ubyte.gz: truncated"),
        (
            "train_images",
            to_idx_bytes(np.zeros((20, 32, 32), np.uint8)),
            r"train-images-idx3-ubyte.gz: wrong image size 32x32, expected 28x28",
        ),
    ],
)
def test_each_damage_gives_its_own_error(tmp_path, role, data, message):
    write_set(tmp_path, **{role: data})
    with pytest.raises(IDXError, match=message):
        load_small(tmp_path)
    report = mnist.verify(tmp_path)
    assert not report["ok"] and any("damaged" == f["status"] for f in report["files"])


def test_truncated_gzip_file_on_disk(tmp_path):
    write_set(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte\.gz: truncated gzip archive"):
        load_small(tmp_path)


def test_raw_file_preferred_over_gzip_and_mixed_layout(tmp_path):
    arrays = write_set(tmp_path, gz=True)
    other = np.full((20, 28, 28), 7, np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(to_idx_bytes(other))
    data = load_small(tmp_path)
    assert np.all(data.train.images == np.float32(7 / 255))
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])


def test_missing_files_offline_give_the_helpful_message(tmp_path):
    write_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(mnist.MissingDataError) as info:
        mnist.load(tmp_path, download=False)
    message = str(info.value)
    assert f"missing in {tmp_path}: t10k-labels-idx1-ubyte[.gz]" in message
    assert "train-images" not in message.split("(looked in")[0]
    assert "--data-dir" in message and "BACKPROPLAB_DATA" in message and "backproplab data download" in message


def test_offline_environment_variable_blocks_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_OFFLINE", "1")
    with pytest.raises(mnist.MissingDataError, match="Download skipped"):
        mnist.load(tmp_path / "empty")


def test_cli_verify_reports_damage_in_one_line(tmp_path, capsys):
    write_set(tmp_path)
    assert main(["data", "verify", "--data-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "checksum mismatch" in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("backproplab data: error: ")
    assert "SHA-256 mismatch" in lines[0] and "(and 3 more)" in lines[0]
    assert main(["data", "verify", "--data-dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "MNIST files missing in" in err and "backproplab data download" in err


def test_wrong_data_set_is_recognised(tmp_path):
    # Files with the MNIST content asked for as Fashion-MNIST: say so instead of a bare mismatch.
    write_set(tmp_path)
    digests = {
        role: hashlib.sha256(gzip.decompress((tmp_path / f"{name}.gz").read_bytes())).hexdigest()
        for role, name in mnist.FILES.items()
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(mnist.SHA256, "mnist", digests)
        assert mnist.load(tmp_path, validation_size=5, download=False).test.num_examples == 8
        with pytest.raises(mnist.ChecksumError, match="this is the MNIST file, not Fashion-MNIST's"):
            mnist.load(tmp_path, validation_size=5, dataset="fashion-mnist", download=False)


# ---------------------------------------------------------------------------------------------
# Where the files are looked for


def test_data_dir_may_be_the_folder_or_its_parent(tmp_path):
    write_set(tmp_path / "mnist")
    write_set(tmp_path / "own")
    assert mnist.resolve_data_dir(tmp_path, "mnist") == tmp_path / "mnist"
    assert mnist.resolve_data_dir(tmp_path / "own", "fashion-mnist") == tmp_path / "own"
    with pytest.raises(UsageError, match="must be a folder"):
        mnist.resolve_data_dir(tmp_path / "own" / "t10k-labels-idx1-ubyte.gz")


def test_environment_variable_semantics(tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "backproplab"
    monkeypatch.setattr(locate, "SYSTEM_DIRS", {"fashion-mnist": tmp_path / "system"})
    monkeypatch.setenv("BACKPROPLAB_DATA", "")  # empty = unset
    assert mnist.resolve_data_dir(None, "mnist") == cache / "mnist"
    assert mnist.resolve_data_dir(None, "fashion-mnist") == cache / "fashion-mnist"
    write_set(tmp_path / "system")
    assert mnist.resolve_data_dir(None, "fashion-mnist") == tmp_path / "system"

    folder = tmp_path / "mnist-folder"  # BACKPROPLAB_DATA = the folder of the four MNIST files
    write_set(folder)
    monkeypatch.setenv("BACKPROPLAB_DATA", str(folder))
    assert mnist.resolve_data_dir(None, "mnist") == folder
    assert mnist.resolve_data_dir(None, "fashion-mnist") == tmp_path / "system"
    (tmp_path / "system" / "train-images-idx3-ubyte.gz").unlink()
    assert mnist.resolve_data_dir(None, "fashion-mnist") == cache / "fashion-mnist"  # never into folder

    parent = tmp_path / "parent"  # BACKPROPLAB_DATA = a parent of mnist/ and fashion-mnist/
    write_set(parent / "mnist")
    write_set(parent / "fashion-mnist")
    monkeypatch.setenv("BACKPROPLAB_DATA", str(parent))
    assert mnist.resolve_data_dir(None, "mnist") == parent / "mnist"
    assert mnist.resolve_data_dir(None, "fashion-mnist") == parent / "fashion-mnist"
    assert mnist.resolve_data_dir(tmp_path / "elsewhere", "mnist") == tmp_path / "elsewhere"  # argument wins
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BACKPROPLAB_DATA", str(empty))
    assert mnist.resolve_data_dir(None, "mnist") == empty  # downloads go into the folder itself
    assert mnist.resolve_data_dir(None, "fashion-mnist") == empty / "fashion-mnist"


# ---------------------------------------------------------------------------------------------
# Batches


def ids_set(n: int, seed=0) -> mnist.DataSet:
    """A DataSet whose single feature is the example's index, so batches show which examples they hold."""
    return mnist.DataSet(np.arange(n, dtype=np.float32).reshape(n, 1), np.arange(n, dtype=np.int64), seed)


@pytest.mark.parametrize(("n", "batch"), [(103, 10), (10, 4), (12, 12), (7, 1)])
def test_every_example_once_per_epoch(n, batch):
    ds = ids_set(n)
    served = np.concatenate([ds.next_batch(batch)[1] for _ in range(5 * n // batch)])
    epochs = served[: (len(served) // n) * n].reshape(-1, n)
    assert len(epochs) == ds.epochs_completed
    for order in epochs:
        assert sorted(order.tolist()) == list(range(n))
    if n > 3:
        assert not np.array_equal(epochs[0], epochs[1])  # reshuffled at the epoch boundary


def test_batch_across_the_boundary_joins_the_old_and_the_new_epoch():
    ds = ids_set(10, seed=5)
    first = [ds.next_batch(4)[1] for _ in range(2)]
    assert ds.epochs_completed == 0 and ds.index_in_epoch == 8
    images, labels = ds.next_batch(4)
    old_rest = sorted(set(range(10)) - set(np.concatenate(first).tolist()))
    assert sorted(labels[:2].tolist()) == old_rest
    assert ds.epochs_completed == 1 and ds.index_in_epoch == 2
    np.testing.assert_array_equal(images[:, 0], labels)  # images and labels stay paired
    ds2 = ids_set(10, seed=5)
    for _ in range(5):
        ds2.next_batch(5)
    assert ds2.epochs_completed == 2  # an epoch counts as soon as its last example is served


@pytest.mark.parametrize("bad", [0, -1, 11, 2.5, True, "3"])
def test_bad_batch_sizes(bad):
    with pytest.raises(ValueError, match="batch_size"):
        ids_set(10).next_batch(bad)


def test_state_dict_resumes_the_exact_order(tmp_path):
    ds = ids_set(23, seed=9)
    for _ in range(7):
        ds.next_batch(5)
    state = json.loads(json.dumps(ds.state_dict()))  # plain values: survives JSON
    expected = [ds.next_batch(5)[1].tolist() for _ in range(12)]
    resumed = ids_set(23, seed=123)
    resumed.load_state_dict(state)
    assert resumed.epochs_completed == state["epochs_completed"] == 1
    assert [resumed.next_batch(5)[1].tolist() for _ in range(12)] == expected


def test_state_dict_survives_torch_save_with_weights_only(tmp_path):
    ds = ids_set(8, seed=1)
    ds.next_batch(3)
    torch.save({"data": ds.state_dict()}, tmp_path / "ckpt.pt")
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)["data"]
    expected = ds.next_batch(6)[1]
    resumed = ids_set(8)
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(resumed.next_batch(6)[1], expected)


def test_load_state_dict_rejects_foreign_states():
    state = ids_set(10).state_dict()
    with pytest.raises(ValueError, match="for 10 examples, this data set has 11"):
        ids_set(11).load_state_dict(state)
    with pytest.raises(ValueError, match="not a permutation"):
        ids_set(10).load_state_dict({**state, "permutation": [0] * 10})
    with pytest.raises(ValueError, match="not a DataSet state"):
        ids_set(10).load_state_dict({"index": 0})


def test_load_is_reproducible_from_the_seed(tmp_path):
    write_set(tmp_path, n_train=40)

    def order(seed):
        train = load_small(tmp_path, seed=seed).train
        return np.concatenate([train.next_batch(7)[0][:, 0] for _ in range(10)])

    np.testing.assert_array_equal(order(2), order(2))
    assert not np.array_equal(order(2), order(3))


# ---------------------------------------------------------------------------------------------
# Each problem called by its name (missing, not a file, unreadable, damaged)


def published_set(directory: Path, monkeypatch) -> dict[str, np.ndarray]:
    """A small set whose SHA-256 values stand in for the published MNIST ones."""
    arrays = write_set(directory)
    digests = {
        role: hashlib.sha256(gzip.decompress((directory / f"{name}.gz").read_bytes())).hexdigest()
        for role, name in mnist.FILES.items()
    }
    monkeypatch.setitem(mnist.SHA256, "mnist", digests)
    return arrays


def test_force_download_offline_on_a_damaged_file_names_the_damage(tmp_path, monkeypatch, capsys):
    published_set(tmp_path, monkeypatch)
    damaged = tmp_path / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(20)))
    with pytest.raises(mnist.DataError) as info:
        mnist.fetch(tmp_path, download=False, force=True)
    message = str(info.value)
    assert "missing" not in message
    assert message.startswith(f"{damaged}: wrong magic number 0x00000801")
    assert "Download skipped" in message and "backproplab data download --force" in message
    monkeypatch.setenv("BACKPROPLAB_OFFLINE", "1")
    assert main(["data", "download", "--force", "--data-dir", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"backproplab data: error: {damaged}: wrong magic number")
    assert "missing" not in err[0]


def make_unreadable(path: Path, monkeypatch) -> None:
    """Take away read permission; as root (who reads anything) make opening it fail as it would for
    anyone else."""
    path.chmod(0)
    if os.geteuid() == 0:
        real_open = Path.open

        def guarded_open(self, *args, **kwargs):
            if self == path:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", guarded_open)


def test_an_unreadable_file_is_called_unreadable_not_damaged(tmp_path, monkeypatch, capsys):
    published_set(tmp_path, monkeypatch)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    make_unreadable(path, monkeypatch)
    report = mnist.verify(tmp_path, validation_size=5)
    assert {f["role"]: f["status"] for f in report["files"]} == {
        "train_images": "ok",
        "train_labels": "unreadable",
        "test_images": "ok",
        "test_labels": "ok",
    }
    assert report["problems"] == [
        f"{path}: the file is there but cannot be read (Permission denied): give yourself read access "
        f"(chmod u+r {path}) or use another copy"
    ]
    with pytest.raises(mnist.UnreadableDataError, match="cannot be read"):
        mnist.load(tmp_path, validation_size=5, download=False)
    assert main(["data", "verify", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be read (Permission denied)" in err[0] and "damaged" not in err[0]


@pytest.mark.parametrize("kind", ["folder", "broken link"])
def test_something_else_under_a_file_name_is_called_not_a_file(tmp_path, monkeypatch, capsys, kind):
    published_set(tmp_path, monkeypatch)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.unlink()
    if kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "gone")
    expected = f"{path} is a {'folder' if kind == 'folder' else 'broken symbolic link'}, not a data file"
    report = mnist.verify(tmp_path, validation_size=5)
    assert [f["status"] for f in report["files"]] == ["ok", "ok", "ok", "not a file"]
    assert len(report["problems"]) == 1 and report["problems"][0].startswith(expected)
    for allowed in (False, True):  # no download can put a file there: not even tried
        with pytest.raises(mnist.MissingDataError, match=expected) as info:
            mnist.load(tmp_path, validation_size=5, download=allowed)
        assert "missing" not in str(info.value)
    assert main(["data", "verify", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and "missing" not in err[0]


def test_require_checks_every_file_and_lists_every_problem(tmp_path, monkeypatch):
    published_set(tmp_path, monkeypatch)
    assert mnist.require(tmp_path, download=False) == tmp_path
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(to_idx_bytes(np.full(20, 3, np.uint8))))  # well-formed, altered
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(mnist.DataError) as info:
        mnist.require(tmp_path, download=False)
    message = str(info.value)
    assert f"{labels}: SHA-256 mismatch" in message and "t10k-images-idx3-ubyte.gz: damaged gzip" in message
    assert "backproplab data download --force" in message and "\n" not in message
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(mnist.MissingDataError, match=r"missing in .*: t10k-labels-idx1-ubyte\[\.gz\]"):
        mnist.require(tmp_path, download=False)


# ---------------------------------------------------------------------------------------------
# Decompression bounded by the known sizes


def gzip_bomb(head: bytes, zeros: int) -> bytes:
    """A gzip archive of ``head`` followed by ``zeros`` zero bytes (about 1 KB per MB), built in pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [packer.compress(head), *(packer.compress(block) for _ in range(zeros >> 20)), packer.flush()]
    return b"".join(parts)


def test_a_gzip_bomb_fails_at_the_known_size_with_bounded_memory(tmp_path, monkeypatch):
    published_set(tmp_path, monkeypatch)
    # A labels file whose header is right (60,000 labels) but which expands to 48 MB.
    bomb = gzip_bomb(struct.pack(">II", 0x801, 60000), 48 << 20)
    assert len(bomb) < 200_000
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte\.gz: the gzip archive expands past the 60008"):
            mnist.load(tmp_path, validation_size=5, download=False)
        report = mnist.verify(tmp_path, validation_size=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report["files"][1]["status"] == "damaged" and "expands past" in report["problems"][0]
    assert peak < 16 << 20  # the small set and one bounded read, not the 48 MB
    # A header that announces more than the known file holds fails before any data is inflated.
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip_bomb(struct.pack(">II", 0x801, 2**32 - 1), 0))
    with pytest.raises(IDXError, match="the IDX header announces 4294967303 bytes, more than the 60008"):
        mnist.load(tmp_path, validation_size=5, download=False)
