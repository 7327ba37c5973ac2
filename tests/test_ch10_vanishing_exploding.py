"""Unit tests of minirnn.chapters.ch10_vanishing_exploding (Jacobian products, spectra, sweeps)."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.chapters import ch10_vanishing_exploding as gradients


def test_orthogonal_is_orthogonal_and_seeded():
    Q = gradients.orthogonal(16, seed=3)
    assert np.allclose(Q @ Q.T, np.eye(16), atol=1e-12)
    assert np.array_equal(Q, gradients.orthogonal(16, seed=3))
    with pytest.raises(ValueError, match="H: expected a positive integer"):
        gradients.orthogonal(0)


def test_spectrum_of_a_diagonal_and_error_on_non_square():
    s = gradients.spectrum(np.diag([0.5, -2.0, 1.0]))
    assert np.isclose(s["sigma_max"], 2.0) and np.isclose(s["rho"], 2.0)
    with pytest.raises(ValueError, match=r"W: expected a square 2-D array \(H, H\), got \(2, 3\)"):
        gradients.spectrum(np.zeros((2, 3)))


def test_power_norms_match_matrix_power():
    W = np.random.default_rng(0).normal(size=(5, 5))
    out = gradients.power_norms(W, [0, 1, 3])
    assert np.isclose(out[0], 1.0) and np.isclose(out[1], np.linalg.norm(W, 2))
    assert np.isclose(out[2], np.linalg.norm(W @ W @ W, 2))
    with pytest.raises(ValueError, match="ks"):
        gradients.power_norms(W, [-1])


def test_jacobian_norms_equal_finite_differences_of_the_final_state():
    rng = np.random.default_rng(1)
    Wh, drive = rng.normal(size=(4, 4)) * 0.7, rng.normal(size=(5, 4))
    run = gradients.jacobian_norms(Wh, drive)

    def final(h0):
        h = h0
        for u in drive:
            h = np.tanh(h @ Wh + u)
        return h

    eps, h0 = 1e-6, np.zeros(4)
    J = np.stack([(final(h0 + eps * e) - final(h0 - eps * e)) / (2 * eps) for e in np.eye(4)],
                 axis=1)  # J[i, j] = d h_T,i / d h_0,j
    assert np.isclose(run["norms"][-1], np.linalg.norm(J, 2), rtol=1e-6)
    assert run["states"].shape == (6, 4) and run["deriv"].shape == (5, 4)


def test_linear_jacobian_is_the_matrix_power_and_errors_name_the_argument():
    W = gradients.orthogonal(8, 0) * 0.8
    run = gradients.jacobian_norms(W, np.ones((10, 8)), "linear")
    assert np.allclose(run["norms"], 0.8 ** np.arange(1, 11))
    with pytest.raises(ValueError, match=r"drive: expected shape \(T, 8\), got \(10, 3\)"):
        gradients.jacobian_norms(W, np.ones((10, 3)))
    with pytest.raises(ValueError, match="nonlinearity"):
        gradients.jacobian_norms(W, np.ones((10, 8)), "relu")
    with pytest.raises(ValueError, match=r"h0: expected shape \(8,\)"):
        gradients.jacobian_norms(W, np.ones((10, 8)), h0=np.zeros(3))


def test_crossing_sigma_interpolates_in_log_space():
    assert np.isclose(gradients.crossing_sigma(np.array([1.0, 2.0]), np.array([0.1, 10.0])), 1.5)
    assert np.isnan(gradients.crossing_sigma(np.array([1.0, 2.0]), np.array([0.1, 0.5])))
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        gradients.crossing_sigma(np.array([1.0, 2.0]), np.array([1.0]))


def test_torch_default_whh_is_within_torchs_uniform_range():
    W = gradients.torch_default_whh(16, seed=0)
    assert W.shape == (16, 16) and np.abs(W).max() <= 1 / 4


def test_tanh_can_grow_example_is_what_its_docstring_says():
    e = gradients.tanh_can_grow_example()
    WT = e["Wh"].T
    assert np.allclose(WT @ WT, 0) and np.allclose(WT, [[1, -1], [1, -1]])
    run = gradients.jacobian_norms(e["Wh"], e["drive"])
    assert np.allclose(run["deriv"], [[1.0, 0.5], [1.0, 1.0]])
    assert np.isclose(run["norms"][1], np.linalg.norm(WT @ np.diag([1, 0.5]) @ WT, 2))


def test_top_lyapunov_errors_name_the_argument():
    W = gradients.orthogonal(4, 0)
    with pytest.raises(ValueError, match=r"drive: expected shape \(T, 4\)"):
        gradients.top_lyapunov(W, np.ones((5, 3)))
    with pytest.raises(ValueError, match="nonlinearity"):
        gradients.top_lyapunov(W, np.ones((5, 4)), "relu")
    with pytest.raises(ValueError, match=r"h0: expected shape \(4,\)"):
        gradients.top_lyapunov(W, np.ones((5, 4)), h0=np.zeros(2))


def test_char_rnn_measurements_add_up_to_the_model_s_own_gradient():
    from minirnn.numpy.models import MaskedCharRNN

    x, y, vocab = gradients.char_windows(3_000, 16)
    model = MaskedCharRNN(V=len(vocab), H=8, E=4, seed=0)
    m = gradients.char_rnn_measurements(model, x[:3], y[:3], x[3])
    assert m["dWh_check"] and m["norms"].shape == (16,) and m["deriv"].shape == (3 * 16 * 8,)
    assert m["by_lag"].shape == (16,) and m["lyapunov"].shape == (16,)
    model.params["Wh"] = model.params["Wh"] * 0.1  # a smaller W_h: gradients vanish faster
    assert gradients.char_rnn_measurements(model, x[:3], y[:3], x[3])["norms"][-1] < m["norms"][-1]
