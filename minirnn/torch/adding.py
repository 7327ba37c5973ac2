"""The adding problem's regressor: one recurrent layer and a linear readout of its last state.

Chapters 11 (clipping), 12 (LSTM) and the appendix (long-range benchmark) train the same model
on ``minirnn.data.adding_problem``: x (N, T, 2) holds (value, marker) pairs, the target y (N,)
is the sum of the two marked values, and predicting the mean of y scores an MSE of about 1/6.

    AddingRegressor(cell)   x (N, T, 2) -> layer -> h_T (N, H) -> readout -> prediction (N,)

The layer is minirnn's RNN/LSTM/GRU (``backend="minirnn"``), torch.nn's (``backend="torch"``,
faster on a CPU for long sweeps), a ``MinGRU``, or a ``MinGRUStack`` (three residual minGRU blocks
with MLPs, as Feng et al. stack them). ``set_forget_bias`` and ``init`` give the
chapters' initialisations.
"""

from __future__ import annotations

import torch
from torch import nn

from minirnn.torch import rnn as minirnn_layers
from minirnn.torch.mingru import MinGRU, MinGRUStack
from minirnn.torch.models import recurrent_layer

CELLS = ("rnn", "lstm", "gru", "mingru", "mingru_stack")
INITS = ("default", "orthogonal")

# The course's one standard for "solved" on the adding problem, in every chapter that says it:
# a held-out MSE below a tenth of predicting the mean (about 1/6, so below about 0.017).
SOLVED_FRACTION = 0.1


def solved(eval_mse: float, baseline_mse: float) -> bool:
    """True when a held-out MSE is below ``SOLVED_FRACTION`` times the predict-the-mean MSE on
    the same held-out set; False for a NaN (diverged) run."""
    if not baseline_mse > 0:
        raise ValueError(f"baseline_mse: expected a positive number, got {baseline_mse!r}")
    return bool(eval_mse < SOLVED_FRACTION * baseline_mse)


def set_forget_bias(lstm: nn.Module, value: float) -> None:
    """Make the forget gate's total bias (bias_ih + bias_hh, rows [H:2H] in torch's gate order
    i, f, g, o) equal to ``value`` in every layer and direction of an LSTM (torch.nn's or
    minirnn's): bias_ih gets ``value``, bias_hh gets 0."""
    if not isinstance(lstm, (nn.LSTM, minirnn_layers.LSTM)):
        raise TypeError(f"lstm: expected a torch.nn.LSTM or minirnn.torch.LSTM, "
                        f"got {type(lstm).__name__}")
    if not lstm.bias:
        raise ValueError("lstm: has no biases (bias=False)")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[H:2 * H] = value
            elif name.startswith("bias_hh"):
                p[H:2 * H] = 0.0


class AddingRegressor(nn.Module):
    """x (N, T, 2) -> prediction (N,): one batch-first recurrent layer of ``cell`` ("rnn" (tanh),
    "lstm", "gru", "mingru" or "mingru_stack") with ``hidden_size`` units, then a linear readout
    of the last state.

    Initialisation: torch.nn's default (drawn after ``torch.manual_seed(seed)`` when ``seed`` is
    given); ``init="orthogonal"`` makes W_hh orthogonal (gain 1, every singular value 1; rnn
    only); ``forget_bias`` sets the LSTM's total forget-gate bias (lstm only).
    """

    def __init__(self, cell: str = "lstm", hidden_size: int = 32, backend: str = "minirnn",
                 init: str = "default", forget_bias: float | None = None,
                 seed: int | None = None) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell: expected one of {CELLS}, got {cell!r}")
        if init not in INITS:
            raise ValueError(f"init: expected one of {INITS}, got {init!r}")
        if init == "orthogonal" and cell != "rnn":
            raise ValueError(f"init='orthogonal' is for cell='rnn', got cell={cell!r}")
        if forget_bias is not None and cell != "lstm":
            raise ValueError(f"forget_bias is for cell='lstm', got cell={cell!r}")
        if seed is not None:
            torch.manual_seed(seed)
        self.cell = cell
        if cell == "mingru":
            self.layer = MinGRU(2, hidden_size)
        elif cell == "mingru_stack":
            self.layer = MinGRUStack(2, hidden_size, num_layers=3)
        else:
            self.layer = recurrent_layer(cell, 2, hidden_size, backend=backend)
        if init == "orthogonal":
            nn.init.orthogonal_(self.layer.weight_hh_l0)
        if forget_bias is not None:
            set_forget_bias(self.layer, forget_bias)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, T, 2) -> prediction (N,)."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x: expected a floating-point tensor, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}")
        if x.ndim != 3 or x.shape[-1] != 2:
            raise ValueError(f"x: expected shape (N, T, 2), got {tuple(x.shape)}")
        out, _ = self.layer(x)
        return self.readout(out[:, -1]).squeeze(-1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the predictions for x (N, T, 2) against y (N,)."""
        if y.shape != x.shape[:1]:
            raise ValueError(f"y: expected shape ({x.shape[0]},), got {tuple(y.shape)}")
        return torch.mean((self(x) - y) ** 2)

    @torch.no_grad()
    def error(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """The held-out mean squared error, as a float."""
        return float(self.loss(x, y))
