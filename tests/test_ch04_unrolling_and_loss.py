"""minirnn.chapters.ch04_unrolling_and_loss: the unrolled graph and autograd's op counts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from minirnn.chapters import ch04_unrolling_and_loss as unrolling  # noqa: E402
from minirnn.numpy.models import MaskedCharRNN  # noqa: E402
from minirnn.numpy.optim import SGD, Adam  # noqa: E402


@pytest.mark.parametrize("T", [1, 3, 12])
def test_unrolled_graph_counts(T):
    g = unrolling.unrolled_graph(T)
    assert len(g["nodes"]) == 4 * T + 2 and len(g["edges"]) == 5 * T
    for w in ("W_x", "W_h", "W_y"):
        assert sum(1 for *_, weight in g["edges"] if weight == w) == T
    chain = [(s, d) for s, d, w in g["edges"] if w == "W_h"]
    assert chain[0] == ("h0", "h1") and chain[-1] == (f"h{T - 1}" if T > 1 else "h0", f"h{T}")
    assert all(set(edge[:2]) <= set(g["nodes"]) for edge in g["edges"])


def test_unrolled_graph_rejects_bad_T():
    with pytest.raises(ValueError, match="T: expected a positive integer"):
        unrolling.unrolled_graph(0)


def test_draw_unrolled_draws_every_node_and_edge():
    fig, ax = plt.subplots()
    g = unrolling.draw_unrolled(ax, 3, title="x")
    assert len(ax.patches) == len(g["nodes"]) + len(g["edges"])
    plt.close(fig)


def test_draw_folded_draws_four_nodes_three_arrows_and_the_loop():
    fig, ax = plt.subplots()
    unrolling.draw_folded(ax, title="folded")
    assert len(ax.patches) == 4 + 3 + 1
    assert ax.get_title() == "folded"
    plt.close(fig)


def test_autograd_op_counts_grow_by_step_and_leaves_do_not():
    torch.manual_seed(0)
    cell, head = torch.nn.RNNCell(3, 4), torch.nn.Linear(4, 2)

    def loss_for(T):
        h, loss = torch.zeros(2, 4), torch.zeros(())
        for _ in range(T):
            h = cell(torch.randn(2, 3), h)
            loss = loss + head(h).sum()
        return loss

    c2, c5 = unrolling.autograd_op_counts(loss_for(2)), unrolling.autograd_op_counts(loss_for(5))
    assert c2["AccumulateGrad"] == c5["AccumulateGrad"] == 6
    assert c5["TanhBackward0"] == 5 and c2["TanhBackward0"] == 2
    with pytest.raises(ValueError, match="output: expected a tensor with a grad_fn"):
        unrolling.autograd_op_counts(torch.zeros(2))


def test_parameter_change_scales_with_sgd_and_not_with_adam_and_leaves_the_model():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, (3, 8)), rng.integers(0, 5, (3, 8))
    model = MaskedCharRNN(V=5, H=4, seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    grads = model.loss(x, y, reduction="sum")[1]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert unrolling.parameter_change(model, x, y, "sum", SGD(lr=0.1)) == pytest.approx(0.1 * norm)
    sgd = [unrolling.parameter_change(model, x, y, r, SGD(lr=0.1)) for r in ("sum", "token_mean")]
    assert sgd[0] / sgd[1] == pytest.approx(8)
    adam = [unrolling.parameter_change(model, x, y, r, Adam(lr=0.01), steps=3)
            for r in ("sum", "token_mean")]
    assert adam[0] / adam[1] == pytest.approx(1, abs=1e-3)
    assert all(np.array_equal(before[k], model.params[k]) for k in before)
    with pytest.raises(ValueError, match="steps: expected at least 1, got 0"):
        unrolling.parameter_change(model, x, y, "sum", SGD(lr=0.1), steps=0)


def test_first_letter_entropy():
    assert unrolling.first_letter_entropy(["ann", "bob"]) == pytest.approx(np.log(2))
    assert unrolling.first_letter_entropy(["ann", "al", "amy"]) == 0.0
    with pytest.raises(ValueError, match="names: expected a non-empty list"):
        unrolling.first_letter_entropy([])
