"""Downloads against a fake network (the one URL-opening function replaced; nothing leaves the machine)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tracemalloc
import urllib.error
import zlib

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.datasets import mnist
from backproplab.datasets.idx import to_idx_bytes
from backproplab.datasets.mnist import download


class FakeResponse(io.BytesIO):
    def __init__(self, body: bytes, length: int | None = None):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body) if length is None else length)}


class FakeNetwork:
    """Serves ``routes`` (url -> bytes, or an exception to raise); records every request."""

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.requests: list[str] = []

    def __call__(self, url: str, timeout: float):
        assert timeout > 0
        self.requests.append(url)
        answer = self.routes.get(url)
        if answer is None:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, tuple):  # (body, announced length)
            return FakeResponse(*answer)
        return FakeResponse(answer)


def small_set(seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 12, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    return arrays, {role: to_idx_bytes(a) for role, a in arrays.items()}


@pytest.fixture
def published(monkeypatch, tmp_path):
    """A small data set whose SHA-256 values stand in for the published ones; isolated folders."""
    arrays, raw = small_set()
    monkeypatch.setitem(mnist.SHA256, "mnist", {role: hashlib.sha256(b).hexdigest() for role, b in raw.items()})
    monkeypatch.setitem(mnist.MIRRORS, "mnist", ("https://one.example/mnist/", "https://two.example/m/"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    monkeypatch.delenv("BACKPROPLAB_OFFLINE", raising=False)
    return arrays, raw


def routes(mirror: str, raw: dict[str, bytes], **replace) -> dict[str, object]:
    return {f"{mirror}{mnist.FILES[r]}.gz": replace.get(r, gzip.compress(b)) for r, b in raw.items()}


def install(monkeypatch, network: FakeNetwork) -> FakeNetwork:
    monkeypatch.setattr(download, "_open_url", network)
    return network


def test_download_falls_back_to_the_next_mirror_and_writes_verified_files(published, monkeypatch, tmp_path):
    arrays, raw = published
    first = {
        url: urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        for url in routes("https://one.example/mnist/", raw)
    }
    net = install(monkeypatch, FakeNetwork({**first, **routes("https://two.example/m/", raw)}))
    target = tmp_path / "data"
    assert mnist.fetch(target, progress=True) == target
    assert len(net.requests) == 8
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{n}.gz" for n in mnist.FILES.values())
    for role, name in mnist.FILES.items():  # what landed on disk is exactly what was served
        assert gzip.decompress((target / f"{name}.gz").read_bytes()) == raw[role]
    data = mnist.load(target, validation_size=2, download=False)
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])
    net.requests.clear()
    mnist.fetch(target)  # present and complete: no request at all
    assert net.requests == []


def test_load_downloads_missing_files_into_the_cache(published, monkeypatch, tmp_path):
    arrays, raw = published
    install(monkeypatch, FakeNetwork(routes("https://one.example/mnist/", raw)))
    data = mnist.load(validation_size=3, progress=False)
    cache = tmp_path / "cache" / "backproplab" / "mnist"
    assert all(mnist.find_files(cache).values())
    np.testing.assert_array_equal(data.validation.labels, arrays["train_labels"][:3])


def test_checksum_mismatch_on_a_mirror_is_rejected_before_anything_is_written(published, monkeypatch, tmp_path):
    _, raw = published
    tampered = bytearray(raw["train_labels"])
    tampered[-1] = (tampered[-1] + 1) % 10
    bad = {"train_labels": gzip.compress(bytes(tampered))}
    net = install(monkeypatch, FakeNetwork(routes("https://one.example/mnist/", raw, **bad)))
    target = tmp_path / "data"
    with pytest.raises(mnist.MissingDataError) as info:
        mnist.fetch(target, progress=False)
    message = str(info.value)
    assert "https://one.example/mnist/train-labels-idx1-ubyte.gz: SHA-256 mismatch" in message
    assert "SHA-256 mismatch" in message and "train-labels-idx1-ubyte[.gz]" in message
    assert not (target / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no temporary files left
    # The good mirror behind it repairs the set.
    net.routes.update(routes("https://two.example/m/", raw))
    mnist.fetch(target, progress=False)
    assert mnist.verify(target, validation_size=2)["ok"]


def test_all_mirrors_failing_gives_the_helpful_message(published, monkeypatch, tmp_path):
    net = install(monkeypatch, FakeNetwork({}))
    with pytest.raises(mnist.MissingDataError) as info:
        mnist.load(tmp_path / "nowhere", progress=False)
    message = str(info.value)
    assert f"MNIST files missing in {tmp_path / 'nowhere'}: train-images-idx3-ubyte[.gz]" in message
    assert "t10k-labels-idx1-ubyte[.gz]" in message
    assert "looked in:" in message and "Download failed: https://one.example/mnist/" in message
    assert "Name or service not known" in message
    assert "--data-dir DIR" in message and "BACKPROPLAB_DATA=DIR" in message
    assert net.requests == [
        "https://one.example/mnist/train-images-idx3-ubyte.gz",
        "https://two.example/m/train-images-idx3-ubyte.gz",
    ]
    assert not (tmp_path / "nowhere").exists()


def test_incomplete_and_damaged_responses_are_failures(published, monkeypatch, tmp_path):
    _, raw = published
    packed = gzip.compress(raw["train_images"])
    net = FakeNetwork(
        {
            "https://one.example/mnist/train-images-idx3-ubyte.gz": (packed[:-10], len(packed)),
            "https://two.example/m/train-images-idx3-ubyte.gz": packed[: len(packed) // 2],
        }
    )
    install(monkeypatch, net)
    with pytest.raises(mnist.MissingDataError) as info:
        mnist.fetch(tmp_path / "d", progress=False)
    assert "incomplete download" in str(info.value) and "truncated gzip archive" in str(info.value)


def test_offline_mode_never_calls_the_network(published, monkeypatch, tmp_path):
    net = install(monkeypatch, FakeNetwork({}))
    monkeypatch.setenv("BACKPROPLAB_OFFLINE", "1")
    with pytest.raises(mnist.MissingDataError, match="Download skipped"):
        mnist.load(tmp_path / "x")
    assert net.requests == []


def test_force_replaces_a_damaged_file(published, monkeypatch, tmp_path):
    _, raw = published
    install(monkeypatch, FakeNetwork(routes("https://one.example/mnist/", raw)))
    target = tmp_path / "data"
    mnist.fetch(target, progress=False)
    (target / "t10k-images-idx3-ubyte").write_bytes(b"garbage")  # a raw file shadows the .gz
    assert not mnist.verify(target, validation_size=2)["ok"]
    mnist.fetch(target, progress=False, force=True)
    assert mnist.verify(target, validation_size=2)["ok"] and not (target / "t10k-images-idx3-ubyte").exists()


def test_cli_download(published, monkeypatch, tmp_path, capsys):
    _, raw = published
    install(monkeypatch, FakeNetwork(routes("https://two.example/m/", raw)))
    assert main(["data", "download", "--data-dir", str(tmp_path / "d"), "--no-progress", "--validation-size", "5"]) == 0
    assert "splits: train 7, validation 5, test 4" in capsys.readouterr().out
    monkeypatch.setattr(download, "_open_url", FakeNetwork({}))
    assert main(["data", "download", "--data-dir", str(tmp_path / "e"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("backproplab data: error: MNIST files missing in")


def test_fashion_mnist_uses_its_own_mirrors_and_checksums(published, monkeypatch, tmp_path):
    _, raw = published
    monkeypatch.setitem(mnist.SHA256, "fashion-mnist", dict(mnist.SHA256["mnist"]))
    monkeypatch.setitem(mnist.SHA256, "mnist", {role: "0" * 64 for role in mnist.FILES})
    mirror = mnist.MIRRORS["fashion-mnist"][0]
    net = install(monkeypatch, FakeNetwork(routes(mirror, raw)))
    data = mnist.load(tmp_path / "f", validation_size=2, dataset="fashion-mnist", progress=False)
    assert data.train.num_examples == 10
    assert net.requests and all(url.startswith(mirror) for url in net.requests)
    with pytest.raises(mnist.ChecksumError, match="SHA-256 mismatch"):
        mnist.load(tmp_path / "f", validation_size=2, dataset="mnist", download=False)


def test_a_gzip_bomb_on_a_mirror_is_stopped_before_it_expands(published, monkeypatch, tmp_path):
    _, raw = published
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    bomb = b"".join(
        [packer.compress(raw["train_labels"]), *(packer.compress(block) for _ in range(32)), packer.flush()]
    )
    assert len(bomb) < 100_000  # 32 MB once expanded
    install(monkeypatch, FakeNetwork(routes("https://one.example/mnist/", raw, train_labels=bomb)))
    target = tmp_path / "data"
    tracemalloc.start()
    try:
        with pytest.raises(mnist.MissingDataError) as info:
            mnist.fetch(target, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    announced = len(raw["train_labels"])
    assert f"train-labels-idx1-ubyte.gz: the gzip archive expands past the {announced} bytes" in str(info.value)
    assert peak < 8 << 20
    assert not (target / "train-labels-idx1-ubyte.gz").exists()
