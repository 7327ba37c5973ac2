"""minirnn.numpy.losses (weights per step, masks) and the two small models of
minirnn.numpy.models built on per-step losses: MaskedCharRNN and rnn_lm_loss."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.numpy import eval_numerical_gradient, rel_error, temporal_softmax_loss
from minirnn.numpy.losses import (
    IGNORE_INDEX,
    REDUCTIONS,
    length_mask,
    token_weights,
    weighted_softmax_loss,
)
from minirnn.numpy.models import MaskedCharRNN, rnn_lm_loss


def pad_sequences(inputs: list[np.ndarray], targets: list[np.ndarray],
                  pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad lists of 1-D id arrays to (N, T_max): inputs with pad_id, targets with
    IGNORE_INDEX."""
    if len(inputs) != len(targets) or not inputs:
        raise ValueError(f"inputs, targets: expected two non-empty lists of equal length, got "
                         f"{len(inputs)} and {len(targets)}")
    T = max(len(s) for s in inputs)
    x = np.full((len(inputs), T), pad_id, dtype=np.int64)
    y = np.full((len(inputs), T), IGNORE_INDEX, dtype=np.int64)
    for n, (xs, ys) in enumerate(zip(inputs, targets)):
        if len(xs) != len(ys):
            raise ValueError(f"targets[{n}]: expected length {len(xs)} like inputs[{n}], "
                             f"got {len(ys)}")
        x[n, : len(xs)], y[n, : len(ys)] = xs, ys
    return x, y


def test_token_weights_for_each_reduction():
    mask = length_mask([2, 10], 10)
    s, tm, sm = (token_weights(mask, r) for r in REDUCTIONS)
    assert np.allclose(s[mask], 0.5) and np.allclose(tm[mask], 1 / 12)
    assert np.isclose(sm[0, 0], 0.25) and np.isclose(sm[1, 0], 0.05)
    for w in (s, tm, sm):
        assert np.all(w[~mask] == 0)
    assert np.isclose(tm.sum(), 1) and np.isclose(sm.sum(), 1)
    with pytest.raises(ValueError, match="reduction: expected one of"):
        token_weights(mask, "mean")
    with pytest.raises(ValueError, match=r"mask: expected a \(N, T\) boolean array"):
        token_weights(mask.astype(int), "sum")


def test_length_mask_checks_range():
    assert length_mask([1, 3], 3).tolist() == [[True, False, False], [True] * 3]
    with pytest.raises(ValueError, match=r"lengths: expected values in \[1, 3\]"):
        length_mask([0, 3], 3)


def test_weighted_softmax_loss_matches_package_and_numeric_gradient():
    rng = np.random.default_rng(0)
    scores, y = rng.normal(size=(3, 4, 5)), rng.integers(0, 5, (3, 4))
    mask = length_mask([4, 2, 1], 4)
    ref_loss, ref_d = temporal_softmax_loss(scores, y, mask)
    y_ign = np.where(mask, y, IGNORE_INDEX)
    w = token_weights(mask, "sequence_mean")
    loss, d = weighted_softmax_loss(scores, y_ign, token_weights(mask, "sum"))
    assert np.isclose(loss, ref_loss, rtol=1e-12) and np.allclose(d, ref_d, atol=1e-15)
    _, d = weighted_softmax_loss(scores, y_ign, w)
    numeric = eval_numerical_gradient(
        lambda s: weighted_softmax_loss(s, y_ign, w)[0], scores)
    assert rel_error(d, numeric) < 1e-7
    with pytest.raises(ValueError, match="weights: a step with target IGNORE_INDEX"):
        weighted_softmax_loss(scores, y_ign, np.ones((3, 4)))


def _batch():
    x, y = pad_sequences(
        [np.array([0, 3, 4]), np.array([0, 1, 2, 3, 4]), np.array([0, 2])],
        [np.array([3, 4, 0]), np.array([1, 2, 3, 4, 0]), np.array([2, 0])], pad_id=0)
    return x, y


def test_pad_sequences_and_its_errors():
    x, y = _batch()
    assert x.shape == y.shape == (3, 5)
    assert (y == IGNORE_INDEX).sum(axis=1).tolist() == [2, 0, 3]
    with pytest.raises(ValueError, match=r"targets\[0\]: expected length 2"):
        pad_sequences([np.array([1, 2])], [np.array([1])], pad_id=0)


def test_masked_char_rnn_padded_batch_equals_sequences_alone_and_gradients_are_right():
    x, y = _batch()
    model = MaskedCharRNN(V=5, H=4, E=3, seed=0)
    loss, grads = model.loss(x, y)
    lengths = (y != IGNORE_INDEX).sum(axis=1)
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
    model = MaskedCharRNN(V=5, H=4, seed=1)
    right = model.final_states(x, y)
    wrong = model.final_states(x, y, use_lengths=False)
    assert np.allclose(right[1], wrong[1]) and not np.allclose(right[0], wrong[0])
    assert model.step_losses(x, y)[2, 2:].tolist() == [0.0, 0.0, 0.0]
    y_left = y.copy()
    y_left[0] = [IGNORE_INDEX, 3, 4, 0, IGNORE_INDEX]
    with pytest.raises(ValueError, match="y: expected right padding"):
        model.loss(x, y_left)
    with pytest.raises(ValueError, match=r"y: expected shape \(3, 5\)"):
        model.loss(x, y[:, :4])


def test_rnn_lm_loss_gradients_match_numeric_for_every_input():
    rng = np.random.default_rng(3)
    N, T, D, H, V = 2, 4, 3, 4, 3
    params = {"Wx": rng.normal(size=(D, H)) * 0.5, "Wh": rng.normal(size=(H, H)) * 0.5,
              "b": rng.normal(size=H) * 0.1, "Wy": rng.normal(size=(H, V)) * 0.5,
              "by": rng.normal(size=V) * 0.1}
    x, y, h0 = rng.normal(size=(N, T, D)), rng.integers(0, V, (N, T)), rng.normal(size=(N, H))
    loss, grads = rnn_lm_loss(params, x, y, h0)
    assert set(grads) == {*params, "x", "h0"}
    assert 0 < loss < 2 * T * np.log(V)  # summed over T steps, averaged over N
    arrays = {**params, "x": x, "h0": h0}
    for name in grads:
        def f(value, name=name):
            a = arrays | {name: value}
            return rnn_lm_loss({k: a[k] for k in params}, a["x"], y, a["h0"])[0]
        numeric = eval_numerical_gradient(f, arrays[name].copy())
        assert rel_error(grads[name], numeric) < 1e-6, name

