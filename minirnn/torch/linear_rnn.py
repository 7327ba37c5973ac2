"""Linear recurrences in a stack: a diagonal linear RNN (the LRU of Orvieto et al. 2023) and
minGRU layers (Feng et al. 2024), each run by chapter 15's parallel scan.

A diagonal linear RNN keeps a complex state h_t of size N and updates every entry on its own:

    h_t = lambda * h_{t-1} + gamma * (x_t B)       lambda, gamma (N,) complex / real, B (D, N)
    out_t = Re(h_t C) + x_t * d                     C (N, D) complex, d (D,)

The recurrence is linear and does not depend on the input (lambda is a parameter), so the
whole sequence is one `linear_recurrence_scan` with a_t = lambda. The parameterisation keeps it
stable: lambda = exp(-exp(nu) + i exp(theta)) has modulus exp(-exp(nu)) < 1 for every real nu,
so no gradient step can push an eigenvalue outside the unit circle; gamma = sqrt(1 - |lambda|^2)
keeps the state's size of order one when |lambda| is close to 1 (long memory).

One layer of either kind is linear in its inputs over time, so the nonlinearity sits between
layers: a block is ``x + W_o gelu(layer(LayerNorm(x)))`` (pre-norm, residual), and the models
stack blocks as the papers do. Arrays are batch-first: the input (N, T, D) (``u`` in the
code, the LRU paper's letter).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from minirnn.torch.mingru import MinGRU, linear_recurrence_scan, linear_recurrence_sequential

KINDS = ("lru", "mingru")


class DiagonalLinearRNN(nn.Module):
    """The LRU layer: u (N, T, D) -> out (N, T, D) through a complex diagonal state of size
    ``state_size``. Eigenvalue moduli start uniform in [r_min, r_max] (close to 1: long memory),
    phases in [0, max_phase]. ``mode`` is "scan" (parallel, default) or "sequential"."""

    def __init__(self, d_model: int, state_size: int, r_min: float = 0.9, r_max: float = 0.999,
                 max_phase: float = 2 * math.pi, mode: str = "scan") -> None:
        super().__init__()
        if not 0 <= r_min < r_max < 1:
            raise ValueError(f"r_min, r_max: expected 0 <= r_min < r_max < 1, got {r_min}, "
                             f"{r_max}")
        if mode not in ("scan", "sequential"):
            raise ValueError(f"mode must be 'scan' or 'sequential', got {mode!r}")
        self.d_model, self.state_size, self.mode = d_model, state_size, mode
        # |lambda|^2 uniform on [r_min^2, r_max^2] (uniform on the ring), then nu = log(-log r)
        u1, u2 = torch.rand(state_size), torch.rand(state_size)
        radius = torch.sqrt(u1 * (r_max**2 - r_min**2) + r_min**2)
        self.nu_log = nn.Parameter(torch.log(-torch.log(radius)))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2 + 1e-4))
        scale_in, scale_out = 1 / math.sqrt(2 * d_model), 1 / math.sqrt(state_size)
        self.B_re = nn.Parameter(torch.randn(d_model, state_size) * scale_in)
        self.B_im = nn.Parameter(torch.randn(d_model, state_size) * scale_in)
        self.C_re = nn.Parameter(torch.randn(state_size, d_model) * scale_out)
        self.C_im = nn.Parameter(torch.randn(state_size, d_model) * scale_out)
        self.D = nn.Parameter(torch.randn(d_model))

    def eigenvalues(self) -> torch.Tensor:
        """lambda (state_size,) complex, every modulus in (0, 1)."""
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if u.dim() != 3 or u.shape[-1] != self.d_model:
            raise ValueError(f"u: expected shape (N, T, {self.d_model}), got {tuple(u.shape)}")
        lam = self.eigenvalues()
        gamma = torch.sqrt(1 - lam.abs() ** 2)
        B = torch.complex(self.B_re, self.B_im)
        b = gamma * (u.to(B.dtype) @ B)                 # (N, T, state) complex
        a = lam.expand_as(b).contiguous()                # the same lambda at every step
        run = linear_recurrence_scan if self.mode == "scan" else linear_recurrence_sequential
        x = run(a, b)
        C = torch.complex(self.C_re, self.C_im)
        return (x @ C).real + u * self.D


class LinearRNNBlock(nn.Module):
    """Pre-norm residual block around one linear-recurrence layer: x (N, T, d) -> (N, T, d),
    x + W_o gelu(layer(LayerNorm(x))). The GELU is the only nonlinearity across time steps'
    mixing: without it two stacked linear recurrences are one linear map of the inputs."""

    def __init__(self, kind: str, d_model: int, state_size: int) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
        self.norm = nn.LayerNorm(d_model)
        self.layer = (DiagonalLinearRNN(d_model, state_size) if kind == "lru"
                      else MinGRU(d_model, d_model))
        self.kind = kind
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layer(self.norm(x))
        if self.kind == "mingru":
            h = h[0]  # MinGRU returns (out, h_n) like a torch.nn layer
        return x + self.out(F.gelu(h))


class LinearRNNRegressor(nn.Module):
    """x (N, T, D_in) -> prediction (N,) or logits (N, classes): an input projection to
    ``d_model``, ``num_layers`` blocks of ``kind`` ("lru" or "mingru"), a LayerNorm and a linear
    readout of the last step. It has the interface of ``minirnn.torch.adding.AddingRegressor``
    (``loss`` is the MSE, ``error`` the held-out MSE) when ``outputs`` is 1."""

    def __init__(self, kind: str = "lru", d_model: int = 32, num_layers: int = 2,
                 state_size: int = 16, input_size: int = 2, outputs: int = 1,
                 seed: int | None = None) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers: expected >= 1, got {num_layers}")
        if seed is not None:
            torch.manual_seed(seed)
        self.kind, self.input_size, self.outputs = kind, input_size, outputs
        self.embed = nn.Linear(input_size, d_model)
        self.blocks = nn.ModuleList(LinearRNNBlock(kind, d_model, state_size)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.readout = nn.Linear(d_model, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, T, input_size) -> (N,) when outputs is 1, else (N, outputs)."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x: expected a floating-point tensor, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}")
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected shape (N, T, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        out = self.readout(self.norm(h[:, -1]))
        return out.squeeze(-1) if self.outputs == 1 else out

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """MSE against y (N,) when outputs is 1; cross-entropy against classes y (N,) else."""
        if y.shape != x.shape[:1]:
            raise ValueError(f"y: expected shape ({x.shape[0]},), got {tuple(y.shape)}")
        if self.outputs == 1:
            return torch.mean((self(x) - y) ** 2)
        return F.cross_entropy(self(x), y)

    @torch.no_grad()
    def error(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """The held-out loss (MSE for a regressor), as a float."""
        return float(self.loss(x, y))
