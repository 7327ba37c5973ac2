"""Chapter 4's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from minirnn.chapters import ch04_unrolling_and_loss as unrolling
from minirnn.data.names import encode_names, names_split, names_vocab
from minirnn.numpy.losses import IGNORE_INDEX, length_mask, token_weights
from minirnn.numpy.models import MaskedCharRNN
from minirnn.numpy.optim import SGD, Adam
from minirnn.numpy.train import fit
from minirnn.torch import RNNCell
from minirnn.torch.memory import saved_tensor_bytes


def test_unrolled_graph_has_4T_plus_2_nodes_5T_edges_and_T_uses_per_weight():
    for T in (1, 5, 50):
        g = unrolling.unrolled_graph(T)
        assert len(g["nodes"]) == 4 * T + 2 and len(g["edges"]) == 5 * T
        assert all(sum(1 for *_, w in g["edges"] if w == name) == T
                   for name in ("W_x", "W_h", "W_y"))


def test_autograd_graph_and_saved_memory_grow_by_a_fixed_amount_per_step():
    torch.manual_seed(0)
    N, D, H, V = 32, 16, 64, 27
    cell, head = RNNCell(D, H), torch.nn.Linear(H, V)

    def unrolled_loss(T):
        gen = torch.Generator().manual_seed(T)
        x, y = torch.randn(T, N, D, generator=gen), torch.randint(0, V, (T, N), generator=gen)
        h, loss = torch.zeros(N, H), torch.zeros(())
        for t in range(T):
            h = cell(x[t], h)
            loss = loss + torch.nn.functional.cross_entropy(head(h), y[t], reduction="sum")
        return loss

    rows = []
    for T in (2, 4, 8):
        loss, _, nbytes = saved_tensor_bytes(lambda T=T: unrolled_loss(T))
        rows.append((T, unrolling.autograd_op_counts(loss), nbytes))
    nodes = np.array([sum(c.values()) for _, c, _ in rows])
    nbytes = np.array([b for *_, b in rows])
    assert np.all(np.diff(nodes) / np.diff([2, 4, 8]) == 11)
    assert np.all(np.diff(nbytes) / np.diff([2, 4, 8]) == 4 * (N * H + N * V + N * D) + 8 * N + 4)
    assert all(c["AccumulateGrad"] == 6 for _, c, _ in rows)


def test_summed_loss_starts_at_T_ln_V_and_its_gradient_is_T_times_the_mean():
    V, norms = 27, {"sum": [], "token_mean": []}
    for T in (4, 64):
        rng = np.random.default_rng(T)
        x, y = rng.integers(0, V, (8, T)), rng.integers(0, V, (8, T))
        model = MaskedCharRNN(V=V, H=32, seed=0, out_scale=0.1)
        loss, g_sum = model.loss(x, y, reduction="sum")
        _, g_mean = model.loss(x, y, reduction="token_mean")
        assert abs(loss / (T * np.log(V)) - 1) < 0.01
        assert all(np.allclose(g_sum[k], T * g_mean[k], rtol=1e-10, atol=1e-14) for k in g_sum)
        for name, g in (("sum", g_sum), ("token_mean", g_mean)):
            norms[name].append(np.sqrt(sum(np.sum(v**2) for v in g.values())))
    assert norms["sum"][1] > 2 * norms["sum"][0]
    assert norms["token_mean"][1] < 0.5 * norms["token_mean"][0]
    # x16 in T: about x4 = sqrt(16) for the sum, not x16 (random targets' gradients cancel)
    assert 2.5 < norms["sum"][1] / norms["sum"][0] < 7


def test_batch_average_keeps_loss_and_gradient_size_as_N_grows():
    V, loss_values, grad_norms = 27, [], []
    for n_seq in (8, 64, 512):
        x = np.random.default_rng(n_seq).integers(0, V, (n_seq, 16))
        model = MaskedCharRNN(V=V, H=32, seed=0, out_scale=0.1)
        loss, grads = model.loss(x, x)
        loss_values.append(loss)
        grad_norms.append(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    assert np.ptp(loss_values) < 0.01 * loss_values[0]
    assert all(0.5 < b / a < 2 for a, b in zip(grad_norms, grad_norms[1:]))


def test_per_sequence_mean_weighs_a_short_sequences_tokens_more():
    mask = length_mask([2, 10], 10)
    seq = token_weights(mask, "sequence_mean")
    assert seq[0, 0] == 5 * seq[1, 0]
    for reduction in ("sum", "token_mean"):
        w = token_weights(mask, reduction)
        assert w[0, 0] == w[1, 0]


def test_padded_masked_batch_equals_names_alone_and_the_two_padding_bugs():
    vocab = names_vocab()
    x, y = encode_names(["ann", "christopher", "zoe", "li"], vocab)
    model = MaskedCharRNN(V=len(vocab), H=32, E=16, seed=0)
    loss, grads = model.loss(x, y)
    lengths = (y != IGNORE_INDEX).sum(axis=1)
    alone = [model.loss(x[n:n + 1, :L], y[n:n + 1, :L]) for n, L in enumerate(lengths)]
    assert abs(loss - np.mean([a[0] for a in alone])) < 1e-12
    assert all(np.abs(grads[k] - np.mean([a[1][k] for a in alone], axis=0)).max() < 1e-12
               for k in grads)
    # running over the right padding leaves the loss right but the final state wrong
    assert abs(model.loss(x, y, use_lengths=False)[0] - loss) < 1e-12
    err = np.linalg.norm(model.final_states(x, y) - model.final_states(x, y, False), axis=1)
    assert err[1] == 0 and np.all(err[[0, 2, 3]] > 0.1)
    # counting the padding: 48 counted steps for 23 real tokens, about 2.2 times the loss
    counted = np.where(y == IGNORE_INDEX, 0, y)
    ratio = model.loss(x, counted, mask=np.ones(y.shape, bool), use_lengths=False)[0] / loss
    assert (y.size, lengths.sum()) == (48, 23)
    assert round(ratio, 2) == 2.18


class _CountsPadding(MaskedCharRNN):
    def loss(self, x, y, **kwargs):
        y = np.where(y == IGNORE_INDEX, 0, y)
        return super().loss(x, y, mask=np.ones(y.shape, dtype=bool), use_lengths=False)


def _measured() -> dict:
    """Everything the chapter's claims check reads, measured as the notebook does."""
    V, T = 27, 64
    m = {"T_update": T, "clip": 5.0, "clip_sum": [], "clip_mean": []}
    for T_scale in (4, 16, 64, 256):
        rng = np.random.default_rng(T_scale)
        x, y = rng.integers(0, V, (8, T_scale)), rng.integers(0, V, (8, T_scale))
        model = MaskedCharRNN(V=V, H=32, seed=0, out_scale=0.1)
        for key, reduction in (("clip_sum", "sum"), ("clip_mean", "token_mean")):
            grads = model.loss(x, y, reduction=reduction)[1]
            m[key].append(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    rng = np.random.default_rng(T)
    x, y = rng.integers(0, V, (8, T)), rng.integers(0, V, (8, T))
    model = MaskedCharRNN(V=V, H=32, seed=0, out_scale=0.1)
    for key, opt, steps in (("sgd_ratio", SGD(lr=0.1), 1), ("adam_ratio", Adam(lr=0.01), 10)):
        m[key] = (unrolling.parameter_change(model, x, y, "sum", opt, steps)
                  / unrolling.parameter_change(model, x, y, "token_mean", opt, steps))

    vocab = names_vocab()
    train, val = names_split(seed=0)
    x_demo, y_demo = encode_names(["ann", "christopher", "zoe", "li"], vocab)
    demo_model = MaskedCharRNN(V=len(vocab), H=32, E=16, seed=0)
    counted = np.where(y_demo == IGNORE_INDEX, 0, y_demo)
    loss_counted = demo_model.loss(x_demo, counted, mask=np.ones(y_demo.shape, bool),
                                   use_lengths=False)[0]
    m["counted_ratio"] = loss_counted / demo_model.loss(x_demo, y_demo)[0]
    m["counted_terms"], m["real_terms"] = y_demo.size, int((y_demo != IGNORE_INDEX).sum())

    x_tr, y_tr = encode_names(train, vocab)
    x_val, y_val = encode_names(val, vocab)
    right = MaskedCharRNN(V=len(vocab), H=32, E=16, seed=0)
    bug = _CountsPadding(V=len(vocab), H=32, E=16, seed=0)
    with threadpool_limits(1):
        for model in (right, bug):
            fit(model, x_tr, y_tr, steps=800, batch_size=32, lr=0.01, seed=0)
    real = y_val != IGNORE_INDEX
    m["val_right"] = right.step_losses(x_val, y_val).sum() / real.sum()
    m["val_bug"] = bug.step_losses(x_val, y_val).sum() / real.sum()
    m["bug_reported"] = bug.loss(x_val, y_val)[0] / x_val.shape[1]
    m["first_position"] = right.step_losses(x_val, y_val)[:, 0].mean()
    m["first_entropy"] = unrolling.first_letter_entropy(train)
    m["padded_share"] = 1 - real.mean()
    return m


@pytest.fixture(scope="module")
def measured():
    return _measured()


def test_chapter_claims_hold(measured):
    unrolling.check_claims(measured)


@pytest.mark.parametrize("key, value, claim", [
    ("adam_ratio", 1.01, "Adam's steps are the same"),
    ("sgd_ratio", 32.0, "T times larger"),
    ("counted_ratio", 2.35, "about 2.2 times"),
    ("first_position", None, "first letters' entropy"),  # the model 0.06 nats above it
    ("val_bug", None, "equally good"),  # the buggy model 0.11 nats worse
    ("clip_mean", [6.0], "never reaches"),
])
def test_claims_check_fails_when_a_result_moves_past_the_prose(measured, key, value, claim):
    shifted = dict(measured)
    if key == "first_position":
        value = measured["first_entropy"] + 0.06
    if key == "val_bug":
        value = measured["val_right"] + 0.11
    shifted[key] = value
    with pytest.raises(AssertionError, match=claim):
        unrolling.check_claims(shifted)
