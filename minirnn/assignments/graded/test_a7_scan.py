"""Graded tests of A7: linear recurrences by a loop, a parallel scan and in log space; minGRU.

The recurrences are compared with a loop written out here in float64; the scan is also run
with an operator other than the recurrence's (string concatenation is associative and not
commutative) and its call counts are checked against a counting operator. Run them with
``python -m pytest tests -q`` from the assignment folder.
"""

import math

import numpy as np

from minirnn.numpy.scan import (
    affine_combine,
    linear_recurrence_log,
    linear_recurrence_loop,
    linear_recurrence_scan,
    mingru_forward,
    parallel_scan,
)


def expected(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return np.stack(out, axis=1)


def positive(rng, N, T, H):
    z = 1.0 / (1.0 + np.exp(-rng.normal(size=(N, T, H))))
    return 1.0 - z, z * np.logaddexp(0.0, rng.normal(size=(N, T, H))), rng.random((N, H)) + 0.1


def test_linear_recurrence_loop():
    rng = np.random.default_rng(0)
    a, b, h0 = rng.normal(size=(2, 7, 3)), rng.normal(size=(2, 7, 3)), rng.normal(size=(2, 3))
    assert np.allclose(linear_recurrence_loop(a, b, h0), expected(a, b, h0), rtol=1e-12)
    assert np.allclose(linear_recurrence_loop(a, b), expected(a, b, np.zeros((2, 3))))
    f32 = linear_recurrence_loop(a.astype(np.float32), b.astype(np.float32))
    assert f32.dtype == np.float32


def test_affine_combine():
    first, then = (np.array([2.0]), np.array([3.0])), (np.array([5.0]), np.array([7.0]))
    A, B = affine_combine(first, then)  # h -> 2h + 3, then -> 5(2h + 3) + 7 = 10h + 22
    assert A[0] == 10.0 and B[0] == 22.0
    A, B = affine_combine(then, first)  # the other order: 2(5h + 7) + 3 = 10h + 17
    assert B[0] == 17.0


def test_parallel_scan():
    # strings: concatenation is associative and the order shows in the result
    T = 37
    letters = np.array([[chr(ord("a") + t % 26) for t in range(T)]], dtype=object)[:, :, None]
    calls = []

    def concatenate(earlier, later):
        calls.append(earlier[0].shape[1])
        return (earlier[0] + later[0],)

    (prefixes,), counts = parallel_scan((letters,), concatenate)
    assert [prefixes[0, t, 0] for t in range(T)] == ["".join(letters[0, :t + 1, 0])
                                                     for t in range(T)]
    assert counts == {"rounds": len(calls), "combines": sum(calls)}
    assert len(calls) <= 2 * math.ceil(math.log2(T))  # log-depth, not a loop of T - 1 calls
    (same,), counts = parallel_scan((letters[:, :1],), concatenate)
    assert same[0, 0, 0] == "a" and counts["rounds"] == 0


def test_linear_recurrence_scan():
    rng = np.random.default_rng(1)
    a, b, h0 = rng.uniform(-1, 1, (2, 300, 4)), rng.normal(size=(2, 300, 4)), rng.normal(
        size=(2, 4))
    assert np.allclose(linear_recurrence_scan(a, b, h0), expected(a, b, h0), rtol=1e-9,
                       atol=1e-12)
    a, b, h0 = positive(rng, 2, 4096, 4)  # float32 at T = 4096: the drift stays small
    got = linear_recurrence_scan(*(x.astype(np.float32) for x in (a, b, h0)))
    want = expected(a, b, h0)
    assert got.dtype == np.float32 and np.max(np.abs(got - want) / want) < 1e-5


def test_linear_recurrence_log():
    rng = np.random.default_rng(2)
    a, b, h0 = positive(rng, 2, 200, 3)
    log_h = linear_recurrence_log(np.log(a), np.log(b), np.log(h0))
    assert np.allclose(log_h, np.log(expected(a, b, h0)), atol=1e-10)
    # b around e^-900 underflows to 0 outside log space; inside it is an ordinary number
    tiny = linear_recurrence_log(np.log(a), np.log(b) - 900.0)
    assert np.allclose(tiny, np.log(expected(a, b, np.zeros((2, 3)))) - 900.0, atol=1e-9)


def test_mingru_forward():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 30, 3))
    Wz, Wn, bz, bn = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), np.zeros(4), np.zeros(4)
    z = 1.0 / (1.0 + np.exp(-(x @ Wz + bz)))
    n = x @ Wn + bn
    assert np.allclose(mingru_forward(x, Wz, bz, Wn, bn), expected(1 - z, z * n, np.zeros(
        (2, 4))), atol=1e-10)
    g = np.where(n >= 0, n + 0.5, 1.0 / (1.0 + np.exp(-np.minimum(n, 0.0))))
    assert np.allclose(mingru_forward(x, Wz, bz, Wn, bn, log_space=True),
                       expected(1 - z, z * g, np.ones((2, 4))), rtol=1e-9)
