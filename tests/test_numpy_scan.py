"""Unit tests of minirnn.numpy.scan (A7's library): the loop, the Hillis-Steele scan with its
counts, log space, minGRU; parity with minirnn.torch.mingru; bad input is refused."""

import math

import numpy as np
import pytest
import torch

import minirnn.torch.mingru as mg
from minirnn.numpy.scan import (
    affine_combine,
    linear_recurrence_log,
    linear_recurrence_loop,
    linear_recurrence_scan,
    mingru_forward,
    parallel_scan,
)


def coefficients(T, seed=0, N=2, H=3):
    rng = np.random.default_rng(seed)
    z = 1.0 / (1.0 + np.exp(-rng.normal(size=(N, T, H))))
    return 1.0 - z, z * np.logaddexp(0.0, rng.normal(size=(N, T, H))), rng.random((N, H)) + 0.1


@pytest.mark.parametrize("T", [1, 2, 3, 8, 37, 100])
def test_the_scan_equals_the_loop_and_counts_its_work(T):
    a, b, h0 = coefficients(T)
    assert np.allclose(linear_recurrence_scan(a, b, h0), linear_recurrence_loop(a, b, h0),
                       rtol=1e-12)
    _, counts = parallel_scan((a, b), affine_combine)
    rounds = math.ceil(math.log2(T)) if T > 1 else 0
    work = sum(T - d for d in (2 ** k for k in range(rounds)))  # chapter 15's scan_work
    assert counts == {"rounds": rounds, "combines": work}


def test_the_operator_is_associative_and_not_commutative():
    rng = np.random.default_rng(1)
    p, q, r = [(rng.normal(size=4), rng.normal(size=4)) for _ in range(3)]
    left = affine_combine(affine_combine(p, q), r)
    right = affine_combine(p, affine_combine(q, r))
    assert all(np.allclose(u, v) for u, v in zip(left, right))
    assert not np.allclose(affine_combine(p, q)[1], affine_combine(q, p)[1])


def test_numpy_and_torch_agree():
    a, b, h0 = coefficients(50, seed=2)
    want = mg.linear_recurrence_scan(*(torch.from_numpy(x) for x in (a, b, h0))).numpy()
    assert np.allclose(linear_recurrence_scan(a, b, h0), want, rtol=1e-12)
    torch.manual_seed(0)
    layer = mg.MinGRU(3, 4).double()
    x = np.random.default_rng(3).normal(size=(2, 20, 3))
    with torch.no_grad():
        out, _ = layer(torch.from_numpy(x))
    W, bias = layer.gates.weight.detach().numpy().T, layer.gates.bias.detach().numpy()
    ours = mingru_forward(x, W[:, :4], bias[:4], W[:, 4:], bias[4:])
    assert np.allclose(ours, out.numpy(), rtol=1e-10, atol=1e-12)


def test_log_space_is_exact_where_exponentials_underflow_and_drifts_little_in_float32():
    a, b, h0 = coefficients(300, seed=4)
    log_h = linear_recurrence_log(np.log(a), np.log(b) - 900.0, np.log(h0) - 900.0)
    assert np.allclose(log_h, np.log(linear_recurrence_loop(a, b, h0)) - 900.0, atol=1e-10)
    assert np.all(np.exp(np.log(b) - 900.0) == 0)  # what leaving log space would have met
    a, b, h0 = coefficients(4096, seed=5)
    exact = np.log(linear_recurrence_loop(a, b, h0))
    f32 = linear_recurrence_log(*(np.log(x).astype(np.float32) for x in (a, b, h0)))
    assert f32.dtype == np.float32 and np.abs(f32 - exact).max() < 1e-5


def test_float32_scan_at_4096_steps_stays_close_to_float64():
    a, b, h0 = coefficients(4096, seed=6)
    got = linear_recurrence_scan(*(x.astype(np.float32) for x in (a, b, h0)))
    want = linear_recurrence_loop(a, b, h0)
    assert got.dtype == np.float32 and np.max(np.abs(got - want) / want) < 1e-5


def test_log_space_mingru_keeps_states_positive():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 30, 3)) * 3
    W = rng.normal(size=(3, 4))
    h = mingru_forward(x, W, np.zeros(4), -W, np.zeros(4), log_space=True)
    assert np.all(h > 0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: linear_recurrence_loop(np.zeros((2, 3, 4)), np.zeros((2, 3, 5))), ValueError, "a, b"),
    (lambda: linear_recurrence_scan(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.zeros((2, 5))),
     ValueError, "h0"),
    (lambda: linear_recurrence_log(np.zeros((2, 3, 4), dtype=int), np.zeros((2, 3, 4))),
     TypeError, "a: expected a floating"),
    (lambda: parallel_scan([np.zeros((2, 3))], affine_combine), TypeError, "elems"),
    (lambda: parallel_scan((np.zeros((2, 3)), np.zeros((2, 4))), affine_combine), ValueError,
     "elems"),
    (lambda: mingru_forward(np.zeros((2, 3, 4)), np.zeros((3, 2)), np.zeros(2), np.zeros((3, 2)),
                            np.zeros(2)), ValueError, "Wz, Wn"),
    (lambda: mingru_forward(np.zeros((1, 3, 2)), np.zeros((2, 2)), np.zeros(2), np.zeros((2, 2)),
                            np.zeros(2), -np.ones((1, 2)), log_space=True), ValueError, "h0"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
