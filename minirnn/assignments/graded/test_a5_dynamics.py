"""Graded tests of A5: gradient dynamics of the tanh RNN, and gradient clipping, in NumPy.

Jacobians are compared with finite differences of one step and with products written out
here; spectra with eigenvalues of W^T W; clipping with torch.nn.utils (if torch is installed
where you run these). Run them with ``python -m pytest tests -q`` from the assignment folder.
"""

import math

import numpy as np
import pytest

from minirnn.numpy.clip import clip_grad_norm, clip_grad_value
from minirnn.numpy.dynamics import (
    jacobian_norms_by_lag,
    jacobian_product,
    predicted_vanishing_lag,
    rnn_step_jacobian,
    spectrum,
)


def orthogonal(rng, H):
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    return q * np.sign(np.diag(r))


def run(Wh, drive, h0):
    states = [h0]
    for u in drive:
        states.append(np.tanh(states[-1] @ Wh + u))
    return np.stack(states)


def numeric_step_jacobian(h_prev, u, Wh, eps=1e-6):
    """d tanh(h Wh + u) / d h at h_prev, column by column (centred differences)."""
    H = len(h_prev)
    J = np.zeros((H, H))
    for j in range(H):
        e = np.zeros(H)
        e[j] = eps
        J[:, j] = (np.tanh((h_prev + e) @ Wh + u) - np.tanh((h_prev - e) @ Wh + u)) / (2 * eps)
    return J


def test_rnn_step_jacobian():
    rng = np.random.default_rng(0)
    H = 5
    Wh, h_prev, u = rng.normal(size=(H, H)) * 0.6, rng.normal(size=(2, H)), rng.normal(size=H)
    next_h = np.tanh(h_prev @ Wh + u)
    J = rnn_step_jacobian(next_h, Wh)
    assert J.shape == (2, H, H)
    for n in range(2):
        assert np.allclose(J[n], numeric_step_jacobian(h_prev[n], u, Wh), atol=1e-8)


def test_jacobian_product():
    rng = np.random.default_rng(1)
    H, T = 4, 8
    Wh, drive = rng.normal(size=(H, H)) * 0.7, rng.normal(size=(T, H))
    states = run(Wh, drive, np.zeros(H))
    assert np.array_equal(jacobian_product(states, Wh, 5, 0), np.eye(H))
    # dh_8/dh_5 by finite differences: perturb h_5 and run steps 6, 7, 8 again
    eps, numeric = 1e-6, np.zeros((H, H))
    for j in range(H):
        e = np.zeros(H)
        e[j] = eps
        plus, minus = run(Wh, drive[5:], states[5] + e), run(Wh, drive[5:], states[5] - e)
        numeric[:, j] = (plus[-1] - minus[-1]) / (2 * eps)
    assert np.allclose(jacobian_product(states, Wh, 8, 3), numeric, atol=1e-8)


def test_spectrum():
    rng = np.random.default_rng(2)
    rotation = np.array([[0.0, -1.5], [1.5, 0.0]])  # eigenvalues +-1.5i
    assert np.allclose(spectrum(rotation), (1.5, 1.5))
    shear = np.array([[0.5, 4.0], [0.0, 0.5]])  # not normal: rho far below sigma_max
    sigma, rho = spectrum(shear)
    assert abs(rho - 0.5) < 1e-8 and abs(sigma - math.sqrt(max(np.linalg.eigvalsh(
        shear.T @ shear)))) < 1e-10
    W = rng.normal(size=(6, 6))
    sigma, rho = spectrum(W)
    assert rho <= sigma + 1e-12


def test_jacobian_norms_by_lag():
    rng = np.random.default_rng(3)
    H, T = 8, 15
    Wh, drive = 0.8 * orthogonal(rng, H), rng.normal(size=(T, H)) * 0.5
    norms = jacobian_norms_by_lag(Wh, drive)
    assert norms.shape == (T,)
    states = run(Wh, drive, np.zeros(H))
    for k in (1, 4, T):
        assert abs(norms[k - 1] - np.linalg.norm(jacobian_product(states, Wh, T, k), 2)) < 1e-10
    # without inputs, from h0 = 0, tanh' = 1 all along: the norm is 0.8 ** k exactly
    quiet = jacobian_norms_by_lag(Wh, np.zeros((T, H)))
    assert np.allclose(quiet, 0.8 ** np.arange(1, T + 1))


def test_predicted_vanishing_lag():
    rng = np.random.default_rng(4)
    Q = orthogonal(rng, 6)
    W = (Q * np.array([0.9, -0.7, 0.5, 0.3, -0.2, 0.1])) @ Q.T  # symmetric, rho = 0.9
    lag, power = 0, np.eye(6)
    while np.linalg.norm(power, 2) >= 1e-6:
        power, lag = power @ W, lag + 1
    assert predicted_vanishing_lag(W, 1e-6) == lag == 132
    assert predicted_vanishing_lag(1.01 * Q) is None


def grads(rng, dtype):
    return [(rng.normal(size=s) * 2).astype(dtype) for s in ((3, 4), (5,), (2, 2, 3))]


def test_clip_grad_norm():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for dtype in (np.float64, np.float32):
        g = grads(rng, dtype)
        params = [torch.nn.Parameter(torch.zeros(x.shape, dtype=torch.from_numpy(x).dtype))
                  for x in g]
        for p, x in zip(params, g):
            p.grad = torch.from_numpy(x.copy())
        want = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
        held = list(g)
        got = clip_grad_norm({f"p{k}": x for k, x in enumerate(g)}, 1.0)
        assert abs(got - want) < 1e-5 * want
        for x, p in zip(held, params):  # the same arrays, changed in place
            assert x.dtype == dtype and np.allclose(x, p.grad.numpy(), rtol=1e-5, atol=1e-7)
    small = [np.full(3, 0.1)]
    assert abs(clip_grad_norm(small, 1.0) - math.sqrt(0.03)) < 1e-12
    assert np.array_equal(small[0], np.full(3, 0.1))  # under the limit: untouched


def test_clip_grad_value():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    g = grads(rng, np.float64)
    want = [torch.from_numpy(x.copy()) for x in g]
    for w in want:
        w.clamp_(-0.5, 0.5)  # what torch.nn.utils.clip_grad_value_ does to each .grad
    held = list(g)
    assert clip_grad_value(g, 0.5) is None
    for x, w in zip(held, want):
        assert np.array_equal(x, w.numpy())
