"""Unit tests of minirnn.chapters.ch15_frontiers: counts and argument errors."""

from __future__ import annotations

import pytest
import torch

import minirnn.chapters.ch15_frontiers as fr


def test_scan_work_small_cases():
    assert [fr.scan_work(T) for T in (1, 2, 3, 4, 5)] == [0, 1, 3, 5, 8]


def test_coefficients_are_in_range():
    a, b, h0 = fr.mingru_like_coefficients(10, dtype=torch.float32)
    assert a.dtype == torch.float32 and a.shape == (4, 10, 16) and h0.shape == (4, 16)
    assert (a > 0).all() and (a < 1).all() and (b > 0).all() and (h0 > 0).all()


def test_argument_errors():
    with pytest.raises(ValueError, match="cell must be"):
        fr.one_step_jacobian("tcn")
    with pytest.raises(ValueError, match="init must be"):
        fr.lag_jacobian_norm("xavier", 3)
    with pytest.raises(ValueError, match="k: expected >= 1"):
        fr.lag_jacobian_norm("default", 0)
    with pytest.raises(ValueError, match="T: expected >= 1"):
        fr.scan_work(0)
