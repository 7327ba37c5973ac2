"""One time step of the three recurrent cells, written the way the chapters derive them.

Shapes: N batch, D input features, H hidden units. Weights are stored as in ``torch.nn``:
``weight_ih`` is (G*H, D) and ``weight_hh`` is (G*H, H) with G gates stacked along the rows,
in torch's gate order (LSTM: i, f, g, o; GRU: r, z, n), so state dicts load both ways.

The step functions are plain functions so that the sequence modules in ``rnn.py`` can call
them with the weights of any layer and direction; the ``nn.Module`` cells wrap them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from minirnn.torch.errors import ShapeError

# ---------------------------------------------------------------------------------------------
# the step functions: (x, state, weights) -> new state


def rnn_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """Vanilla RNN step: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    x: (N, D), h: (N, H), w_ih: (H, D), w_hh: (H, H), b_ih, b_hh: (H,) or None.
    Returns h': (N, H).
    """
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_step(
    x: Tensor,
    state: tuple[Tensor, Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    return_gates: bool = False,
) -> tuple[Tensor, Tensor] | tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor, Tensor, Tensor]]:
    """LSTM step with torch's gate order i, f, g, o.

    x: (N, D), state: (h, c) each (N, H), w_ih: (4H, D), w_hh: (4H, H), b_ih, b_hh: (4H,).
    Returns (h', c'), each (N, H); with ``return_gates=True``, ((h', c'), (i, f, g, o)) with
    each gate (N, H) after its nonlinearity, for chapters that look inside the cell.
    """
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (N, 4H)
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_next = f * c + i * g  # forget some of the old memory, write some new
    h_next = o * torch.tanh(c_next)  # expose a gated view of the memory
    if return_gates:
        return (h_next, c_next), (i, f, g, o)
    return h_next, c_next


def gru_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    return_gates: bool = False,
) -> Tensor | tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """GRU step with torch's gate order r, z, n.

    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): torch puts the reset gate *after* the
    matrix product (Cho et al. 2014 put it before); h' = (1 - z) * n + z * h.
    x: (N, D), h: (N, H), w_ih: (3H, D), w_hh: (3H, H), b_ih, b_hh: (3H,). Returns h': (N, H);
    with ``return_gates=True``, (h', (r, z, n)) with the gates and the candidate, each (N, H).
    """
    # BEGIN SOLUTION
    xr, xz, xn = F.linear(x, w_ih, b_ih).chunk(3, dim=1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, dim=1)
    r = torch.sigmoid(xr + hr)  # how much of the old state the candidate may see
    z = torch.sigmoid(xz + hz)  # how much of the old state to keep
    n = torch.tanh(xn + r * hn)  # the candidate state
    h_next = (1 - z) * n + z * h
    # END SOLUTION
    if return_gates:
        return h_next, (r, z, n)
    return h_next


# ---------------------------------------------------------------------------------------------
# input checks shared with rnn.py


def check_tensor(name: str, value: object) -> Tensor:
    """Raise TypeError unless ``value`` is a tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_shape(name: str, value: Tensor, expected: tuple[int, ...]) -> None:
    """Raise ShapeError (a ValueError and a RuntimeError) naming ``name`` unless
    ``value.shape == expected``."""
    if tuple(value.shape) != tuple(expected):
        raise ShapeError(
            f"{name} must have shape {tuple(expected)}, got {tuple(value.shape)}"
        )


def check_dtype(name: str, value: Tensor, expected: torch.dtype) -> None:
    """Raise TypeError unless ``value`` has the parameters' floating dtype."""
    if value.dtype != expected:
        raise TypeError(
            f"{name} must have dtype {expected} (the weights' dtype), got {value.dtype}"
        )


# ---------------------------------------------------------------------------------------------
# the cell modules


class _CellBase(nn.Module):
    """Parameters, initialisation and input checks shared by the three cells."""

    num_gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(
                f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        rows = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows, **kw))
            self.bias_hh = nn.Parameter(torch.empty(rows, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"

    def _check_input(self, input: Tensor) -> tuple[Tensor, bool]:
        """Return (input as (N, D), whether it came without a batch dimension)."""
        check_tensor("input", input)
        if input.dim() not in (1, 2):
            raise ShapeError(
                f"input must be 2-D (N, {self.input_size}) or 1-D ({self.input_size},), "
                f"got shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            expected = (*input.shape[:-1], self.input_size)
            raise ShapeError(
                f"input must have shape {expected} (input_size={self.input_size}), "
                f"got {tuple(input.shape)}"
            )
        check_dtype("input", input, self.weight_ih.dtype)
        unbatched = input.dim() == 1
        return (input.unsqueeze(0) if unbatched else input), unbatched

    def _check_state(self, name: str, state: Tensor | None, x: Tensor, unbatched: bool) -> Tensor:
        """Return the state as (N, H): zeros when None, else checked against the input."""
        n = x.shape[0]
        if state is None:
            return x.new_zeros(n, self.hidden_size)
        check_tensor(name, state)
        expected = (self.hidden_size,) if unbatched else (n, self.hidden_size)
        check_shape(name, state, expected)
        check_dtype(name, state, x.dtype)
        return state.unsqueeze(0) if unbatched else state


class RNNCell(_CellBase):
    """Elman RNN cell, drop-in for ``torch.nn.RNNCell``.

    forward(input (N, D) or (D,), hx (N, H) or (H,) or None) -> h' (N, H) or (H,).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._check_input(input)
        h = self._check_state("hx", hx, x, unbatched)
        h = rnn_step(
            x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity
        )
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """LSTM cell, drop-in for ``torch.nn.LSTMCell``.

    forward(input (N, D), hx = (h, c) each (N, H), or None) -> (h', c') each (N, H);
    without the batch dimension: (D,) and (H,).
    """

    num_gates = 4

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x, unbatched = self._check_input(input)
        if hx is None:
            h = c = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h, c = hx
            if h is None or c is None:
                raise TypeError("hx must be None or a pair of tensors (h_0, c_0)")
        else:
            raise TypeError(f"hx must be None or a pair (h_0, c_0), got {type(hx).__name__}")
        h = self._check_state("hx[0] (h_0)", h, x, unbatched)
        c = self._check_state("hx[1] (c_0)", c, x, unbatched)
        h, c = lstm_step(x, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    """GRU cell, drop-in for ``torch.nn.GRUCell``.

    forward(input (N, D) or (D,), hx (N, H) or (H,) or None) -> h' (N, H) or (H,).
    """

    num_gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._check_input(input)
        h = self._check_state("hx", hx, x, unbatched)
        h = gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h.squeeze(0) if unbatched else h
