"""Chapter 12: the LSTM's gradient path, measured, and the adding problem.

The LSTM (course notation, gates i, f, g, o) carries a cell state c_t = f_t * c_{t-1} + i_t * g_t.
Its partial Jacobian along the cell path is diag(f_t); the total Jacobian of the state
(h_t, c_t) with respect to (h_{t-1}, c_{t-1}) also has the paths through h and the gates.

- `set_forget_bias`: set bias_ih + bias_hh of the forget slice [H:2H] of a torch LSTM;
- `state_jacobian_norms`: ||d(h_k, c_k)/d(h_0, c_0)||_2 for k = 1..T, each step's Jacobian by
  torch.func.jacrev (autograd) and the chain multiplied out, with the cell path's product of
  forget gates (||prod_j diag(f_j)||_2 = max over units of prod_j f_j) beside it;
- `rnn_jacobian_norms`: the same total for a torch.nn.RNN, for comparison;
- `AddingModel`, `train_adding`: a one-layer RNN or LSTM with a linear readout of the last
  state, trained with Adam on the adding problem; a run counts as solved when its held-out mean
  squared error is below a tenth of the predict-the-mean error.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from minirnn.data import adding_problem, to_torch

CELLS = ("rnn", "lstm")


def set_forget_bias(lstm: nn.LSTM, value: float) -> None:
    """Make the forget gate's total bias (bias_ih + bias_hh, slice [H:2H]) equal to value."""
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"lstm: expected a torch.nn.LSTM, got {type(lstm).__name__}")
    H = lstm.hidden_size
    with torch.no_grad():
        lstm.bias_ih_l0[H:2 * H] = value
        lstm.bias_hh_l0[H:2 * H] = 0.0


def _lstm_weights(lstm: nn.LSTM) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Wx (D, 4H), Wh (H, 4H), b (4H,)) in float64, course layout."""
    return (lstm.weight_ih_l0.detach().double().T, lstm.weight_hh_l0.detach().double().T,
            (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().double())


def _lstm_step(x, state, Wx, Wh, b):
    H = Wh.shape[0]
    h, c = state[:H], state[H:]
    a = x @ Wx + h @ Wh + b
    i, f = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H])
    g, o = torch.tanh(a[2 * H:3 * H]), torch.sigmoid(a[3 * H:])
    c = f * c + i * g
    return torch.cat([o * torch.tanh(c), c]), f


def _check_x(x: torch.Tensor, D: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != D:
        raise ValueError(f"x: expected a tensor of shape (T, {D}), got "
                         f"{tuple(getattr(x, 'shape', ())) or type(x).__name__}")


def state_jacobian_norms(lstm: nn.LSTM, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Run one sequence x (T, D) through a one-layer LSTM from h_0 = c_0 = 0 in float64.

    Returns {"total": (T,) ||d(h_k, c_k)/d(h_0, c_0)||_2, "cell": (T,) ||dc_k/dc_0||_2 (the
    cell block of the total), "forget_product": (T,) max_i prod_{j<=k} f_{j,i} (the norm of the
    cell path's partial Jacobian diag(f_k) ... diag(f_1)), "f": (T, H) the forget gates}.
    """
    Wx, Wh, b = _lstm_weights(lstm)
    _check_x(x, Wx.shape[0])
    H = Wh.shape[0]
    state = torch.zeros(2 * H, dtype=torch.float64)
    product = torch.eye(2 * H, dtype=torch.float64)
    forget_product = torch.ones(H, dtype=torch.float64)
    out = {"total": [], "cell": [], "forget_product": [], "f": []}
    for x_t in x.double():
        step_jac = torch.func.jacrev(lambda s, x_t=x_t: _lstm_step(x_t, s, Wx, Wh, b)[0])(state)
        state, f = _lstm_step(x_t, state, Wx, Wh, b)
        product = step_jac @ product
        forget_product = forget_product * f
        out["total"].append(float(torch.linalg.matrix_norm(product, 2)))
        out["cell"].append(float(torch.linalg.matrix_norm(product[H:, H:], 2)))
        out["forget_product"].append(float(forget_product.max()))
        out["f"].append(f.numpy())
    return {k: np.array(v) for k, v in out.items()}


def rnn_jacobian_norms(rnn: nn.RNN, x: torch.Tensor) -> np.ndarray:
    """||dh_k/dh_0||_2 for k = 1..T of a one-layer tanh torch.nn.RNN on x (T, D), h_0 = 0."""
    Wx, Wh = rnn.weight_ih_l0.detach().double().T, rnn.weight_hh_l0.detach().double().T
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double()
    _check_x(x, Wx.shape[0])
    h = torch.zeros(Wh.shape[0], dtype=torch.float64)
    product = torch.eye(Wh.shape[0], dtype=torch.float64)
    norms = []
    for x_t in x.double():
        h = torch.tanh(x_t @ Wx + h @ Wh + b)
        product = (1 - h ** 2)[:, None] * Wh.T @ product
        norms.append(float(torch.linalg.matrix_norm(product, 2)))
    return np.array(norms)


class AddingModel(nn.Module):
    """x (N, T, 2) -> prediction (N,): a torch.nn.RNN (tanh) or LSTM, batch-first, then a linear
    readout of the last state. torch's default initialisation; the LSTM's forget bias is
    `forget_bias` (total of the two biases)."""

    def __init__(self, cell: str, hidden_size: int = 32, seed: int = 0,
                 forget_bias: float = 1.0) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell: expected one of {CELLS}, got {cell!r}")
        torch.manual_seed(seed)
        layer = nn.RNN if cell == "rnn" else nn.LSTM
        self.layer = layer(2, hidden_size, batch_first=True)
        if cell == "lstm":
            set_forget_bias(self.layer, forget_bias)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[-1] != 2:
            raise ValueError(f"x: expected shape (N, T, 2), got {tuple(x.shape)}")
        out, _ = self.layer(x)
        return self.readout(out[:, -1]).squeeze(-1)


def train_adding(cell: str, T: int, steps: int = 1000, hidden_size: int = 32,
                 batch_size: int = 32, lr: float = 1e-2, seed: int = 0,
                 eval_size: int = 1000, clip_norm: float = 1.0) -> dict:
    """Adam on the adding problem of length T, fresh batches each step, norm clipping.

    Returns {"loss": (steps,) training MSE, "eval_mse": held-out MSE after training,
    "baseline_mse": predict-the-mean MSE on the same held-out set, "solved": eval_mse <
    baseline / 10, "model": the trained AddingModel}.
    """
    model = AddingModel(cell, hidden_size, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x_all, y_all = to_torch(adding_problem(steps * batch_size, T, seed=seed))
    x_eval, y_eval = to_torch(adding_problem(eval_size, T, seed=10_000 + seed))
    losses = np.empty(steps)
    for step in range(steps):
        sl = slice(step * batch_size, (step + 1) * batch_size)
        loss = torch.mean((model(x_all[sl]) - y_all[sl]) ** 2)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        losses[step] = float(loss.detach())
    with torch.no_grad():
        eval_mse = float(torch.mean((model(x_eval) - y_eval) ** 2))
    baseline = float(torch.mean((y_eval - y_eval.mean()) ** 2))
    return {"loss": losses, "eval_mse": eval_mse, "baseline_mse": baseline,
            "solved": eval_mse < baseline / 10, "model": model}
