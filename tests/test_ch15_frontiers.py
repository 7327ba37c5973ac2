"""Unit tests of minirnn.chapters.ch15_frontiers: counts and argument errors."""

from __future__ import annotations

import pytest
import torch

import minirnn.chapters.ch15_frontiers as fr


def test_scan_work_small_cases():
    assert [fr.hillis_steele_work(T) for T in (1, 2, 3, 4, 5)] == [0, 1, 3, 5, 8]
    assert [fr.blelloch_work(T) for T in (1, 2, 3, 4, 5)] == [0, 2, 6, 6, 14]


def test_coefficients_are_in_range():
    a, b, h0 = fr.mingru_like_coefficients(10, dtype=torch.float32)
    assert a.dtype == torch.float32 and a.shape == (4, 10, 16) and h0.shape == (4, 16)
    assert (a > 0).all() and (a < 1).all() and (b > 0).all() and (h0 > 0).all()


def test_carrying_directions_counts_singular_values():
    J = torch.diag(torch.tensor([2.0, 0.5, 0.1, 0.05], dtype=torch.float64))
    assert fr.carrying_directions(J) == 3 and fr.carrying_directions(J, share=1.0) == 1


def test_argument_errors():
    with pytest.raises(ValueError, match="cell must be"):
        fr.one_step_jacobian("tcn")
    with pytest.raises(ValueError, match="init must be"):
        fr.lag_jacobian_norm("xavier", 3)
    with pytest.raises(ValueError, match="init must be"):
        fr.train_init_adding("xavier")
    with pytest.raises(ValueError, match="k: expected >= 1"):
        fr.lag_jacobian_norm("default", 0)
    with pytest.raises(ValueError, match="T: expected >= 1"):
        fr.hillis_steele_work(0)
    with pytest.raises(ValueError, match="T: expected >= 1"):
        fr.blelloch_work(0)
    with pytest.raises(ValueError, match="method must be"):
        fr.relative_error(8, "fft")
    with pytest.raises(ValueError, match="method must be"):
        fr.counted_combinations("fft", 8)
    with pytest.raises(ValueError, match="share: expected > 0"):
        fr.carrying_directions(torch.eye(2), share=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(1, k, D\)"):
        fr.lag_jacobian(torch.nn.RNN(2, 3), torch.zeros(2, 4, 2), torch.zeros(1, 1, 3))
