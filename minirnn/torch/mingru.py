"""minGRU (Feng et al. 2024): a GRU whose gates read only the input, so the recurrence is linear.

    z_t = sigmoid(x_t W_z + b_z)              update gate, paper's convention (our 1 - z)
    n_t = x_t W_n + b_n                        candidate, no tanh and no h_{t-1} inside
    h_t = (1 - z_t) * h_{t-1} + z_t * n_t      = a_t * h_{t-1} + b_t

with a_t = 1 - z_t and b_t = z_t * n_t. Because a_t and b_t do not depend on h, the whole
sequence h_1..h_T is a *linear recurrence* and can be computed in two ways:

- `linear_recurrence_sequential`: the loop, T dependent steps;
- `linear_recurrence_scan`: a parallel (Hillis-Steele) scan with the associative operator
  (a, b) then (a', b') = (a a', a' b + b'), in ceil(log2 T) levels of elementwise work and
  about T log2 T combinations in all;
- `linear_recurrence_blelloch`: Blelloch's work-efficient scan, 2 log2 P levels (P = T rounded
  up to a power of two) and 2 (P - 1) combinations in all, O(T) like the loop;
- `linear_recurrence_cumprod` and `linear_recurrence_logspace`: closed forms through a cumulative
  product, the first of which overflows and the second of which drifts in float32 (measured in
  chapter 15).

Arrays are batch-first torch tensors: a, b of shape (N, T, H), h0 of shape (N, H).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_ab(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """Validate shapes; return h0 (zeros when None)."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise TypeError(f"a, b: expected torch tensors, got {type(a).__name__}, "
                        f"{type(b).__name__}")
    if a.dim() != 3 or a.shape != b.shape:
        raise ValueError(f"a, b: expected equal shapes (N, T, H), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if a.shape[1] < 1:
        raise ValueError(f"a: expected T >= 1 steps, got shape {tuple(a.shape)}")
    if a.dtype != b.dtype:
        raise TypeError(f"a, b: expected one dtype, got {a.dtype} and {b.dtype}")
    n, _, h = a.shape
    if h0 is None:
        return a.new_zeros(n, h)
    if h0.shape != (n, h):
        raise ValueError(f"h0: expected shape ({n}, {h}), got {tuple(h0.shape)}")
    return h0.to(a.dtype)


def combine(first: tuple[torch.Tensor, torch.Tensor], then: tuple[torch.Tensor, torch.Tensor]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Compose two affine maps h -> a h + b: apply ``first`` = (a, b), then ``then`` = (a', b').

    a' (a h + b) + b' = (a a') h + (a' b + b'), so the result is (a a', a' b + b'). The operator
    is associative (composition of functions), which is all a parallel scan needs."""
    a, b = first
    a2, b2 = then
    return a * a2, a2 * b + b2


def linear_recurrence_sequential(a: torch.Tensor, b: torch.Tensor,
                                 h0: torch.Tensor | None = None) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t, one step at a time. a, b (N, T, H), h0 (N, H) -> h (N, T, H)."""
    h = _check_ab(a, b, h0)
    states = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return torch.stack(states, dim=1)


def scan_levels(T: int) -> int:
    """Number of combine levels the Hillis-Steele scan needs for T steps: ceil(log2 T)."""
    if T < 1:
        raise ValueError(f"T: expected >= 1, got {T}")
    return math.ceil(math.log2(T)) if T > 1 else 0


def linear_recurrence_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
                           return_levels: bool = False):
    """The same h as `linear_recurrence_sequential`, by an inclusive parallel scan.

    At level k (offset d = 2^k) every position t >= d combines its running pair with the pair at
    t - d, so after level k position t holds the composition of steps max(0, t - 2d + 1)..t.
    After ceil(log2 T) levels it holds steps 0..t: the map h0 -> h_t. Each level is elementwise
    work on (N, T, H) arrays with no dependence between positions.

    Returns h (N, T, H), and the number of levels run when ``return_levels`` is True.
    """
    h0 = _check_ab(a, b, h0)
    T = a.shape[1]
    levels, d = 0, 1
    while d < T:
        earlier = (a[:, :-d], b[:, :-d])
        later = (a[:, d:], b[:, d:])
        a_new, b_new = combine(earlier, later)
        # positions < d already hold their full prefix and stay as they are
        a = torch.cat([a[:, :d], a_new], dim=1)
        b = torch.cat([b[:, :d], b_new], dim=1)
        d *= 2
        levels += 1
    h = a * h0[:, None] + b  # apply each prefix map to h0
    return (h, levels) if return_levels else h


def blelloch_levels(T: int) -> int:
    """Combine levels of `linear_recurrence_blelloch` for T steps: 2 log2 P, P = T rounded up to
    a power of two (an up-sweep and a down-sweep, each log2 P levels)."""
    if T < 1:
        raise ValueError(f"T: expected >= 1, got {T}")
    return 2 * (math.ceil(math.log2(T)) if T > 1 else 0)


def linear_recurrence_blelloch(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
                               return_levels: bool = False):
    """The same h as `linear_recurrence_sequential`, by Blelloch's work-efficient scan.

    The sequence is padded to P = 2^ceil(log2 T) steps with the identity map (1, 0). The
    up-sweep combines neighbouring blocks of 1, 2, 4, ... steps (P/2 + P/4 + ... + 1 = P - 1
    combinations), so the last position of each block holds the block's map; the down-sweep
    walks back down the same tree (P - 1 combinations again) and leaves at position t the map
    of steps 0..t-1 (an *exclusive* scan). A last elementwise step applies step t itself.
    Work 2 (P - 1) combinations, against about T log2 T for `linear_recurrence_scan`.

    Returns h (N, T, H), and the number of combine levels run when ``return_levels`` is True.
    """
    h0 = _check_ab(a, b, h0)
    N, T, H = a.shape
    P = 2 ** (math.ceil(math.log2(T)) if T > 1 else 0)
    A = torch.cat([a, a.new_ones(N, P - T, H)], dim=1)  # clones, so a and b stay untouched
    B = torch.cat([b, b.new_zeros(N, P - T, H)], dim=1)
    levels, d = 0, 1
    while d < P:  # up-sweep: block [right - 2d + 1, right] from its halves
        right = torch.arange(2 * d - 1, P, 2 * d)
        A[:, right], B[:, right] = combine((A[:, right - d], B[:, right - d]),
                                           (A[:, right], B[:, right]))
        d, levels = d * 2, levels + 1
    A[:, P - 1], B[:, P - 1] = 1.0, 0.0  # the root: nothing comes before the whole sequence
    d //= 2
    while d >= 1:  # down-sweep: left gets what precedes the block, right adds the left half
        right = torch.arange(2 * d - 1, P, 2 * d)
        left_a, left_b = A[:, right - d].clone(), B[:, right - d].clone()
        A[:, right - d], B[:, right - d] = A[:, right], B[:, right]
        A[:, right], B[:, right] = combine((A[:, right], B[:, right]), (left_a, left_b))
        d, levels = d // 2, levels + 1
    before = A[:, :T] * h0[:, None] + B[:, :T]  # h_{t-1} from the map of steps 0..t-1
    h = a * before + b
    return (h, levels) if return_levels else h


def linear_recurrence_cumprod(a: torch.Tensor, b: torch.Tensor,
                              h0: torch.Tensor | None = None) -> torch.Tensor:
    """The closed form h_t = A_t (h0 + sum_{s<=t} b_s / A_s) with A_t = a_1 ... a_t.

    Exact in real numbers, naive in floating point: A_t shrinks geometrically, 1 / A_s overflows
    to inf and inf * 0 gives NaN. Shown in chapter 15 as what not to do."""
    h0 = _check_ab(a, b, h0)
    A = torch.cumprod(a, dim=1)
    return A * (h0[:, None] + torch.cumsum(b / A, dim=1))


def linear_recurrence_logspace(a: torch.Tensor, b: torch.Tensor,
                               h0: torch.Tensor | None = None) -> torch.Tensor:
    """The closed form in log space (Feng et al.'s parallel mode), for a in (0, 1], b > 0, h0 >= 0:

        log h_t = log A_t + logsumexp_{s <= t} (log b_s - log A_s),   log A_t = sum_{s<=t} log a_s,

    with h0 entering as a term at s = 0. No overflow, but the two large cumulative sums cancel,
    which costs precision in float32 (chapter 15 measures it)."""
    h0 = _check_ab(a, b, h0)
    if (a <= 0).any() or (b <= 0).any() or (h0 < 0).any():
        raise ValueError("a, b, h0: the log-space form needs a > 0, b > 0 and h0 >= 0")
    log_A = torch.cumsum(torch.log(a), dim=1)
    terms = torch.log(b) - log_A
    start = torch.log(h0)[:, None]  # log 0 = -inf contributes nothing
    both = torch.cat([start, terms], dim=1)
    return torch.exp(log_A + torch.logcumsumexp(both, dim=1)[:, 1:])


def mingru_coefficients(x: torch.Tensor, Wz: torch.Tensor, bz: torch.Tensor, Wn: torch.Tensor,
                        bn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x (N, T, D), Wz and Wn (D, H), bz and bn (H,) -> a = 1 - z and b = z * n, each (N, T, H)."""
    if x.dim() != 3 or x.shape[-1] != Wz.shape[0] or Wz.shape != Wn.shape:
        raise ValueError(f"x, Wz, Wn: expected x (N, T, D) and Wz, Wn (D, H), got "
                         f"{tuple(x.shape)}, {tuple(Wz.shape)}, {tuple(Wn.shape)}")
    z = torch.sigmoid(x @ Wz + bz)
    n = x @ Wn + bn
    return 1 - z, z * n


class MinGRU(nn.Module):
    """A batch-first minGRU layer: x (N, T, D) -> (out (N, T, H), h_n (1, N, H)), like a torch.nn
    recurrent layer with ``batch_first=True``. ``mode`` is "scan" (parallel, default) or
    "sequential"; both compute the same function."""

    def __init__(self, input_size: int, hidden_size: int, mode: str = "scan") -> None:
        super().__init__()
        if mode not in ("scan", "sequential"):
            raise ValueError(f"mode must be 'scan' or 'sequential', got {mode!r}")
        self.input_size, self.hidden_size, self.mode = input_size, hidden_size, mode
        self.gates = nn.Linear(input_size, 2 * hidden_size)  # columns: z, then n

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected shape (N, T, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        if h0 is not None:
            h0 = h0[0]  # (1, N, H) as torch.nn layers take it
        z_pre, n = self.gates(x).chunk(2, dim=-1)
        z = torch.sigmoid(z_pre)
        a, b = 1 - z, z * n
        run = linear_recurrence_scan if self.mode == "scan" else linear_recurrence_sequential
        out = run(a, b, h0)
        return out, out[:, -1][None]


class MinGRUStack(nn.Module):
    """minGRU layers stacked as Feng et al. (2024) stack them: an input projection to H, then
    ``num_layers`` residual blocks, each a minGRU and a position-wise MLP (H -> 2H -> H, GELU),
    each behind a LayerNorm and added back to its input:

        u = x W_in + b_in;   for each block: u = u + minGRU(LN(u)),  u = u + MLP(LN(u))

    x (N, T, D) -> (out (N, T, H), h_n (1, N, H)) like a batch-first torch.nn layer; ``h_n`` is
    the last position of ``out``. The MLPs between the linear recurrences are what make the stack
    nonlinear in the past: one minGRU layer alone is linear in h.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 3) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers: expected at least 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.project = nn.Linear(input_size, hidden_size)
        self.recurrences = nn.ModuleList(MinGRU(hidden_size, hidden_size)
                                         for _ in range(num_layers))
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(hidden_size, 2 * hidden_size),
                                                nn.GELU(),
                                                nn.Linear(2 * hidden_size, hidden_size))
                                  for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_size) for _ in range(2 * num_layers))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected shape (N, T, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        u = self.project(x)
        for k, (recurrence, mlp) in enumerate(zip(self.recurrences, self.mlps, strict=True)):
            u = u + recurrence(self.norms[2 * k](u))[0]
            u = u + mlp(self.norms[2 * k + 1](u))
        return u, u[:, -1][None]
