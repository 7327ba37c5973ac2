"""Chapter 15's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import math

import pytest
import torch

import minirnn.chapters.ch15_frontiers as fr
import minirnn.torch.mingru as mg


@pytest.mark.parametrize("cell", ["rnn", "lstm", "mingru"])
def test_exact_rows_of_the_jacobian_table(cell):
    J, formula = fr.one_step_jacobian(cell, seed=3)
    assert torch.allclose(J, formula, atol=1e-12)


def test_gru_total_jacobian_is_more_than_its_direct_path():
    J, direct = fr.one_step_jacobian("gru", seed=3)
    assert (J - direct).abs().max() > 0.05


def test_only_mingru_and_the_lstm_cell_path_are_diagonal():
    for cell, diagonal in [("rnn", False), ("gru", False), ("lstm", True), ("mingru", True)]:
        J, _ = fr.one_step_jacobian(cell, seed=1)
        off = (J - torch.diag(torch.diagonal(J))).abs().max()
        assert (off == 0) == diagonal


def test_initialisations_order_the_lag_50_jacobian():
    default = fr.lag_jacobian_norm("default", 50)
    orthogonal = fr.lag_jacobian_norm("orthogonal", 50)
    identity = fr.lag_jacobian_norm("identity_relu", 50)
    assert default < 1e-8
    assert orthogonal > 1e8 * default
    assert abs(identity - 1) < 1e-12


@pytest.mark.parametrize("T", [1, 2, 3, 7, 64, 1000])
def test_scan_equals_loop_in_float64_with_ceil_log2_levels(T):
    a, b, h0 = fr.mingru_like_coefficients(T, H=5, N=2, seed=T)
    h, levels = mg.linear_recurrence_scan(a, b, h0, return_levels=True)
    assert torch.allclose(h, mg.linear_recurrence_sequential(a, b, h0), atol=1e-12)
    assert levels == (math.ceil(math.log2(T)) if T > 1 else 0) == mg.scan_levels(T)


def test_scan_work_is_counted_by_the_combinations_it_does(monkeypatch):
    done = []
    real = mg.combine

    def counting(first, then):
        done.append(first[0].shape[1])  # positions combined at this level
        return real(first, then)

    monkeypatch.setattr(mg, "combine", counting)
    a, b, h0 = fr.mingru_like_coefficients(100, H=1, N=1)
    mg.linear_recurrence_scan(a, b, h0)
    assert len(done) == 7 and sum(done) == fr.scan_work(100)
    assert fr.scan_work(100) > 100 * 5  # more total work than the loop's 99 steps


def test_naive_cumulative_product_overflows():
    assert fr.first_nonfinite_length(torch.float32) <= 256
    assert fr.first_nonfinite_length(torch.float64) == 1024
    a, b, h0 = fr.mingru_like_coefficients(64)
    assert torch.allclose(mg.linear_recurrence_cumprod(a, b, h0),
                          mg.linear_recurrence_sequential(a, b, h0))


def test_float32_logspace_drifts_with_length_and_the_loop_does_not():
    errors = [fr.logspace_relative_error(T) for T in (64, 256, 1024)]
    loop = [fr.sequential_relative_error(T) for T in (64, 256, 1024)]
    assert errors[0] < errors[1] < errors[2]
    assert 1e-6 < errors[2] < 1e-4
    assert all(e > 10 * s for e, s in zip(errors, loop, strict=True))
    assert max(loop) < 1e-7
    assert fr.logspace_relative_error(1024, dtype=torch.float64) < 1e-12
