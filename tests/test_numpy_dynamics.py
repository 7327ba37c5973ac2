"""Unit tests of minirnn.numpy.dynamics (A5's library): Jacobians through time, the spectrum,
the norm against the lag and the predicted vanishing lag, checked against finite differences,
chapter 10's own measurement, and matrix powers; bad input is refused."""

import numpy as np
import pytest

from minirnn.chapters.ch10_vanishing_exploding import jacobian_norms, orthogonal
from minirnn.numpy.dynamics import (
    jacobian_norms_by_lag,
    jacobian_product,
    predicted_vanishing_lag,
    rnn_step_jacobian,
    spectrum,
)


def run(Wh, drive, h0):
    states = [h0]
    for x in drive:
        states.append(np.tanh(states[-1] @ Wh + x))
    return np.stack(states)


def test_the_step_jacobian_matches_finite_differences():
    rng = np.random.default_rng(0)
    H = 4
    Wh, h, u = rng.normal(size=(H, H)), rng.normal(size=H), rng.normal(size=H)
    J = rnn_step_jacobian(np.tanh(h @ Wh + u)[None], Wh)[0]
    eps = 1e-6
    numeric = np.stack([(np.tanh((h + e) @ Wh + u) - np.tanh((h - e) @ Wh + u)) / (2 * eps)
                        for e in eps * np.eye(H)], axis=1)
    assert np.abs(J - numeric).max() < 1e-8


def test_the_product_over_k_steps_chains_the_steps_and_agrees_with_chapter_10():
    rng = np.random.default_rng(1)
    H, T = 6, 20
    Wh, drive = 0.9 * orthogonal(H, 1), rng.normal(size=(T, H))
    states = run(Wh, drive, np.zeros(H))
    full = jacobian_product(states, Wh, T, T)
    split = jacobian_product(states, Wh, T, 5) @ jacobian_product(states, Wh, T - 5, T - 5)
    assert np.allclose(full, split, atol=1e-14)
    ours = jacobian_norms_by_lag(Wh, drive)
    chapter = jacobian_norms(Wh, drive)["norms"]  # ||dh_k/dh_0||: the same matrix at k = T
    assert abs(ours[-1] - chapter[-1]) < 1e-12 * chapter[-1]
    assert np.isclose(ours[0], np.linalg.norm(rnn_step_jacobian(states[-1][None], Wh)[0], 2))


def test_spectrum_separates_sigma_max_from_rho():
    assert np.allclose(spectrum(np.array([[0.5, 4.0], [0.0, 0.5]])),
                       (np.sqrt(np.max(np.linalg.eigvalsh(np.array([[0.25, 2.0], [2.0, 16.25]])))),
                        0.5))
    assert np.allclose(spectrum(np.array([[0.0, -2.0], [2.0, 0.0]])), (2.0, 2.0))
    assert np.allclose(spectrum(np.diag([0.3, -1.4])), (1.4, 1.4))


def test_predicted_lag_equals_the_first_power_below_the_threshold():
    for rho, threshold in ((0.9, 1e-6), (0.6, 1e-4), (0.97, 1e-8)):
        W = rho * orthogonal(5, 3)
        lag, power = 0, np.eye(5)
        while np.linalg.norm(power, 2) >= threshold:
            power, lag = power @ W, lag + 1
        assert predicted_vanishing_lag(W, threshold) == lag
    assert predicted_vanishing_lag(1.2 * orthogonal(5, 3)) is None
    assert predicted_vanishing_lag(np.zeros((3, 3))) == 1


@pytest.mark.parametrize("call, message", [
    (lambda: rnn_step_jacobian(np.zeros((2, 3)), np.zeros((4, 4))), "next_h"),
    (lambda: rnn_step_jacobian(np.zeros((2, 3)), np.zeros((3, 4))), "Wh"),
    (lambda: jacobian_product(np.zeros((5, 3)), np.eye(3), 5, 1), "t"),
    (lambda: jacobian_product(np.zeros((5, 3)), np.eye(3), 2, 3), "k"),
    (lambda: jacobian_norms_by_lag(np.eye(3), np.zeros((4, 2))), "drive"),
    (lambda: jacobian_norms_by_lag(np.eye(3), np.zeros((4, 3)), np.zeros(2)), "h0"),
    (lambda: spectrum(np.zeros(3)), "W"),
    (lambda: predicted_vanishing_lag(np.eye(3), 2.0), "threshold"),
])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
