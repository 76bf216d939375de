"""Same network, same numbers: the NumPy ConvNet against the PyTorch DCN in float64.

From the same weights, batches and dropout masks the two engines must give the same loss, the same
gradients and, step after step, the same trajectory under SGD and Adam.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backproplab.dcn import model as dcn_model
from backproplab.dcn.model import DCN
from backproplab.mnist_net.choices import INITS as DCN_INITS
from backproplab.numpy_dcn.check import Step, float64_twin, numpy_losses, random_steps, relative_difference
from backproplab.numpy_dcn.convnet import INITS, LAYERS, ConvNet, weight_variable
from backproplab.numpy_dcn.engine import EVAL_BATCH
from backproplab.numpy_dcn.engine import accuracy as numpy_accuracy
from backproplab.scratch.gradcheck import rel_error
from backproplab.scratch.losses import cross_entropy_sum

BATCH = 6


pytestmark = pytest.mark.usefixtures("one_thread")


def twin_networks(activation: str = "relu", init: str = "truncated_normal", seed: int = 0) -> tuple[DCN, ConvNet]:
    """A float64 DCN and a float64 ConvNet holding the DCN's weights."""
    torch.manual_seed(seed)
    dcn = DCN(activation, init, dropout=0.5).double()
    net = float64_twin({name: p.detach().numpy() for name, p in dcn.named_parameters()}, activation)
    return dcn, net


def batches(steps: int, seed: int = 1) -> list[Step]:
    """(images (B, 784) in [0, 1], labels (B,), dropout mask (B, 1024)) for each step."""
    return random_steps(steps, BATCH, seed)


@pytest.fixture
def masks_into_dcn(monkeypatch):
    """Make the DCN's dropout use the masks we hand it (the mask of the current step in ``holder``)."""
    holder: dict[str, torch.Tensor] = {}
    monkeypatch.setattr(dcn_model, "dropout", lambda a, p, training: a * holder["mask"] if training else a)
    return holder


def test_init_names_are_the_dcns() -> None:
    assert tuple(INITS) == tuple(DCN_INITS.names())


@pytest.mark.parametrize("init", DCN_INITS.names())
@pytest.mark.parametrize("shape", [(64, 32, 5, 5), (300, 200)])
def test_initialisations_draw_what_the_dcns_draw(init, shape) -> None:
    torch.manual_seed(0)
    theirs = dcn_model.weight_variable(shape, init).detach().numpy()
    ours = weight_variable(shape, init, np.random.default_rng(0), np.dtype(np.float64))
    assert ours.shape == theirs.shape
    assert ours.std() == pytest.approx(theirs.std(), rel=0.05)
    assert ours.mean() == pytest.approx(0.0, abs=0.1 * float(theirs.std()))
    assert np.abs(ours).max() <= np.abs(theirs).max() * 1.3
    if init == "orthogonal":  # rows (or columns, when there are more rows) orthonormal, as torch makes them
        flat = ours.reshape(shape[0], -1)
        gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        assert np.allclose(gram, np.eye(len(gram)), atol=1e-10)
    if init == "truncated_normal":
        assert np.abs(ours).max() <= 0.2


def test_biases_start_at_the_dcns_constant() -> None:
    net = ConvNet()
    for layer in LAYERS:
        assert np.all(net.parameters_of(layer)[1] == np.float32(dcn_model.BIAS_INIT))


@pytest.mark.parametrize("activation", ["relu", "tanh", "maxout"])
def test_loss_and_every_gradient_match_torch_autograd(activation, masks_into_dcn) -> None:
    dcn, net = twin_networks(activation)
    ((x, y, mask),) = batches(1)
    masks_into_dcn["mask"] = torch.tensor(mask)
    for capture in (None, {}):  # activation before or after pooling: both paths
        _logits, loss = net.loss_and_gradients(x, y, dropout_mask=mask, capture=capture)
        dcn.zero_grad()
        loss_t = F.cross_entropy(dcn(torch.tensor(x)), torch.tensor(y))
        loss_t.backward()
        assert loss == pytest.approx(loss_t.item(), rel=1e-12)
        for (name, p), grad in zip(dcn.named_parameters(), net.gradients(), strict=True):
            assert np.abs(grad - p.grad.numpy()).max() < 1e-10, name


def test_gradients_match_finite_differences_on_sampled_entries() -> None:
    _, net = twin_networks("tanh")
    ((x, y, mask),) = batches(1)
    x, y, mask = x[:2], y[:2], mask[:2]
    net.loss_and_gradients(x, y, dropout_mask=mask)
    grads = [g.copy() for g in net.gradients()]

    def loss() -> float:
        return cross_entropy_sum(net.forward(x, dropout_mask=mask)[0], y) / len(y)

    rng = np.random.default_rng(0)
    for p, g in zip(net.parameters(), grads, strict=True):
        for flat in rng.choice(p.size, 2, replace=False):
            idx = np.unravel_index(flat, p.shape)
            old, h = p[idx], 1e-7  # small: among thousands of pooling windows a near-tie is a kink within 1e-5
            p[idx] = old + h
            plus = loss()
            p[idx] = old - h
            minus = loss()
            p[idx] = old
            numeric = (plus - minus) / (2 * h)
            assert abs(numeric - g[idx]) <= 1e-5 * abs(numeric) + 1e-7


@pytest.mark.parametrize(
    ("optimizer", "lr", "torch_optimizer"),
    [
        ("sgd", 0.05, lambda p, lr: torch.optim.SGD(p, lr=lr)),
        ("adam", 1e-3, lambda p, lr: torch.optim.Adam(p, lr=lr)),
    ],
)
def test_same_network_same_numbers_for_50_steps(optimizer, lr, torch_optimizer, masks_into_dcn) -> None:
    dcn, net = twin_networks("relu")
    opt_t = torch_optimizer(dcn.parameters(), lr)
    steps = batches(50)
    losses = numpy_losses(net, optimizer, lr, steps)
    losses_t = []
    for x, y, mask in steps:
        masks_into_dcn["mask"] = torch.tensor(mask)
        opt_t.zero_grad()
        loss_t = F.cross_entropy(dcn(torch.tensor(x)), torch.tensor(y))
        loss_t.backward()
        opt_t.step()
        losses_t.append(loss_t.item())
    losses_t = np.array(losses_t)
    assert np.max(relative_difference(losses, losses_t)) < 1e-8
    assert losses[-10:].mean() < losses[:10].mean()  # it learned something: the comparison is not of constants
    for (name, p), ours in zip(dcn.named_parameters(), net.parameters(), strict=True):
        assert rel_error(ours, p.detach().numpy()) < 1e-6, name


def test_flops_per_step_is_the_dcns() -> None:
    for activation, pieces in (("relu", 1), ("maxout", 2)):
        net = ConvNet(activation)
        assert net.flops_per_step(50) == dcn_model.flops_per_step(50, pieces)
        assert net.parameter_count() == dcn_model.count_parameters(DCN(activation))


def test_the_reports_agreement_drives_both_engines_through_the_same_steps() -> None:
    """The report's table (experiments.convnet_study): the DCN draws its own dropout masks and the NumPy
    net is handed them; equal losses step after step prove the masks (and batches) are the same."""
    from backproplab.experiments.convnet_study import agreement_losses

    rng = np.random.default_rng(3)
    images, labels = rng.random((24, 784), dtype=np.float32), rng.integers(0, 10, 24)
    ours, theirs = agreement_losses(images, labels, "adam", 1e-3, steps=4, batch_size=6, seed=0)
    assert ours.shape == theirs.shape == (4,)
    assert np.max(relative_difference(ours, theirs)) < 1e-10
    # Without the masks the NumPy net draws its own: the losses part, so the equality above is no accident.
    torch.manual_seed(0)
    dcn = DCN("relu", "truncated_normal", dropout=0.5).double()
    net = float64_twin({name: p.detach().numpy() for name, p in dcn.named_parameters()})
    first = net.loss_and_gradients(images[:6].astype(np.float64), labels[:6])[1]
    assert abs(first - theirs[0]) / theirs[0] > 1e-6


def test_accuracy_is_the_share_the_dcn_classifies_alike_across_evaluation_batches() -> None:
    """The numpy engine's accuracy against the DCN's own predictions (torch, dropout off), on a set one
    evaluation batch and three images long: the last, short batch counts as the others do."""
    dcn, net = twin_networks()
    n, right = EVAL_BATCH + 3, 100
    images = np.random.default_rng(2).random((n, 784))
    with torch.no_grad():
        predicted = dcn.eval()(torch.from_numpy(images)).argmax(1).numpy()
    labels = predicted.copy()
    labels[right:] = (predicted[right:] + 1) % 10  # wrong for every image after the first ``right``
    assert numpy_accuracy(net, images, labels) == right / n


def test_a_training_pass_without_a_given_mask_draws_dropout_and_fills_the_capture(masks_into_dcn) -> None:
    """Training as the engine runs it: no mask handed in, so the network draws one from its generator;
    the DCN, handed that same mask, gives the same logits, and the capture holds the DCN's tags with the
    same fully connected tensors."""
    dcn, net = twin_networks()
    ((x, y, _mask),) = batches(1)
    state = net.rng.bit_generator.state
    ours: dict[str, np.ndarray] = {}
    logits, _loss = net.loss_and_gradients(x, y, capture=ours)
    net.rng.bit_generator.state = state
    masks_into_dcn["mask"] = torch.tensor(net.dropout.make_mask((BATCH, 1024), net.dtype))
    theirs: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        logits_t = dcn.train()(torch.tensor(x), capture=theirs)
    assert np.abs(logits - logits_t.numpy()).max() < 1e-10
    assert ours.keys() == theirs.keys()
    for tag in ("fc1/net_input", "fc1/activation", "fc2/net_input"):
        assert np.abs(ours[tag] - theirs[tag].numpy()).max() < 1e-10, tag


def test_no_images_give_an_empty_integer_prediction() -> None:
    net = ConvNet()
    predicted = net.predict(np.zeros((0, 784), dtype=np.float32))
    assert predicted.shape == (0,) and predicted.dtype.kind == "i"


def test_a_float32_net_computes_float64_images_in_float32_and_trains_by_default() -> None:
    """forward() without ``training`` is a training pass: it draws a dropout mask, so its logits differ
    from the evaluation pass's; images given in float64 are computed in the network's float32."""
    net = ConvNet()
    images = np.random.default_rng(4).random((3, 784))
    evaluated = net.forward(images, training=False)[0]
    assert evaluated.dtype == np.float32
    assert not np.array_equal(net.forward(images)[0], evaluated)


def test_the_default_seed_is_0_and_truncated_normal_redraws_each_entry_on_its_own() -> None:
    """Weights drawn twice from the default seed are the same; the truncated normal's redraws are fresh
    draws, one per entry outside two standard deviations (a continuous draw repeats no value)."""
    first, again, other = ConvNet(), ConvNet(seed=0), ConvNet(seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(first.parameters(), again.parameters(), strict=True))
    assert not np.array_equal(first.parameters()[0], other.parameters()[0])
    w = weight_variable((300, 200), "truncated_normal", np.random.default_rng(0), np.dtype(np.float64))
    assert np.unique(w).size == w.size
