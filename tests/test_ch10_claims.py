"""Chapter 10's claims, each asserted in its direction on a small fixed seed, and through
`check_claims` with shift tests that move each key quantity past the prose's rounding."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from minirnn.chapters import ch10_vanishing_exploding as gradients
from minirnn.numpy import rnn_backward, rnn_forward
from minirnn.results import load_json


def test_backprop_sends_back_the_product_of_one_step_jacobians():
    rng = np.random.default_rng(0)
    H, T = 4, 6
    Wh, drive = rng.normal(size=(H, H)) * 0.6, rng.normal(size=(T, H))
    h, product = np.zeros(H), np.eye(H)
    for u in drive:
        h = np.tanh(h @ Wh + u)
        product = np.diag(1 - h ** 2) @ Wh.T @ product
    _, cache = rnn_forward(drive[None], np.zeros((1, H)), np.eye(H), Wh, np.zeros(H))
    w = rng.normal(size=H)
    dh = np.zeros((1, T, H))
    dh[0, -1] = w
    assert np.allclose(rnn_backward(dh, cache)[1][0], w @ product, atol=1e-12)
    assert np.isclose(gradients.jacobian_norms(Wh, drive)["norms"][-1],
                      np.linalg.norm(product, 2))


def test_sigma_max_below_one_bounds_the_norm_by_sigma_max_to_the_k():
    rng = np.random.default_rng(1)
    for scale in (0.5, 0.9, 0.99):
        W = rng.normal(size=(32, 32))
        W *= scale / np.linalg.norm(W, 2)
        run = gradients.jacobian_norms(W, rng.normal(0, 2.0, (40, 32)))
        chain = np.cumprod(run["step_norms"])
        k = np.arange(1, 41)
        assert np.all(run["norms"] <= chain * (1 + 1e-9))
        assert np.all(chain <= scale ** k * (1 + 1e-9))


def test_non_normal_matrix_has_sigma_max_above_one_and_still_vanishes():
    W = np.array([[0.9, 2.0], [0.0, 0.9]])
    s = gradients.spectrum(W)
    norms = gradients.power_norms(W, [10, 100, 120])
    assert 2.3 < s["sigma_max"] < 2.4 and np.isclose(s["rho"], 0.9)
    assert 7 < norms[0] < 8.5 and norms[1] < 1e-2
    assert np.isclose(norms[2] ** (1 / 120), 0.9, atol=0.05)
    assert np.allclose(gradients.power_norms(np.diag([0.9, 0.9]), [10]), 0.9 ** 10)


def test_torch_default_whh_has_sigma_max_above_one_but_rho_near_0_6_and_vanishes():
    for H, seed in ((32, 0), (64, 0), (64, 1), (128, 0)):
        s = gradients.spectrum(gradients.torch_default_whh(H, seed))
        assert 1.0 < s["sigma_max"] < 1.25 and 0.5 < s["rho"] < 0.7
    W = gradients.torch_default_whh(64, 0)
    drive = np.random.default_rng(0).normal(0.0, 1.0, (60, 64))
    linear = gradients.jacobian_norms(W, drive, "linear")["norms"]
    rate = (linear[59] / linear[29]) ** (1 / 30)
    assert abs(rate - gradients.spectrum(W)["rho"]) < 0.05 and linear[59] < 1e-10


def test_tanh_crossing_depends_on_input_scale():
    threadpool_limits(1)
    sigmas = [1.0, 1.1, 1.5, 1.7, 1.8, 1.9, 2.0]
    std1 = gradients.sigma_sweep(sigmas, H=64, T=60, input_std=1.0)[:, -1]
    std01 = gradients.sigma_sweep([0.9, 1.0, 1.1, 1.2], H=64, T=60, input_std=0.1)[:, -1]
    linear = gradients.sigma_sweep(sigmas, H=64, T=60, nonlinearity="linear")[:, -1]
    at = dict(zip(sigmas, std1))
    assert 1e-11 < at[1.1] < 1e-7 and 1e-4 < at[1.5] < 1e-2 and 10 < at[2.0] < 1e4
    assert 1.65 < gradients.crossing_sigma(np.array(sigmas), std1) < 1.95
    assert 1.0 < gradients.crossing_sigma(np.array([0.9, 1.0, 1.1, 1.2]), std01) < 1.2
    assert np.allclose(linear, np.array(sigmas) ** 60)  # linear: exactly sigma^k, any inputs
    assert np.all(std1 < linear)


def test_saturated_units_make_a_large_wh_vanish():
    """A W_h with rho > 1 still vanishes when the units saturate (the trained-model effect)."""
    W = gradients.orthogonal(32, 0) * 1.3
    drive = np.random.default_rng(0).normal(0.0, 3.0, (60, 32))
    run = gradients.jacobian_norms(W, drive)
    assert gradients.spectrum(W)["rho"] > 1.2
    assert np.median(run["deriv"]) < 0.1 and run["norms"][-1] < 1e-6


def test_trained_char_rnn_has_rho_above_one_saturated_units_and_vanishing_jacobians():
    from minirnn.data.text import load_corpus
    from minirnn.numpy import word_embedding_forward
    from minirnn.numpy.models import MaskedCharRNN
    from minirnn.numpy.train import fit

    threadpool_limits(1)
    x, y, vocab = gradients.char_windows(150_000, 64)
    model = MaskedCharRNN(V=len(vocab), H=64, E=32, seed=0)
    fit(model, x[:-16], y[:-16], steps=300, batch_size=32, lr=0.01, seed=0)
    p = model.params
    emb, _ = word_embedding_forward(x[-2:], p["W_embed"])
    run = gradients.jacobian_norms(p["Wh"], emb[0] @ p["Wx"] + p["b"])
    s = gradients.spectrum(p["Wh"])
    assert s["sigma_max"] > 2 and s["rho"] > 1.2
    assert np.median(run["deriv"]) < 0.1 and run["norms"][59] < 1e-6
    long_ids = vocab.encode(load_corpus()[150_000:151_000])
    emb, _ = word_embedding_forward(long_ids[None], p["W_embed"])
    lam = gradients.top_lyapunov(p["Wh"], emb[0] @ p["Wx"] + p["b"])
    assert -0.6 < lam[-1] < -0.1  # the page: about -0.40 per step over 3,000 characters


def test_exercise_relu_crossing_is_just_above_one_and_independent_of_input_scale():
    Q = gradients.orthogonal(64, 0)

    def relu_norm(W, drive):
        h, product = np.zeros(64), np.eye(64)
        for u in drive:
            a = h @ W + u
            h = np.maximum(a, 0)
            product = (a > 0)[:, None] * W.T @ product
        return np.linalg.norm(product, 2)

    for std in (1.0, 0.1):
        drive = np.random.default_rng(1000).normal(0, std, (60, 64))
        assert relu_norm(1.0 * Q, drive) < 1e-3 and relu_norm(1.2 * Q, drive) > 1
    d1 = np.random.default_rng(1000).normal(0, 1.0, (60, 64))
    assert np.isclose(relu_norm(1.4 * Q, d1), relu_norm(1.4 * Q, 0.1 * d1), rtol=1e-9)


# ------------------------------------------------------------------ check_claims and its shifts

@pytest.fixture(scope="module")
def measurements():
    """The chapter's measurements, as the notebook computes them (the crossing on a coarser grid
    of sigmas, and the Lyapunov exponents of three seeds from experiments/vanishing.py)."""
    threadpool_limits(1)
    rng = np.random.default_rng(1)
    W = rng.normal(size=(64, 64))
    W *= 0.9 / np.linalg.norm(W, 2)
    run = gradients.jacobian_norms(W, rng.normal(0, 2.0, (60, 64)))
    ks = np.array([10, 100, 1000])
    example = gradients.tanh_can_grow_example()
    W_default = gradients.torch_default_whh(64, seed=0)
    linear = gradients.jacobian_norms(W_default, np.random.default_rng(0).normal(0, 1, (60, 64)),
                                      "linear")["norms"]
    sigmas = np.round(np.arange(0.9, 2.45, 0.1), 2)
    crossing = {std: gradients.crossing_sigma(sigmas, gradients.sigma_sweep(
        list(sigmas), H=64, T=60, input_std=std)[:, -1]) for std in (1.0, 0.1)}
    return {
        "bound": {"norms": run["norms"], "chain": np.cumprod(run["step_norms"]), "sigma": 0.9},
        "jordan": {"k": ks, "norms": gradients.power_norms(np.array([[0.9, 2.0], [0.0, 0.9]]),
                                                           ks)},
        "grow": {nl: gradients.jacobian_norms(example["Wh"], example["drive"], nl)["norms"][1]
                 for nl in ("tanh", "linear")},
        "default": {"rate": (linear[59] / linear[29]) ** (1 / 30),
                    "rho": gradients.spectrum(W_default)["rho"]},
        "crossing": crossing,
        "lyapunov": load_json("vanishing", "results.json")["runs"],
    }


def test_check_claims_holds(measurements):
    gradients.check_claims(measurements)


def _moved(m, path, value):
    moved = copy.deepcopy(m)
    target = moved
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value(target[path[-1]])
    return moved


@pytest.mark.parametrize("path, value, claim", [
    # ||W^100|| = 222 rho^100 in the prose: 1% more rounds to 224
    (("jordan", "norms"), lambda n: n * 1.01, "222 rho"),
    # a constant times rho^k would make ||W^k|| / (k rho^k) fall like 1/k
    (("jordan", "norms"), lambda n: n * np.array([1.0, 1.0, 0.1]), "grows like k rho"),
    # the counterexample: the tanh product at 0.98 instead of 1 would not be the prose's "1"
    (("grow", "tanh"), lambda x: 0.98, "larger than the linear"),
    (("crossing", 1.0), lambda x: 1.96, "near 1.8"),
    (("lyapunov", 4, "lambda"), lambda x: -0.09, "below -0.1"),
    (("lyapunov", 2, "lambda"), lambda x: -0.5, "raises the top Lyapunov"),
    (("bound", "norms"), lambda n: n * 1.01, "sigma_max\\^k"),  # at k = 1 the two are equal
])
def test_check_claims_fails_when_a_quantity_moves_past_the_prose(measurements, path, value,
                                                                 claim):
    with pytest.raises(AssertionError, match=claim):
        gradients.check_claims(_moved(measurements, path, value))


def test_top_lyapunov_of_the_trained_model_settles_below_zero():
    """Seed 0's model of section 10.5 is covered by the shipped grid; here the estimator itself:
    for a constant orthogonal sigma Q (linear) it is log sigma at every k, and on a driven tanh
    RNN it agrees with log ||dh_k/dh_0|| / k while that does not underflow."""
    Q = gradients.orthogonal(16, 0)
    drive = np.random.default_rng(0).normal(0, 1, (200, 16))
    assert np.allclose(gradients.top_lyapunov(0.8 * Q, drive, "linear"), np.log(0.8))
    short = gradients.jacobian_norms(1.3 * Q, drive[:50])["norms"]
    est = gradients.top_lyapunov(1.3 * Q, drive[:50])
    assert np.allclose(est, np.log(short) / np.arange(1, 51), rtol=1e-9)
