"""Behaviour of minirnn.numpy beyond gradients: ragged-batch semantics, dtypes, the loss
convention, embedding scatter-add, step vs sequence agreement, optimizers and clipping
against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.numpy import (
    SGD,
    Adagrad,
    Adam,
    Momentum,
    RMSprop,
    bidirectional_backward,
    bidirectional_forward,
    clip_grad_norm,
    clip_grad_value,
    fast,
    gru_backward,
    gru_forward,
    gru_states,
    gru_step_forward,
    last_hidden,
    lstm_backward,
    lstm_forward,
    lstm_states,
    lstm_step_forward,
    multilayer_backward,
    multilayer_forward,
    rel_error,
    reverse_index,
    rnn_backward,
    rnn_forward,
    rnn_states,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from minirnn.numpy.fast.sequence import inputs_ones_states, transposed

N, T, D, H = 3, 5, 4, 6


def cell_weights(cell: str, rng: np.random.Generator, dtype: type = np.float64) -> tuple:
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    w = [rng.standard_normal((D, G * H)) * 0.4, rng.standard_normal((H, G * H)) * 0.4,
         rng.standard_normal(G * H) * 0.2]
    if cell == "gru":
        w.append(rng.standard_normal(G * H) * 0.2)
    return tuple(a.astype(dtype) for a in w)


SEQUENCE = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
            "gru": (gru_forward, gru_backward)}
FAST = {"rnn": (fast.rnn_forward, fast.rnn_backward),
        "lstm": (fast.lstm_forward, fast.lstm_backward),
        "gru": (fast.gru_forward, fast.gru_backward)}


# ---------------------------------------------------------------------------------------------
# lengths: a ragged batch is the same as running each sequence alone
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_ragged_batch_equals_each_sequence_alone(cell: str) -> None:
    rng = np.random.default_rng(0)
    forward, backward = SEQUENCE[cell]
    w = cell_weights(cell, rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    dh = rng.standard_normal((N, T, H))
    lengths = np.array([5, 2, 3])
    h, cache = forward(x, h0, *w, lengths=lengths)
    dx, dh0, *dw = backward(dh, cache)
    dw_sum = [np.zeros_like(a) for a in w]
    for n, L in enumerate(lengths):
        h_n, cache_n = forward(x[n : n + 1, :L], h0[n : n + 1], *w)
        np.testing.assert_allclose(h[n, :L], h_n[0], rtol=1e-12, atol=1e-14)
        dx_n, dh0_n, *dw_n = backward(dh[n : n + 1, :L], cache_n)
        np.testing.assert_allclose(dx[n, :L], dx_n[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dh0[n], dh0_n[0], rtol=1e-12, atol=1e-14)
        dw_sum = [a + b for a, b in zip(dw_sum, dw_n)]
        # padded positions: zero output, zero input gradient
        assert np.all(h[n, L:] == 0)
        assert np.all(dx[n, L:] == 0)
    for a, b in zip(dw, dw_sum):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padding_values_do_not_matter(cell: str) -> None:
    rng = np.random.default_rng(1)
    forward, backward = SEQUENCE[cell]
    w = cell_weights(cell, rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    lengths = [2, 5, 1]
    x_other = x.copy()
    x_other[0, 2:] = 1e3  # garbage in the padding
    x_other[2, 1:] = -7.0
    h, c = forward(x, h0, *w, lengths=lengths)
    h2, c2 = forward(x_other, h0, *w, lengths=lengths)
    np.testing.assert_array_equal(h, h2)
    dh = rng.standard_normal(h.shape)
    for a, b in zip(backward(dh, c)[1:], backward(dh, c2)[1:]):
        np.testing.assert_array_equal(a, b)


def test_full_lengths_equal_no_lengths_and_last_hidden() -> None:
    rng = np.random.default_rng(2)
    w = cell_weights("lstm", rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    h_none, _ = lstm_forward(x, h0, *w)
    h_full, _ = lstm_forward(x, h0, *w, lengths=[T] * N)
    np.testing.assert_array_equal(h_none, h_full)
    np.testing.assert_array_equal(last_hidden(h_none), h_none[:, -1])
    h, _ = lstm_forward(x, h0, *w, lengths=[1, 4, 5])
    np.testing.assert_array_equal(last_hidden(h, [1, 4, 5]), h[[0, 1, 2], [0, 3, 4]])


def test_reverse_index_reverses_within_each_length() -> None:
    idx = reverse_index(np.array([3, 1, 4]), 3, 4)
    np.testing.assert_array_equal(idx, [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]])


def test_bidirectional_backward_half_reads_each_sequence_from_its_own_end() -> None:
    """The reverse direction at step 0 has read the whole sequence x[n, :L] backwards."""
    rng = np.random.default_rng(3)
    wf, wb = cell_weights("gru", rng), cell_weights("gru", rng)
    x, h0 = rng.standard_normal((2, T, D)), rng.standard_normal((2, 2, H))
    h, cache = bidirectional_forward(x, h0, wf, wb, cell="gru", lengths=[3, 5])
    alone, _ = gru_forward(x[:1, :3][:, ::-1].copy(), h0[1, :1], *wb)
    np.testing.assert_allclose(h[0, :3, H:], alone[0, ::-1], rtol=1e-12)
    assert np.all(h[0, 3:] == 0)
    dx, dh0, _, _ = bidirectional_backward(np.ones_like(h), cache)
    assert dx.shape == x.shape and dh0.shape == (2, 2, H)
    assert np.all(dx[0, 3:] == 0)


# ---------------------------------------------------------------------------------------------
# Step functions agree with the sequence functions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_step_loop_equals_sequence(cell: str) -> None:
    rng = np.random.default_rng(4)
    w = cell_weights(cell, rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    h, c = h0, np.zeros_like(h0)
    outs = []
    for t in range(T):
        if cell == "rnn":
            h, _ = rnn_step_forward(x[:, t], h, *w)
        elif cell == "lstm":
            h, c, _ = lstm_step_forward(x[:, t], h, c, *w)
        else:
            h, _ = gru_step_forward(x[:, t], h, *w)
        outs.append(h)
    h_seq, _ = SEQUENCE[cell][0](x, h0, *w)
    np.testing.assert_allclose(h_seq, np.stack(outs, axis=1), rtol=1e-12, atol=1e-14)


def test_rnn_step_backward_loop_equals_rnn_backward() -> None:
    rng = np.random.default_rng(5)
    w = cell_weights("rnn", rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    dh = rng.standard_normal((N, T, H))
    caches, h = [], h0
    for t in range(T):
        h, cache = rnn_step_forward(x[:, t], h, *w)
        caches.append(cache)
    dnext = np.zeros_like(h0)
    dWh = np.zeros_like(w[1])
    for t in reversed(range(T)):
        _, dnext, _, dWh_t, _ = rnn_step_backward(dh[:, t] + dnext, caches[t])
        dWh += dWh_t
    _, dh0, _, dWh_seq, _ = rnn_backward(dh, rnn_forward(x, h0, *w)[1])
    np.testing.assert_allclose(dh0, dnext, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dWh_seq, dWh, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# dtypes: float32 in, float32 out (and the backward does not mutate its inputs)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_outputs_and_gradients_keep_the_dtype(cell: str, dtype: type) -> None:
    rng = np.random.default_rng(6)
    forward, backward = SEQUENCE[cell]
    w = cell_weights(cell, rng, dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    h, cache = forward(x, h0, *w, lengths=[5, 1, 3])
    dh = rng.standard_normal(h.shape).astype(dtype)
    dh_before = dh.copy()
    grads = backward(dh, cache)
    assert h.dtype == dtype
    assert all(g.dtype == dtype for g in grads)
    np.testing.assert_array_equal(dh, dh_before)  # dh untouched
    grads_again = backward(dh, cache)  # the cache survives a backward pass
    for a, b in zip(grads, grads_again):
        np.testing.assert_array_equal(a, b)


def test_float32_close_to_float64() -> None:
    rng = np.random.default_rng(7)
    w64 = cell_weights("lstm", rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    h64, _ = lstm_forward(x, h0, *w64)
    h32, _ = lstm_forward(x.astype(np.float32), h0.astype(np.float32),
                          *(a.astype(np.float32) for a in w64))
    np.testing.assert_allclose(h32, h64, atol=1e-5)


def test_multilayer_float32() -> None:
    rng = np.random.default_rng(8)
    params = [cell_weights("gru", rng, np.float32)]
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    h, cache = multilayer_forward(x, np.zeros((1, N, H), np.float32), params, cell="gru")
    dx, dh0, dparams = multilayer_backward(np.ones_like(h), cache)
    assert h.dtype == dx.dtype == dh0.dtype == dparams[0][0].dtype == np.float32


# ---------------------------------------------------------------------------------------------
# Embedding, temporal affine, softmax loss
# ---------------------------------------------------------------------------------------------


def test_word_embedding_lookup_and_scatter_add() -> None:
    W = np.arange(12.0).reshape(4, 3)
    x = np.array([[1, 1, 3]])
    out, cache = word_embedding_forward(x, W)
    np.testing.assert_array_equal(out[0], W[[1, 1, 3]])
    dW = word_embedding_backward(np.ones((1, 3, 3)), cache)
    np.testing.assert_array_equal(dW, [[0, 0, 0], [2, 2, 2], [0, 0, 0], [1, 1, 1]])


def test_temporal_affine_is_a_per_step_matmul() -> None:
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = temporal_affine_forward(x, w, b)
    np.testing.assert_allclose(out[1, 2], x[1, 2] @ w + b)
    dx, dw, db = temporal_affine_backward(np.ones_like(out), cache)
    np.testing.assert_allclose(db, np.full(5, 6.0))
    np.testing.assert_allclose(dx[0, 0], w.sum(axis=1))


def test_temporal_softmax_loss_convention() -> None:
    """Uniform scores: ln V per counted step, summed over time, averaged over the batch."""
    V = 10
    x = np.zeros((4, 6, V))
    y = np.zeros((4, 6), dtype=np.int64)
    loss, _ = temporal_softmax_loss(x, y)
    assert loss == pytest.approx(6 * np.log(V))
    mask = np.zeros((4, 6), dtype=bool)
    mask[:, :2] = True
    assert temporal_softmax_loss(x, y, mask)[0] == pytest.approx(2 * np.log(V))
    # CS231n's sanity values for small random scores: ~2.3, ~23, ~2.2-2.4
    rng = np.random.default_rng(0)
    assert temporal_softmax_loss(0.001 * rng.standard_normal((100, 1, 10)),
                                 rng.integers(0, 10, (100, 1)))[0] == pytest.approx(2.3, abs=0.05)
    assert temporal_softmax_loss(0.001 * rng.standard_normal((100, 10, 10)),
                                 rng.integers(0, 10, (100, 10)))[0] == pytest.approx(23, abs=0.3)


def test_temporal_softmax_loss_is_stable_for_huge_scores() -> None:
    x = np.array([[[1000.0, 0.0, -1000.0]]], dtype=np.float32)
    loss, dx = temporal_softmax_loss(x, np.array([[1]]))
    assert loss == pytest.approx(1000.0)
    assert np.all(np.isfinite(dx)) and dx.dtype == np.float32


def test_temporal_softmax_loss_matches_torch_cross_entropy() -> None:
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((3, 4, 7)), rng.integers(0, 7, (3, 4))
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(xt.reshape(-1, 7), torch.tensor(y).reshape(-1),
                                            reduction="sum") / 3
    ref.backward()
    loss, dx = temporal_softmax_loss(x, y)
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    assert rel_error(dx, xt.grad.numpy()) < 1e-10


# ---------------------------------------------------------------------------------------------
# Optimizers and clipping against torch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam"])
def test_optimizer_matches_torch_optim(name: str) -> None:
    rng = np.random.default_rng(11)
    w0 = rng.standard_normal((3, 4))
    grads_seq = [rng.standard_normal((3, 4)) for _ in range(5)]
    ours, theirs = {
        "SGD": (SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        # v = mu v - lr g; p += v  equals torch's  v = mu v + g; p -= lr v  at a fixed lr
        "Momentum": (Momentum(0.1, 0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        "Adagrad": (Adagrad(0.1, eps=1e-10), lambda p: torch.optim.Adagrad(p, lr=0.1)),
        "RMSprop": (RMSprop(0.01, decay=0.99, eps=1e-8),
                    lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8)),
        "Adam": (Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    }[name]
    params = {"w": w0.copy()}
    wt = torch.tensor(w0.copy(), requires_grad=True)
    opt_t = theirs([wt])
    for g in grads_seq:
        ours.step(params, {"w": g.copy()})
        wt.grad = torch.tensor(g)
        opt_t.step()
    assert not np.allclose(params["w"], w0)
    np.testing.assert_allclose(params["w"], wt.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_clip_grad_norm_matches_torch_and_returns_the_norm() -> None:
    rng = np.random.default_rng(12)
    grads = {"a": rng.standard_normal((3, 4)) * 5, "b": rng.standard_normal(7) * 5}
    tensors = [torch.tensor(g) for g in grads.values()]
    for t in tensors:
        t.grad = t.clone()
    ref_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.0)
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(ref_norm.item())
    for g, t in zip(grads.values(), tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10)
    assert np.sqrt(sum(np.sum(g**2) for g in grads.values())) == pytest.approx(1.0, rel=1e-5)
    small = {"a": np.full(4, 0.1)}
    clip_grad_norm(small, 1.0)
    np.testing.assert_array_equal(small["a"], np.full(4, 0.1))  # under the limit: untouched


def test_clip_grad_value_in_place() -> None:
    grads = {"a": np.array([-10.0, -1.0, 0.5, 8.0])}
    clip_grad_value(grads, 5.0)
    np.testing.assert_array_equal(grads["a"], [-5.0, -1.0, 0.5, 5.0])


def test_steps_and_layers_keep_float32() -> None:
    rng = np.random.default_rng(13)
    f32 = np.float32
    x, h = rng.standard_normal((N, D)).astype(f32), rng.standard_normal((N, H)).astype(f32)
    w_rnn, w_lstm, w_gru = (cell_weights(c, rng, f32) for c in ("rnn", "lstm", "gru"))
    next_h, cache = rnn_step_forward(x, h, *w_rnn)
    assert next_h.dtype == f32
    assert all(g.dtype == f32 for g in rnn_step_backward(next_h, cache))
    next_h, next_c, _ = lstm_step_forward(x, h, h, *w_lstm)
    assert next_h.dtype == next_c.dtype == f32
    assert gru_step_forward(x, h, *w_gru)[0].dtype == f32
    out, cache = temporal_affine_forward(x[:, None], w_rnn[0], w_rnn[2])
    assert out.dtype == f32
    assert all(g.dtype == f32 for g in temporal_affine_backward(out, cache))
    emb, cache = word_embedding_forward(np.array([[0, 1]]), w_rnn[0])
    assert emb.dtype == word_embedding_backward(emb, cache).dtype == f32
    loss, dx = temporal_softmax_loss(out, np.zeros((N, 1), dtype=np.int64))
    assert isinstance(loss, float) and dx.dtype == f32


# ---------------------------------------------------------------------------------------------
# The fast sequence passes: buffers and helpers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (64, 20), (130, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_is_a_contiguous_copy_of_the_transpose(shape: tuple, dtype: type) -> None:
    W = np.random.default_rng(8).standard_normal(shape).astype(dtype)
    WT = transposed(W)
    assert WT.flags.c_contiguous and WT.dtype == dtype and not np.shares_memory(WT, W)
    np.testing.assert_array_equal(WT, W.T)


def test_inputs_ones_states_holds_x_one_and_the_previous_state() -> None:
    rng = np.random.default_rng(9)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    xh = inputs_ones_states(x, h0)
    assert xh.shape == (T + 1, N, D + 1 + H)
    np.testing.assert_array_equal(xh[:T, :, :D], x.swapaxes(0, 1))
    np.testing.assert_array_equal(xh[:T, :, D], 1)
    np.testing.assert_array_equal(xh[0, :, D + 1 :], h0)


def forward_once(cell: str, seed: int, layers: dict = FAST, lengths: list | None = None
                 ) -> tuple:
    """(rng, h0, h, cache) of one forward pass of `cell` on random inputs and weights."""
    rng = np.random.default_rng(seed)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    h, cache = layers[cell][0](x, h0, *cell_weights(cell, rng), lengths=lengths)
    return rng, h0, h, cache


# ---------------------------------------------------------------------------------------------
# The reference's cache: the documented contract, and the accessors that read states from it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("lengths", [None, [5, 2, 3]])
def test_reference_cache_is_the_documented_layout(cell: str, lengths: list | None) -> None:
    """{"steps": one step cache per step, "lengths": (N,) int64}; arrays only (the RNN's
    nonlinearity name as a 0-d string array), so a grader can build one and hand it to a
    student's backward."""
    _, _, _, cache = forward_once(cell, 13, SEQUENCE, lengths)
    assert sorted(cache) == ["lengths", "steps"]
    assert cache["lengths"].dtype == np.int64
    np.testing.assert_array_equal(cache["lengths"], [T] * N if lengths is None else lengths)
    assert isinstance(cache["steps"], list) and len(cache["steps"]) == T
    size = {"rnn": 6, "lstm": 10, "gru": 8}[cell]
    for step in cache["steps"]:
        assert isinstance(step, tuple) and len(step) == size
        kinds = {type(a) for a in step}
        assert kinds == {np.ndarray}
    if cell == "rnn":
        assert {str(step[-1]) for step in cache["steps"]} == {"tanh"}
        assert all(step[-1].shape == () for step in cache["steps"])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_reference_backward_reads_a_cache_built_from_the_steps(cell: str) -> None:
    """The same gradients from a cache assembled by hand out of *_step_forward calls."""
    _, _, _, cache = forward_once(cell, 14, SEQUENCE)
    rng = np.random.default_rng(14)  # the same inputs and weights as forward_once's
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    w = cell_weights(cell, rng)
    step = {"rnn": rnn_step_forward, "lstm": lstm_step_forward, "gru": gru_step_forward}[cell]
    steps, state = [], (h0,) if cell != "lstm" else (h0, np.zeros_like(h0))
    for t in range(T):
        *state, step_cache = step(x[:, t], *state, *w)
        steps.append(step_cache)
    by_hand = {"steps": steps, "lengths": np.full(N, T, dtype=np.int64)}
    dh = rng.standard_normal((N, T, H))
    backward = SEQUENCE[cell][1]
    for a, b in zip(backward(dh, cache), backward(dh, by_hand)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_accessors_give_h0_to_hT(cell: str) -> None:
    """rnn_states / lstm_states / gru_states: (T + 1, N, H), h_0 first, then the outputs; with
    lengths the padded steps hold the frozen state (as the fast path's state buffers do)."""
    for lengths in (None, [5, 2, 3]):
        _, h0, h, cache = forward_once(cell, 15, SEQUENCE, lengths)
        _, _, _, fast_cache = forward_once(cell, 15, FAST, lengths)
        if cell == "lstm":
            states, cells = lstm_states(cache)
            np.testing.assert_array_equal(cells[0], 0)
            np.testing.assert_allclose(cells, fast_cache["cs"], rtol=1e-12, atol=1e-14)
            fast_states = fast_cache["xh"][:, :, D + 1 :]
        else:
            states = (rnn_states if cell == "rnn" else gru_states)(cache)
            fast_states = fast_cache["states" if cell == "rnn" else "hs"]
        assert states.shape == (T + 1, N, H)
        np.testing.assert_array_equal(states[0], h0)
        real = (np.arange(T)[None, :] < np.array(lengths or [T] * N)[:, None])[..., None]
        np.testing.assert_array_equal(np.where(real, states[1:].swapaxes(0, 1), 0), h)
        np.testing.assert_allclose(states, fast_states, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# The fast path's buffers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_buffers_hold_the_outputs(cell: str) -> None:
    """The states the fast forward writes into its cache are the outputs it returns."""
    _, h0, h, cache = forward_once(cell, 10)
    states = cache["xh"][:, :, D + 1 :] if cell == "lstm" else cache["hs"]
    np.testing.assert_array_equal(states[0], h0)
    np.testing.assert_array_equal(states[1:].swapaxes(0, 1), h)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_backward_twice_on_one_cache_gives_the_same_gradients(cell: str) -> None:
    """The backward overwrites the forward's gate buffer; a second call reruns the forward."""
    rng, _, h, cache = forward_once(cell, 11)
    backward = FAST[cell][1]
    dh = rng.standard_normal(h.shape)
    first = backward(dh, cache)
    for _ in range(2):
        for a, b in zip(first, backward(dh, cache)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_backward_allocates_less_than_one_gate_buffer(cell: str) -> None:
    """The backward reuses the forward's (T, N, G*H) buffer for the gate gradients.

    Bytes, not time: with H much larger than D the gate buffer dominates, and everything the
    backward allocates (dx twice, dW, Wh.T, a few (N, 4H) scratch rows) stays under its size.
    """
    import tracemalloc

    n, t, d, h = 8, 50, 4, 32
    rng = np.random.default_rng(12)
    forward, backward = FAST[cell]
    G = {"lstm": 4, "gru": 3}[cell]
    w = [rng.standard_normal((d, G * h)), rng.standard_normal((h, G * h)),
         rng.standard_normal(G * h)] + ([rng.standard_normal(G * h)] if cell == "gru" else [])
    x, h0 = rng.standard_normal((n, t, d)), rng.standard_normal((n, h))
    out, cache = forward(x, h0, *w)
    dh = rng.standard_normal(out.shape)
    tracemalloc.start()
    try:
        backward(dh, cache)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    gate_buffer = t * n * G * h * 8
    assert peak < 0.6 * gate_buffer, (peak, gate_buffer)
