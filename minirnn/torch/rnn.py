"""Multi-layer, optionally bidirectional RNN, LSTM and GRU: drop-in for torch.nn's.

Same constructor arguments, defaults, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``,
...), initialisation, equations and return values as ``torch.nn.RNN/LSTM/GRU``, so state dicts
load both ways. Shapes: T steps, N batch, D input features, H hidden units, L layers,
K = 2 if bidirectional else 1.

- input: (T, N, D), or (N, T, D) with ``batch_first=True``, or (T, D) without a batch, or a
  ``PackedSequence`` (then the output is one too);
- hx: (L*K, N, H) for RNN/GRU, a pair of those (h_0, c_0) for the LSTM; zeros when None;
- lengths (keyword, padded input only): (N,) integers in [1, T], in any order; steps past a
  sequence's end neither change its state nor receive gradient, its output there is zero, the
  reverse direction starts at its own last step, and h_n holds its state at its own last step.

Returns (output (T, N, K*H) or (N, T, K*H), h_n (L*K, N, H)); the LSTM returns
(output, (h_n, c_n)).

Two implementations of the time loop, chosen with ``impl``:

- ``"steps"``: the readable loop below, one cell step at a time through autograd;
- ``"fused"`` (default): ``fused.py``, a whole layer per ``autograd.Function`` with a
  hand-written backward. Same numbers, far fewer dispatched operations. Its backward is
  first-order only: for gradients of gradients (``create_graph=True``) use ``"steps"``.
  A single time step (T = 1, as when sampling) always takes the readable step: there is
  nothing to fuse across time, and it has less fixed overhead. A copy of minirnn without
  fused.py (the assignments' copies) takes the readable loop too.

Like torch.nn's, a ``batch_first`` output is a transposed view of time-major memory.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from minirnn.torch.cells import (
    check_dtype,
    check_shape,
    check_tensor,
    gru_step,
    lstm_step,
    rnn_step,
)
from minirnn.torch.errors import ShapeError
from minirnn.torch.packing import (
    batch_sizes_of,
    check_lengths,
    packed_to_padded,
    padded_to_packed,
    reverse_padded,
    step_mask,
)

IMPLS = ("fused", "steps")


def _fused():
    """The fused.py module, or None where it is absent: the assignments ship minirnn.torch
    without it (it computes what assignment A6 asks for), and the readable loop gives the same
    numbers there."""
    try:
        return importlib.import_module("minirnn.torch.fused")
    except ModuleNotFoundError as error:
        if error.name != "minirnn.torch.fused":
            raise
        return None


def run_steps(
    step: Callable,
    x: Tensor,
    state: tuple[Tensor, ...],
    weights: tuple[Tensor | None, ...],
    lengths: Tensor | None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """The readable time loop: one layer, one direction.

    ``step(x_t, state, *weights)`` -> new state, where state is (h,) or (h, c), each (N, H).
    x: (T, N, D) time-major; lengths: (N,) or None. Returns (outputs (T, N, H), final state).
    """
    steps = x.shape[0]
    mask = None if lengths is None else step_mask(lengths, steps, x.device)
    outputs = []
    for t in range(steps):
        new_state = step(x[t], state, *weights)
        if mask is not None:
            # a finished sequence keeps its state; where() also sends it no gradient
            running = mask[t].unsqueeze(1)  # (N, 1)
            new_state = tuple(torch.where(running, new, old) for new, old in zip(new_state, state))
            outputs.append(torch.where(running, new_state[0], 0.0))
        else:
            outputs.append(new_state[0])
        state = new_state
    return torch.stack(outputs), state


def _rnn_tanh(x, state, *w):
    return (rnn_step(x, state[0], *w, nonlinearity="tanh"),)


def _rnn_relu(x, state, *w):
    return (rnn_step(x, state[0], *w, nonlinearity="relu"),)


def _lstm(x, state, *w):
    return lstm_step(x, state, *w)


def _gru(x, state, *w):
    return (gru_step(x, state[0], *w),)


STEPS = {"RNN_TANH": _rnn_tanh, "RNN_RELU": _rnn_relu, "LSTM": _lstm, "GRU": _gru}
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(nn.Module):
    """What RNN, LSTM and GRU share: parameters, input checks, layers and directions."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        impl: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be an int >= 1, got {num_layers!r}")
        if not 0.0 <= float(dropout) <= 1.0 or isinstance(dropout, bool):
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.impl = impl
        num_directions = 2 if bidirectional else 1
        rows = GATES[mode] * hidden_size
        kw = {"device": device, "dtype": dtype}
        self._weight_names: list[list[str]] = []  # [layer * K + direction] -> 2 or 4 names
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * num_directions
            for direction in range(num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
                setattr(self, names[0], nn.Parameter(torch.empty(rows, layer_input, **kw)))
                setattr(self, names[1], nn.Parameter(torch.empty(rows, hidden_size, **kw)))
                if bias:
                    names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
                    setattr(self, names[2], nn.Parameter(torch.empty(rows, **kw)))
                    setattr(self, names[3], nn.Parameter(torch.empty(rows, **kw)))
                self._weight_names.append(names)
        self.reset_parameters()

    @property
    def impl(self) -> str:
        """The time loop that forward uses, "fused" (fast, default) or "steps" (readable)."""
        return self._impl

    @impl.setter
    def impl(self, value: str) -> None:
        if value not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {value!r}")
        self._impl = value

    def reset_parameters(self) -> None:
        """torch.nn's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """No-op, so code written for torch.nn (which calls it for cuDNN) runs unchanged."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Parameters grouped per layer and direction, in torch.nn's order."""
        return [[getattr(self, name) for name in names] for names in self._weight_names]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s + f", impl={self.impl!r}"

    # -----------------------------------------------------------------------------------------
    # forward: turn every kind of input into one time-major, length-sorted batch, run the
    # layers, and turn the results back into the caller's layout.

    def _forward(self, input, states: list[Tensor | None], lengths, enforce_sorted: bool):
        """Shared forward. states: [h_0] or [h_0, c_0], entries None for zeros.

        Returns (output in the caller's layout, list of final states (L*K, N, H) or (L*K, H)).
        """
        x, sorted_lengths, mask, order, unbatched = self._sorted_batch(
            input, lengths, enforce_sorted
        )
        init = self._initial_states(states, x, order, unbatched)
        output, finals = self._run_layers(x, init, sorted_lengths)

        # back to the caller's order and layout
        if isinstance(input, PackedSequence):
            output = padded_to_packed(output, mask, input)
            if input.unsorted_indices is not None:
                finals = [s.index_select(1, input.unsorted_indices) for s in finals]
            return output, finals
        if order is not None:
            back = torch.empty_like(order)
            back[order] = torch.arange(len(order), device=order.device)
            output = output.index_select(1, back)
            finals = [s.index_select(1, back) for s in finals]
        if unbatched:
            return output.squeeze(1), [s.squeeze(1) for s in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def _sorted_batch(self, input, lengths, enforce_sorted: bool):
        """Any accepted input -> (x (T, N, D) time-major with columns sorted by length,
        sorted lengths (N,) or None when nothing is padded, step mask (T, N) or None,
        order (N,) taking sorted columns to the caller's or None, unbatched)."""
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("lengths must be None when input is a PackedSequence")
            self._check_features(input.data, "input.data")
            x, sorted_lengths, mask = packed_to_padded(input)
            if bool((sorted_lengths == x.shape[0]).all()):
                sorted_lengths = None
            return x, sorted_lengths, mask, input.sorted_indices, False

        check_tensor("input", input)
        if input.dim() not in (2, 3):
            raise ShapeError(
                "input must be 3-D (T, N, D) (or (N, T, D) with batch_first) or 2-D (T, D) "
                f"without a batch, D={self.input_size}; got shape {tuple(input.shape)}"
            )
        self._check_features(input, "input")
        unbatched = input.dim() == 2
        if unbatched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        if lengths is None:
            return x, None, None, None, unbatched
        lengths = check_lengths(lengths, x.shape[1], x.shape[0])
        if enforce_sorted and bool((lengths[1:] > lengths[:-1]).any()):
            raise ValueError(
                "lengths must be sorted in decreasing order when enforce_sorted=True, "
                f"got {lengths.tolist()}"
            )
        if bool((lengths == x.shape[0]).all()):  # nothing padded: the plain path
            return x, None, None, None, unbatched
        sorted_lengths, order = torch.sort(lengths, descending=True, stable=True)
        order = order.to(x.device)
        x = x.index_select(1, order)
        mask = step_mask(sorted_lengths, x.shape[0], x.device)
        x = x.masked_fill(~mask.unsqueeze(2), 0.0)  # padding: no gradient, no NaN leaks
        return x, sorted_lengths, mask, order, unbatched

    def _initial_states(self, states, x: Tensor, order, unbatched: bool) -> list[Tensor]:
        """Check the given states and return each as (L*K, N, H) in the sorted order."""
        num_directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * num_directions, x.shape[1], self.hidden_size)
        names = ["hx"] if len(states) == 1 else ["hx[0] (h_0)", "hx[1] (c_0)"]
        init = []
        for name, s in zip(names, states):
            if s is None:
                init.append(x.new_zeros(shape))
                continue
            check_tensor(name, s)
            check_shape(name, s, (shape[0], shape[2]) if unbatched else shape)
            check_dtype(name, s, x.dtype)
            s = s.unsqueeze(1) if unbatched else s
            init.append(s.index_select(1, order) if order is not None else s)
        return init

    def _run_layers(self, x: Tensor, init: list[Tensor], sorted_lengths: Tensor | None):
        """All layers and directions. x: (T, N, D) sorted; returns (output (T, N, K*H),
        final states [(L*K, N, H)])."""
        num_directions = 2 if self.bidirectional else 1
        steps = x.shape[0]
        last_step = None if sorted_lengths is None else (sorted_lengths - 1).to(x.device)
        batch_sizes = None if sorted_lengths is None else batch_sizes_of(sorted_lengths, steps)
        finals = [[] for _ in init]
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                out, final = self._run_direction(
                    x, [s[k] for s in init], k, direction == 1,
                    sorted_lengths, batch_sizes, last_step,
                )
                outs.append(out)
                for store, s in zip(finals, final):
                    store.append(s)
            x = outs[0] if num_directions == 1 else torch.cat(outs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)  # as torch.nn: not after the last
        return x, [torch.stack(store) for store in finals]

    def _check_features(self, x: Tensor, name: str) -> None:
        if x.shape[-1] != self.input_size:
            expected = (*x.shape[:-1], self.input_size)
            raise ShapeError(
                f"{name} must have shape {expected} (input_size={self.input_size}), "
                f"got {tuple(x.shape)}"
            )
        check_dtype(name, x, self.weight_ih_l0.dtype)

    def _run_direction(self, x, init, k, reverse, lengths, batch_sizes, last_step):
        """One layer, one direction. x: (T, N, D_layer) time-major, sorted by length.

        Returns (output (T, N, H), [final states (N, H)]).
        """
        weights = tuple(getattr(self, name) for name in self._weight_names[k])
        if not self.bias:
            weights = (*weights, None, None)
        if reverse:
            x = reverse_padded(x, lengths)
        fused = _fused() if self.impl == "fused" and x.shape[0] > 1 else None
        if fused is None:  # "steps", one step (nothing to fuse) or no fused.py
            out, final = run_steps(STEPS[self.mode], x, tuple(init), weights, lengths)
            final = list(final)
        elif self.mode == "LSTM":
            out, h, c = fused.LSTMFunction.apply(x, *init, *weights, batch_sizes, last_step)
            final = [h, c]
        elif self.mode == "GRU":
            out, h = fused.GRUFunction.apply(x, *init, *weights, batch_sizes, last_step)
            final = [h]
        else:
            relu = self.mode == "RNN_RELU"
            out, h = fused.RNNFunction.apply(x, *init, *weights, batch_sizes, last_step, relu)
            final = [h]
        if reverse:
            out = reverse_padded(out, lengths)
        return out, final


class RNN(RNNBase):
    """Elman RNN, drop-in for ``torch.nn.RNN``.

    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    Arguments as torch.nn's: input_size D, hidden_size H, num_layers L, bias, batch_first,
    dropout (between layers, training only), bidirectional; plus impl: "fused" (default) or
    "steps" (the readable loop), also settable later as ``module.impl``.

    ``forward(input, hx=None, *, lengths=None, enforce_sorted=False)``, shapes in the module
    docstring. enforce_sorted=True asks for lengths already in decreasing order (ValueError
    otherwise), as ``pack_padded_sequence`` does; by default any order is accepted.
    Returns (output, h_n).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        impl: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            impl=impl, device=device, dtype=dtype,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + ", nonlinearity='relu'"

    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | None = None, *,
        lengths: Tensor | None = None, enforce_sorted: bool = False,
    ) -> tuple[Tensor | PackedSequence, Tensor]:
        output, (h_n,) = self._forward(input, [hx], lengths, enforce_sorted)
        return output, h_n


class GRU(RNNBase):
    """GRU, drop-in for ``torch.nn.GRU``: gate order r, z, n.

    The reset gate multiplies (h W_hn^T + b_hn), after the matrix (Cho et al. 2014 put it
    before); h_t = (1 - z) * n + z * h_{t-1}.

    Arguments as torch.nn's: input_size D, hidden_size H, num_layers L, bias, batch_first,
    dropout (between layers, training only), bidirectional; plus impl: "fused" (default) or
    "steps" (the readable loop), also settable later as ``module.impl``.

    ``forward(input, hx=None, *, lengths=None, enforce_sorted=False)``, shapes in the module
    docstring. enforce_sorted=True asks for lengths already in decreasing order (ValueError
    otherwise), as ``pack_padded_sequence`` does; by default any order is accepted.
    Returns (output, h_n).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        impl: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, impl=impl, device=device, dtype=dtype,
        )

    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | None = None, *,
        lengths: Tensor | None = None, enforce_sorted: bool = False,
    ) -> tuple[Tensor | PackedSequence, Tensor]:
        output, (h_n,) = self._forward(input, [hx], lengths, enforce_sorted)
        return output, h_n


class LSTM(RNNBase):
    """LSTM, drop-in for ``torch.nn.LSTM``: gate order i, f, g, o; no projection.

    Arguments as torch.nn's: input_size D, hidden_size H, num_layers L, bias, batch_first,
    dropout (between layers, training only), bidirectional; plus impl: "fused" (default) or
    "steps" (the readable loop), also settable later as ``module.impl``.

    ``forward(input, hx=None, *, lengths=None, enforce_sorted=False)``, shapes in the module
    docstring. enforce_sorted=True asks for lengths already in decreasing order (ValueError
    otherwise), as ``pack_padded_sequence`` does; by default any order is accepted.
    hx is a pair (h_0, c_0) or None. Returns (output, (h_n, c_n)).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        impl: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if proj_size != 0:
            raise NotImplementedError(f"proj_size must be 0 (no projection), got {proj_size}")
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, impl=impl, device=device, dtype=dtype,
        )

    def forward(
        self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None, *,
        lengths: Tensor | None = None, enforce_sorted: bool = False,
    ) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        if hx is None:
            states = [None, None]
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            states = list(hx)
            if states[0] is None or states[1] is None:
                raise TypeError("hx must be None or a pair of tensors (h_0, c_0)")
        else:
            raise TypeError(f"hx must be None or a pair (h_0, c_0), got {type(hx).__name__}")
        output, (h_n, c_n) = self._forward(input, states, lengths, enforce_sorted)
        return output, (h_n, c_n)
