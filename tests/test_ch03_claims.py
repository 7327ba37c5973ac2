"""Chapter 3's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import torch

from minirnn.chapters import ch03_vanilla_rnn as sharing
from minirnn.convert import from_torch
from minirnn.numpy import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from minirnn.numpy.train import count_params, fit
from minirnn.torch import RNN as MiniRNN


def test_tanh_bounds_the_state_whatever_the_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 3)) * 2
    Wx, Wh, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
    h, _ = rnn_forward(x, np.zeros((2, 4)), Wx, Wh, b)
    assert np.abs(x[:, 0] @ Wx + b).max() > 1 and np.abs(h).max() < 1


def test_parameter_count_does_not_depend_on_T():
    rnn, head = torch.nn.RNN(10, 32, batch_first=True), torch.nn.Linear(32, 10)
    count = sum(p.numel() for p in [*rnn.parameters(), *head.parameters()])
    for T in (1, 10, 100):
        out, _ = rnn(torch.zeros(1, T, 10))
        assert head(out).shape == (1, T, 10)
    assert count == 10 * 32 + 32 * 32 + 32 + 32 * 10 + 10 + 32  # + 32: torch's second bias


def test_shared_weight_gradient_is_the_sum_of_per_step_copies():
    rng = np.random.default_rng(1)
    N, T, D, H = 3, 8, 4, 5
    x, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, H))
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.5, rng.normal(size=(H, H)) * 0.5, np.zeros(H)
    caches, prev = [], np.zeros((N, H))
    for t in range(T):
        prev, cache = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        caches.append(cache)
    copies, dprev = [None] * T, np.zeros((N, H))
    for t in reversed(range(T)):
        _, dprev, _, copies[t], _ = rnn_step_backward(dh[:, t] + dprev, caches[t])
    dWh = rnn_backward(dh, rnn_forward(x, np.zeros((N, H)), Wx, Wh, b)[1])[3]
    assert np.allclose(sum(copies), dWh, atol=1e-12, rtol=0)
    assert np.linalg.norm(copies[0]) == 0  # h0 = 0: the first step teaches Wh nothing
    assert all(np.linalg.norm(c) > 0 for c in copies[1:])


def test_rnn_detects_a_pattern_at_unseen_positions_and_flat_mlp_does_not():
    T = 20
    tokens, _, _ = sharing.motif_task(4000, T, np.arange(6), seed=1)
    tags = sharing.motif_tags(tokens)
    rnn, mlp = sharing.RNNTagger(V=6, H=16), sharing.FlatMLPTagger(T=T, V=6, H=16)
    fit(rnn, tokens, tags, steps=400, seed=0)
    fit(mlp, tokens, tags, steps=400, seed=0)
    rnn_acc = sharing.accuracy_by_position(rnn, T)
    mlp_acc = sharing.accuracy_by_position(mlp, T)
    assert rnn_acc[:6].mean() >= 0.95 and mlp_acc[:6].mean() >= 0.95
    assert rnn_acc[6:].min() >= 0.95
    assert abs(mlp_acc[6:].mean() - 0.5) <= 0.1
    assert count_params(rnn) < count_params(mlp)

    # the trained state: identical before the pair, apart at it, fading (not vanishing) after
    start = 12
    pair, _, _ = sharing.motif_task(1, T, [start], seed=7)
    twin = np.where(pair == 0, 1, np.where(pair == 1, 0, pair))
    h = rnn.hidden_states(np.concatenate([pair, twin]))
    gap = np.linalg.norm(h[0] - h[1], axis=1)
    assert np.all(gap[:start] < 1e-12) and gap[start + 1] > 0.5
    assert 1e-3 < gap[-1] < 0.25 * gap[start + 1]


def test_learned_h0_is_a_first_step_bias_and_its_gradient_sums_the_batch():
    rng = np.random.default_rng(2)
    N, T, D, H = 4, 5, 3, 6
    x, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, H))
    Wx, Wh, b = rng.normal(size=(D, H)), rng.normal(size=(H, H)) * 0.4, rng.normal(size=H)
    h0 = rng.normal(size=H)
    h, cache = rnn_forward(x, np.tile(h0, (N, 1)), Wx, Wh, b)
    assert np.allclose(h[:, 0], np.tanh(x[:, 0] @ Wx + (b + h0 @ Wh)), atol=1e-12, rtol=0)
    grad = rnn_backward(dh, cache)[1].sum(axis=0)

    def f(v):
        return np.sum(rnn_forward(x, np.tile(v, (N, 1)), Wx, Wh, b)[0] * dh)

    eps = 1e-6
    numeric = np.array([(f(h0 + eps * e) - f(h0 - eps * e)) / (2 * eps) for e in np.eye(H)])
    assert np.abs(grad - numeric).max() < 1e-8


def test_numpy_rnn_matches_torch_nn_rnn_and_minirnn_torch_rnn():
    torch.manual_seed(0)
    N, T, D, H = 3, 7, 4, 5
    ref = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    [(Wx, Wh, b)] = from_torch(ref)  # Wx = weight_ih_l0.T, Wh = weight_hh_l0.T, b = sum of biases
    x = torch.randn(N, T, D, dtype=torch.float64)
    h0 = torch.randn(1, N, H, dtype=torch.float64)
    mini = MiniRNN(D, H, batch_first=True, dtype=torch.float64)
    mini.load_state_dict(ref.state_dict())
    with torch.no_grad():
        out_ref, _ = ref(x, h0)
        out_mini, _ = mini(x, h0)
    out_np, _ = rnn_forward(x.numpy(), h0[0].numpy(), Wx, Wh, b)
    assert np.abs(out_np - out_ref.numpy()).max() < 1e-12
    cell = torch.nn.RNNCell(D, H, dtype=torch.float64)
    cell.load_state_dict({k[:-3]: v for k, v in ref.state_dict().items()})
    with torch.no_grad():
        step_ref = cell(x[:, 0], h0[0]).numpy()
    step_np, _ = rnn_step_forward(x[:, 0].numpy(), h0[0].numpy(), Wx, Wh, b)
    assert np.abs(step_np - step_ref).max() < 1e-12
    assert (out_mini - out_ref).abs().max().item() < 1e-12

    lengths = np.array([7, 4, 2])
    ragged, _ = rnn_forward(x.numpy(), h0[0].numpy(), Wx, Wh, b, lengths=lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True)
    with torch.no_grad():
        out_packed, _ = ref(packed, h0)
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True)
    assert np.abs(ragged - padded.numpy()).max() < 1e-12
