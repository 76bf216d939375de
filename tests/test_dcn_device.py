"""The device path of DCN training: batches drawn on the device in the CPU's order, the device-side
loss buffer (run both ways on the CPU), evaluation counted on the device; and the CUDA tests, which
run only where a GPU is present (listed in docs/performance.md; `benchmarks/gpu_check.sh` runs them)."""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from backproplab.datasets import mnist
from backproplab.dcn import DCN, TrainingDiverged, make_optimizer, train
from backproplab.dcn import training as train_module
from backproplab.dcn.device_batches import DeviceBatches
from backproplab.dcn.loss_buffer import LossBuffer
from backproplab.monitoring import read_scalars
from test_dcn_train import small_config, synthetic_mnist

CPU = torch.device("cpu")


def cuda_test(test):
    """Mark ``test`` as a CUDA test (``-m cuda`` selects them): it needs a CUDA build of torch and a CUDA GPU,
    so it is skipped where either is missing (the project's CPU wheel, CI), with that reason.
    ``benchmarks/gpu_check.sh`` runs them on a GPU and records when they last passed."""
    build = f"a CUDA {torch.version.cuda} build" if torch.version.cuda else "a CPU-only build"
    reason = f"needs a CUDA build of torch and a CUDA GPU (here torch {torch.__version__}, {build}, no GPU visible)"
    return pytest.mark.cuda(pytest.mark.skipif(not torch.cuda.is_available(), reason=reason)(test))


pytestmark = pytest.mark.usefixtures("one_thread")


def _batches_agree(device: torch.device) -> None:
    rng = np.random.default_rng(1)
    images = rng.random((23, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 23)
    reference = mnist.DataSet(images, labels, seed=7)
    reference.next_batch(5)  # start mid-epoch, as a resumed run does
    batches = DeviceBatches(reference, device)
    before = reference.state_dict()
    for size in (5, 9, 9, 4, 23, 6):  # batches that cross epoch ends
        x, y = batches.next_batch(size)
        xs, ys = reference.next_batch(size)
        assert x.device.type == y.device.type == device.type
        assert np.array_equal(x.cpu().numpy(), xs) and np.array_equal(y.cpu().numpy(), ys)
    assert batches.state_dict() == reference.state_dict() != before


def test_device_batches_follow_the_data_set_order_across_epochs() -> None:
    _batches_agree(CPU)


def test_device_batches_leave_the_data_set_alone() -> None:
    data = synthetic_mnist()
    before = data.train.state_dict()
    DeviceBatches(data.train, CPU).next_batch(50)
    assert data.train.state_dict() == before


def test_loss_buffer_reads_exactly_what_item_reads() -> None:
    values = [torch.tensor(v, dtype=torch.float32) for v in (0.1, 2.3e-7, 1e30, float("inf"), float("nan"), -0.0)]
    buffer = LossBuffer(every_step=False)
    assert not buffer.due(interval_end=True)  # nothing pending
    for step, value in enumerate(values, 10):
        buffer.add(step, value)
        assert not buffer.due(interval_end=False)
    assert buffer.due(interval_end=True) and len(buffer) == len(values)
    read = buffer.read()
    assert [s for s, _ in read] == list(range(10, 16)) and len(buffer) == 0
    for (_, got), tensor in zip(read, values, strict=True):
        assert repr(got) == repr(tensor.item())  # same bits, NaN and signed zero included
    per_step = LossBuffer(every_step=True)
    per_step.add(0, values[0])
    assert per_step.due(interval_end=False) and per_step.read() == [(0, values[0].item())]


@pytest.fixture
def buffered(monkeypatch):
    """Run the GPU's buffered loss path on the CPU."""
    monkeypatch.setattr(train_module, "_reads_loss_every_step", lambda device: False)


def _run_both_ways(tmp_path, monkeypatch, **overrides) -> tuple[dict, dict]:
    data = synthetic_mnist()
    results = {}
    read_sizes: list[int] = []

    class CountingBuffer(LossBuffer):
        def read(self) -> list[tuple[int, float]]:
            read = super().read()
            read_sizes.append(len(read))
            return read

    monkeypatch.setattr(train_module, "LossBuffer", CountingBuffer)
    for mode in ("per_step", "buffered"):
        monkeypatch.setattr(train_module, "_reads_loss_every_step", lambda device, m=mode: m == "per_step")
        seen: list[tuple[int, float]] = []
        read_sizes.clear()
        config = small_config(tmp_path, out=str(tmp_path / mode), threads=1, **overrides)
        try:
            metrics = train(config, data, progress=False, callback=lambda s, v, seen=seen: seen.append((s, v)))
        except TrainingDiverged as exc:
            metrics = exc.metrics
        results[mode] = {"metrics": metrics, "seen": seen, "scalars": read_scalars(tmp_path / mode)}
        results[mode]["read_sizes"] = [n for n in read_sizes if n]
    return results["per_step"], results["buffered"]


def test_buffered_losses_equal_per_step_reads(tmp_path, monkeypatch) -> None:
    # monitor every 4 steps, evaluate every 3: reads at both kinds of boundary.
    per_step, buffered = _run_both_ways(tmp_path, monkeypatch, steps=8, eval_every=3, monitor_every=4)
    losses = per_step["scalars"]["train/loss"]
    assert [s for s, _ in losses] == list(range(8))
    # Buffered reads come at monitored steps (0, 4, 7) and before evaluations (after 3 and 6 steps).
    assert per_step["read_sizes"] == [1] * 8 and buffered["read_sizes"] == [1, 2, 2, 1, 2]
    assert buffered["scalars"]["train/loss"] == losses  # exactly: same steps, same float32 values
    assert buffered["seen"] == per_step["seen"] == losses  # the callback sees every step, in order
    for key in ("train_loss", "validation_error", "test_error"):
        assert buffered["metrics"]["curves"][key] == per_step["metrics"]["curves"][key], key
    a = torch.load(tmp_path / "per_step" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "buffered" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_buffered_divergence_reports_the_first_nonfinite_step(tmp_path, monkeypatch) -> None:
    settings = {"optimizer": "sgd", "lr": 1e8, "steps": 20, "eval_every": 10, "monitor_every": 7}
    per_step, buffered = _run_both_ways(tmp_path, monkeypatch, **settings)
    first_bad = per_step["metrics"]["final"]["diverged_at_step"]
    final = buffered["metrics"]["final"]
    assert buffered["metrics"]["status"] == "diverged" and final["diverged_at_step"] == first_bad
    assert final["steps_done"] == first_bad
    # The curve stops at the first non-finite loss, as with per-step reads (repr: NaN equals NaN).
    curves = [[(s, repr(v)) for s, v in r["scalars"]["train/loss"]] for r in (per_step, buffered)]
    assert curves[0] == curves[1] and curves[0][-1][0] == first_bad
    assert not math.isfinite(buffered["scalars"]["train/loss"][-1][1])
    saved = json.loads((tmp_path / "buffered" / "metrics.json").read_text())
    assert saved["status"] == "diverged" and saved["final"]["diverged_at_step"] == first_bad


def test_buffered_interrupt_keeps_the_read_and_unread_losses(tmp_path, buffered) -> None:
    def stop(step: int, loss: float) -> None:
        if step == 2:
            raise KeyboardInterrupt

    config = small_config(tmp_path, steps=9, eval_every=3, monitor_every=100, threads=1)
    with pytest.raises(KeyboardInterrupt):
        train(config, synthetic_mnist(), progress=False, callback=stop)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "interrupted" and saved["final"]["steps_done"] == 3
    assert [s for s, _ in read_scalars(tmp_path / "run")["train/loss"]] == [0, 1, 2]


def test_evaluate_counts_on_the_device_in_any_batch_size() -> None:
    torch.manual_seed(0)
    model = DCN()
    data = synthetic_mnist(n_eval=37)
    images, labels = torch.from_numpy(data.test.images), torch.from_numpy(data.test.labels)
    with torch.no_grad():
        model.eval()
        expected = float((model(images).argmax(1) == labels).float().mean())
    no_autocast = train_module.make_autocast(CPU, "fp32")
    for batch_size in (1, 5, 37, 1000):
        assert train_module.evaluate(model, images, labels, no_autocast, batch_size) == pytest.approx(expected)


def test_evaluate_from_train_mode_measures_with_dropout_off_and_leaves_training_on() -> None:
    # Training calls evaluate() in train mode. Labels are the eval-mode predictions, so dropout off scores
    # exactly 1; dropout 0.5 left on flips the argmax of an untrained network on many of the 200 images.
    torch.manual_seed(0)
    model = DCN(dropout=0.5)
    images = torch.from_numpy(synthetic_mnist(n_eval=200).test.images)
    with torch.no_grad():
        labels = model.eval()(images).argmax(1)
    model.train()
    no_autocast = train_module.make_autocast(CPU, "fp32")
    assert train_module.evaluate(model, images, labels, no_autocast, batch_size=64) == 1.0
    assert model.training


# ----------------------------------------------------------------------------- CUDA (marked cuda, skipped without one)


def test_the_guide_lists_exactly_the_cuda_tests() -> None:
    readme = (Path(__file__).parents[1] / "docs" / "performance.md").read_text(encoding="utf-8")
    section = readme.split("<!-- cuda-tests -->")[1].split("<!-- /cuda-tests -->")[0]
    marked = {
        name
        for name, test in globals().items()
        if name.startswith("test_") and any(mark.name == "cuda" for mark in getattr(test, "pytestmark", []))
    }
    assert marked and set(re.findall(r"`(test_\w+)`", section)) == marked


GPU = torch.device("cuda") if torch.cuda.is_available() else None


@cuda_test
def test_cuda_batches_follow_the_cpu_order() -> None:
    _batches_agree(GPU)


@cuda_test
def test_cuda_steps_that_do_not_log_never_wait_for_the_gpu() -> None:
    data = synthetic_mnist()
    torch.manual_seed(0)
    model = DCN().to(GPU, memory_format=torch.channels_last)
    optimizer = make_optimizer("adam", model.parameters())
    batches = DeviceBatches(data.train, GPU)
    autocast = train_module.make_autocast(GPU, "fp32")
    losses = LossBuffer(every_step=False)

    def step(i: int) -> None:
        x, y = batches.next_batch(10)
        _, loss = train_module.forward_backward(model, optimizer, x.view(-1, 1, 28, 28), y, autocast)
        losses.add(i, loss)
        optimizer.step()

    for i in range(3):  # warm-up: the first steps allocate and pick algorithms
        step(i)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for i in range(3, 13):
            step(i)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(losses.read()) == 13


@cuda_test
def test_cuda_run_records_the_gpu_and_trains(tmp_path) -> None:
    config = small_config(tmp_path, device="cuda", steps=12, eval_every=6, monitor_every=5)
    metrics = train(config, synthetic_mnist(), progress=False)
    assert metrics["status"] == "completed" and metrics["device"].startswith("cuda:")
    assert metrics["gpu_name"] == torch.cuda.get_device_name(0)
    expected = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    assert metrics["precision"] == expected
    losses = read_scalars(tmp_path / "run")["train/loss"]
    assert [s for s, _ in losses] == list(range(12)) and all(math.isfinite(v) for _, v in losses)
    assert 0 <= metrics["test_error"] <= 1


@cuda_test
def test_cuda_buffered_losses_equal_per_step_reads(tmp_path, monkeypatch) -> None:
    per_step, buffered = _run_both_ways(tmp_path, monkeypatch, device="cuda", deterministic=True, steps=9)
    assert buffered["scalars"]["train/loss"] == per_step["scalars"]["train/loss"]


@cuda_test
def test_cuda_resume_is_bit_exact_with_deterministic(tmp_path) -> None:
    data = synthetic_mnist()
    common = {"device": "cuda", "deterministic": True, "steps": 7}
    train(small_config(tmp_path, out=str(tmp_path / "whole"), **common), data, progress=False)

    def interrupt(step: int, loss: float) -> None:
        if step == 4:
            raise KeyboardInterrupt

    broken = small_config(tmp_path, out=str(tmp_path / "broken"), **common)
    with pytest.raises(KeyboardInterrupt):
        train(broken, data, progress=False, callback=interrupt)
    train(small_config(tmp_path, out=str(tmp_path / "broken"), resume=True, **common), data, progress=False)
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "broken" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_training_step_fills_the_capture_with_the_networks_own_tensors() -> None:
    """The step TensorBoard records: forward_backward hands the capture to the network, so it holds every
    layer's tensors, the last being the step's own logits (compared with a plain eval of the same weights)."""
    torch.manual_seed(0)
    model = DCN(dropout=0.0)
    optimizer = make_optimizer("sgd", model.parameters(), 0.1)
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([1, 2, 3])
    capture: dict[str, torch.Tensor] = {}
    logits, _loss = train_module.forward_backward(model, optimizer, x, y, contextlib.nullcontext, capture)
    reference: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        model(x, reference)
    assert capture.keys() == reference.keys() and "fc2/net_input" in capture
    torch.testing.assert_close(capture["fc2/net_input"].detach(), logits.detach())
    torch.testing.assert_close(capture["fc2/net_input"].detach(), reference["fc2/net_input"])


def test_a_batchs_accuracy_is_the_share_of_rows_whose_largest_logit_is_the_label() -> None:
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [0.0, 0.2, 0.1]])
    assert train_module.TorchEngine().batch_accuracy(logits, torch.tensor([1, 0, 2])) == pytest.approx(2 / 3)


def test_monitored_tensors_reach_numpy_as_float_values_without_a_copy_where_they_can() -> None:
    """bfloat16 (autocast) becomes float32, float64 stays float64 (no rounding), and a float32 tensor
    in channels-last layout is read in place: statistics need the values, not their order."""
    from backproplab.dcn.training import _flat_numpy

    half = torch.tensor([[1.5, -2.25], [3.0, 0.125]], dtype=torch.bfloat16)
    flat = _flat_numpy(half)
    assert flat.dtype == np.float32 and flat.tolist() == [1.5, -2.25, 3.0, 0.125]
    exact = torch.tensor([0.1, 1 / 3], dtype=torch.float64)
    assert _flat_numpy(exact).dtype == np.float64 and _flat_numpy(exact).tolist() == [0.1, 1 / 3]
    nhwc = torch.arange(24, dtype=torch.float32).reshape(1, 2, 3, 4).to(memory_format=torch.channels_last)
    flat = _flat_numpy(nhwc)
    assert sorted(flat.tolist()) == list(range(24)) and np.shares_memory(flat, nhwc.numpy())
