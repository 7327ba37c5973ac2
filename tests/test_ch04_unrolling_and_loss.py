"""minirnn.chapters.ch04_unrolling_and_loss: the unrolled graph and autograd's op counts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from minirnn.chapters import ch04_unrolling_and_loss as unrolling  # noqa: E402


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
