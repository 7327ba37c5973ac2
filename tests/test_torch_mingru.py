"""Unit tests of minirnn.torch.mingru: the forms agree, the layer trains, bad input is refused."""

from __future__ import annotations

import pytest
import torch

import minirnn.torch.mingru as mg


def _ab(N=2, T=9, H=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(N, T, H, generator=g, dtype=torch.float64)
    b = torch.rand(N, T, H, generator=g, dtype=torch.float64) + 0.1
    h0 = torch.rand(N, H, generator=g, dtype=torch.float64)
    return a, b, h0


def test_combine_is_associative_and_composes_affine_maps():
    g = torch.Generator().manual_seed(1)
    p, q, r = [(torch.rand(4, generator=g), torch.randn(4, generator=g)) for _ in range(3)]
    left, right = mg.combine(mg.combine(p, q), r), mg.combine(p, mg.combine(q, r))
    assert all(torch.allclose(u, v) for u, v in zip(left, right, strict=True))
    h = torch.randn(4, generator=g)
    a, b = mg.combine(p, q)
    assert torch.allclose(a * h + b, q[0] * (p[0] * h + p[1]) + q[1])


def test_all_four_forms_agree_and_zero_h0_is_the_default():
    a, b, h0 = _ab()
    loop = mg.linear_recurrence_sequential(a, b, h0)
    for form in (mg.linear_recurrence_scan, mg.linear_recurrence_blelloch,
                 mg.linear_recurrence_cumprod, mg.linear_recurrence_logspace):
        assert torch.allclose(form(a, b, h0), loop, atol=1e-12)
    assert torch.allclose(mg.linear_recurrence_scan(a, b), mg.linear_recurrence_sequential(
        a, b, torch.zeros(2, 3, dtype=torch.float64)))


@pytest.mark.parametrize("T", [1, 2, 3, 5, 8, 9, 33, 100])
def test_blelloch_scan_equals_the_loop_with_2_log2_P_levels(T):
    a, b, h0 = _ab(T=T, seed=T)
    h, levels = mg.linear_recurrence_blelloch(a, b, h0, return_levels=True)
    assert torch.allclose(h, mg.linear_recurrence_sequential(a, b, h0), atol=1e-12)
    assert levels == mg.blelloch_levels(T) == 2 * mg.scan_levels(T)
    assert torch.equal(a, _ab(T=T, seed=T)[0])  # its inputs are left as they were


def test_loop_matches_the_definition_step_by_step():
    a, b, h0 = _ab(T=3)
    h = mg.linear_recurrence_sequential(a, b, h0)
    assert torch.allclose(h[:, 0], a[:, 0] * h0 + b[:, 0])
    assert torch.allclose(h[:, 2], a[:, 2] * h[:, 1] + b[:, 2])


def test_scan_gradients_match_the_loop():
    a, b, h0 = _ab()
    grads = []
    for form in (mg.linear_recurrence_sequential, mg.linear_recurrence_scan,
                 mg.linear_recurrence_blelloch):
        x = [t.clone().requires_grad_() for t in (a, b, h0)]
        form(*x).pow(2).sum().backward()
        grads.append([t.grad for t in x])
    for other in grads[1:]:
        assert all(torch.allclose(u, v) for u, v in zip(grads[0], other, strict=True))


def test_mingru_layer_modes_agree_and_coefficients_match():
    torch.manual_seed(0)
    layer = mg.MinGRU(4, 6).double()
    x = torch.randn(2, 11, 4, dtype=torch.float64)
    out, h_n = layer(x)
    layer.mode = "sequential"
    out2, _ = layer(x)
    assert out.shape == (2, 11, 6) and h_n.shape == (1, 2, 6)
    assert torch.allclose(out, out2)
    W, bias = layer.gates.weight.T, layer.gates.bias
    a, b = mg.mingru_coefficients(x, W[:, :6], bias[:6], W[:, 6:], bias[6:])
    assert torch.allclose(out, mg.linear_recurrence_sequential(a, b))


def test_mingru_learns_a_running_mean():
    torch.manual_seed(0)
    layer, head = mg.MinGRU(1, 4), torch.nn.Linear(4, 1)
    opt = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=0.03)
    for _ in range(150):
        x = torch.randn(32, 20, 1)
        target = x.mean(1, keepdim=True)  # (32, 1, 1): needs memory of every step
        loss = (head(layer(x)[0][:, -1:]) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * float(target.var())


def test_argument_errors():
    a, b, h0 = _ab()
    with pytest.raises(ValueError, match=r"a, b: expected equal shapes \(N, T, H\)"):
        mg.linear_recurrence_scan(a, b[:, :-1])
    with pytest.raises(TypeError, match="a, b: expected torch tensors"):
        mg.linear_recurrence_sequential(a.numpy(), b)
    with pytest.raises(TypeError, match="one dtype"):
        mg.linear_recurrence_sequential(a, b.float())
    with pytest.raises(ValueError, match=r"h0: expected shape \(2, 3\)"):
        mg.linear_recurrence_cumprod(a, b, h0[:1])
    with pytest.raises(ValueError, match="a > 0, b > 0"):
        mg.linear_recurrence_logspace(a, -b, h0)
    with pytest.raises(ValueError, match="T: expected >= 1"):
        mg.scan_levels(0)
    with pytest.raises(ValueError, match="T: expected >= 1"):
        mg.blelloch_levels(0)
    with pytest.raises(ValueError, match=r"a, b: expected equal shapes \(N, T, H\)"):
        mg.linear_recurrence_blelloch(a, b[:, :-1])
    with pytest.raises(ValueError, match="mode must be"):
        mg.MinGRU(2, 3, mode="parallel")
    with pytest.raises(ValueError, match=r"x: expected shape \(N, T, 2\)"):
        mg.MinGRU(2, 3)(torch.zeros(1, 4, 3))
    with pytest.raises(ValueError, match="x, Wz, Wn"):
        mg.mingru_coefficients(torch.zeros(1, 2, 3), torch.zeros(2, 4), torch.zeros(4),
                               torch.zeros(2, 4), torch.zeros(4))
