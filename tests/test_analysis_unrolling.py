"""minirnn.chapters.ch04_unrolling_and_loss: unrolled graph, autograd counts, masking."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from minirnn.chapters import ch04_unrolling_and_loss as unrolling  # noqa: E402
from minirnn.numpy import eval_numerical_gradient, rel_error, temporal_softmax_loss  # noqa: E402


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


def test_saved_tensor_bytes_counts_each_storage_once():
    w = torch.randn(8, 8, requires_grad=True)

    def f():
        a = torch.randn(4, 8, requires_grad=True)
        return (a @ w @ w).sum()  # w saved by both products, one storage

    _, count, nbytes = unrolling.saved_tensor_bytes(f)
    assert count == 4  # each matmul saves its two operands
    assert nbytes == 4 * (8 * 8 + 4 * 8 + 4 * 8)  # w once, a, and the intermediate a @ w


def test_token_weights_for_each_reduction():
    mask = unrolling.length_mask([2, 10], 10)
    s, tm, sm = (unrolling.token_weights(mask, r) for r in unrolling.REDUCTIONS)
    assert np.allclose(s[mask], 0.5) and np.allclose(tm[mask], 1 / 12)
    assert np.isclose(sm[0, 0], 0.25) and np.isclose(sm[1, 0], 0.05)
    for w in (s, tm, sm):
        assert np.all(w[~mask] == 0)
    assert np.isclose(tm.sum(), 1) and np.isclose(sm.sum(), 1)
    with pytest.raises(ValueError, match="reduction: expected one of"):
        unrolling.token_weights(mask, "mean")
    with pytest.raises(ValueError, match=r"mask: expected a \(N, T\) boolean array"):
        unrolling.token_weights(mask.astype(int), "sum")


def test_length_mask_checks_range():
    assert unrolling.length_mask([1, 3], 3).tolist() == [[True, False, False], [True] * 3]
    with pytest.raises(ValueError, match=r"lengths: expected values in \[1, 3\]"):
        unrolling.length_mask([0, 3], 3)


def test_weighted_softmax_loss_matches_package_and_numeric_gradient():
    rng = np.random.default_rng(0)
    scores, y = rng.normal(size=(3, 4, 5)), rng.integers(0, 5, (3, 4))
    mask = unrolling.length_mask([4, 2, 1], 4)
    ref_loss, ref_d = temporal_softmax_loss(scores, y, mask)
    y_ign = np.where(mask, y, unrolling.IGNORE_INDEX)
    w = unrolling.token_weights(mask, "sequence_mean")
    loss, d = unrolling.weighted_softmax_loss(scores, y_ign, unrolling.token_weights(mask, "sum"))
    assert np.isclose(loss, ref_loss, rtol=1e-12) and np.allclose(d, ref_d, atol=1e-15)
    _, d = unrolling.weighted_softmax_loss(scores, y_ign, w)
    numeric = eval_numerical_gradient(
        lambda s: unrolling.weighted_softmax_loss(s, y_ign, w)[0], scores)
    assert rel_error(d, numeric) < 1e-7
    with pytest.raises(ValueError, match="weights: a step with target IGNORE_INDEX"):
        unrolling.weighted_softmax_loss(scores, y_ign, np.ones((3, 4)))


def _batch():
    x, y = unrolling.pad_sequences(
        [np.array([0, 3, 4]), np.array([0, 1, 2, 3, 4]), np.array([0, 2])],
        [np.array([3, 4, 0]), np.array([1, 2, 3, 4, 0]), np.array([2, 0])], pad_id=0)
    return x, y


def test_pad_sequences_and_its_errors():
    x, y = _batch()
    assert x.shape == y.shape == (3, 5)
    assert (y == unrolling.IGNORE_INDEX).sum(axis=1).tolist() == [2, 0, 3]
    with pytest.raises(ValueError, match=r"targets\[0\]: expected length 2"):
        unrolling.pad_sequences([np.array([1, 2])], [np.array([1])], pad_id=0)


def test_masked_char_rnn_padded_batch_equals_sequences_alone_and_gradients_are_right():
    x, y = _batch()
    model = unrolling.MaskedCharRNN(V=5, H=4, E=3, seed=0)
    loss, grads = model.loss(x, y)
    lengths = (y != unrolling.IGNORE_INDEX).sum(axis=1)
    alone = [model.loss(x[n:n + 1, :L], y[n:n + 1, :L]) for n, L in enumerate(lengths)]
    assert np.isclose(loss, np.mean([a[0] for a in alone]), rtol=1e-12)
    for k in grads:
        assert np.allclose(grads[k], np.mean([a[1][k] for a in alone], axis=0), atol=1e-12)
    for k in ("Wh", "W_embed", "W_out"):
        numeric = eval_numerical_gradient(lambda _: model.loss(x, y, "sequence_mean")[0],
                                          model.params[k])
        assert rel_error(model.loss(x, y, "sequence_mean")[1][k], numeric) < 1e-6, k


def test_masked_char_rnn_final_state_and_errors():
    x, y = _batch()
    model = unrolling.MaskedCharRNN(V=5, H=4, seed=1)
    right = model.final_states(x, y)
    wrong = model.final_states(x, y, use_lengths=False)
    assert np.allclose(right[1], wrong[1]) and not np.allclose(right[0], wrong[0])
    assert model.step_losses(x, y)[2, 2:].tolist() == [0.0, 0.0, 0.0]
    y_left = y.copy()
    y_left[0] = [unrolling.IGNORE_INDEX, 3, 4, 0, unrolling.IGNORE_INDEX]
    with pytest.raises(ValueError, match="y: expected right padding"):
        model.loss(x, y_left)
    with pytest.raises(ValueError, match=r"y: expected shape \(3, 5\)"):
        model.loss(x, y[:, :4])
