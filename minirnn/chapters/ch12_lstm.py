"""Chapter 12: Long short-term memory. Its gradient path measured, the adding problem, and
interpretable cells.

The LSTM (gates i, f, g, o) carries a cell state c_t = f_t * c_{t-1} + i_t * g_t. Its partial
Jacobian along the cell path is diag(f_t); the total Jacobian of the state (h_t, c_t) with
respect to (h_{t-1}, c_{t-1}) also has the paths through h and the gates.

Gradient path and adding problem:

- `state_jacobian_norms`: ||d(h_k, c_k)/d(h_0, c_0)||_2 for k = 1..T, each step's Jacobian by
  torch.func.jacrev (autograd) through the library's `lstm_step` and the chain multiplied out,
  with the cell path's product of forget gates (||prod_j diag(f_j)||_2 = max over units of
  prod_j f_j) beside it;
- `rnn_jacobian_norms`: the same total for a tanh RNN, for comparison;
- `train_adding`: the library's `AddingRegressor` (one RNN or LSTM layer, a linear readout of
  the last state) trained with Adam on the adding problem; a run counts as solved when its
  held-out mean squared error is below a tenth of the predict-the-mean error.

Interpretable cells. A cell "tracks" a feature of the text when its cell state c_t correlates
with an indicator of that feature. With many cells some correlate by chance, so a cell is chosen
on one half of the held-out text and its correlation is reported on the other half, and the same
selection is made on an untrained network as the baseline.

- `inside_parentheses`, `inside_backticks`: per-character indicators of readable structure;
- `train_char_lstm`: a character LSTM (the library's `CharLM`) trained with Adam on random
  chunks;
- `cell_states`: the cell state c_t at every character, (T, H);
- `select_and_test`: pick the cell with the largest |correlation| on the selection half, report
  its correlation (sign chosen on the selection half) on the test half.

The step backward: `step_backward_errors` compares a hand-derived LSTM step backward with the
package's `minirnn.numpy.lstm_step_backward` and with central differences.

Initialisation: `torch_default_forget_bias` draws fresh `torch.nn.LSTM` layers and returns the
total forget-gate bias (bias_ih + bias_hh) they start with.

Claims: `check_claims` asserts the direction (and the printed rounding) of every claim the
chapter makes about its measurements.

Both kinds of layer are accepted where a layer is read: torch.nn's and minirnn.torch's (they
share parameter names).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from minirnn.data import adding_problem, to_torch
from minirnn.numpy import check_gradients, lstm_step_backward, lstm_step_forward, rel_error
from minirnn.torch.adding import AddingRegressor, solved
from minirnn.torch.cells import lstm_step, rnn_step
from minirnn.torch.models import CharLM
from minirnn.torch.train import FreshBatches, Trainer, random_windows

CELLS = ("rnn", "lstm")


# ------------------------------------------------------------------------ the gradient path


def _layer_weights(layer: nn.Module, mode: str) -> list[torch.Tensor]:
    """[weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0] in float64, torch's layout (the
    library's step functions take exactly these)."""
    if (getattr(layer, "mode", None) != mode or not getattr(layer, "bias", False)
            or layer.num_layers != 1 or layer.bidirectional):
        kind = "LSTM" if mode == "LSTM" else "RNN (tanh)"
        raise TypeError(f"layer: expected a one-layer torch.nn or minirnn.torch {kind} with "
                        f"biases, got {type(layer).__name__}")
    return [p.detach().double() for p in layer.all_weights[0]]  # layer 0, forward direction


def _check_x(x: torch.Tensor, D: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != D:
        raise ValueError(f"x: expected a tensor of shape (T, {D}), got "
                         f"{tuple(getattr(x, 'shape', ())) or type(x).__name__}")


def state_jacobian_norms(lstm: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Run one sequence x (T, D) through a one-layer LSTM from h_0 = c_0 = 0 in float64.

    Returns {"total": (T,) ||d(h_k, c_k)/d(h_0, c_0)||_2, "cell": (T,) ||dc_k/dc_0||_2 (the
    cell block of the total), "forget_product": (T,) max_i prod_{j<=k} f_{j,i} (the norm of the
    cell path's partial Jacobian diag(f_k) ... diag(f_1)), "f": (T, H) the forget gates}.
    """
    w = _layer_weights(lstm, "LSTM")
    _check_x(x, w[0].shape[1])
    H = w[1].shape[1]

    def step(state: torch.Tensor, x_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """state (2H,) = [h, c] -> next state (2H,) and the forget gate (H,)."""
        (h, c), (_, f, _, _) = lstm_step(x_t[None], (state[None, :H], state[None, H:]), *w,
                                         return_gates=True)
        return torch.cat([h[0], c[0]]), f[0]

    state = torch.zeros(2 * H, dtype=torch.float64)
    product = torch.eye(2 * H, dtype=torch.float64)
    forget_product = torch.ones(H, dtype=torch.float64)
    out = {"total": [], "cell": [], "forget_product": [], "f": []}
    for x_t in x.double():
        step_jac = torch.func.jacrev(lambda s, x_t=x_t: step(s, x_t)[0])(state)
        state, f = step(state, x_t)
        product = step_jac @ product
        forget_product = forget_product * f
        out["total"].append(float(torch.linalg.matrix_norm(product, 2)))
        out["cell"].append(float(torch.linalg.matrix_norm(product[H:, H:], 2)))
        out["forget_product"].append(float(forget_product.max()))
        out["f"].append(f.numpy())
    return {k: np.array(v) for k, v in out.items()}


def rnn_jacobian_norms(rnn: nn.Module, x: torch.Tensor) -> np.ndarray:
    """||dh_k/dh_0||_2 for k = 1..T of a one-layer tanh RNN (torch.nn's or minirnn.torch's) on
    x (T, D), h_0 = 0. Each step's Jacobian is written out: dh_t/dh_{t-1} = diag(1 - h_t^2)
    W_hh (torch stores W_hh as (H, H) with h W_hh^T in the forward)."""
    w = _layer_weights(rnn, "RNN_TANH")
    _check_x(x, w[0].shape[1])
    h = torch.zeros(1, w[1].shape[0], dtype=torch.float64)
    product = torch.eye(w[1].shape[0], dtype=torch.float64)
    norms = []
    for x_t in x.double():
        h = rnn_step(x_t[None], h, *w)
        product = (1 - h[0] ** 2)[:, None] * w[1] @ product
        norms.append(float(torch.linalg.matrix_norm(product, 2)))
    return np.array(norms)


# ------------------------------------------------------------------------ the adding problem


def train_adding(cell: str, T: int, steps: int = 1000, hidden_size: int = 32,
                 batch_size: int = 32, lr: float = 1e-2, seed: int = 0,
                 eval_size: int = 1000, clip_norm: float = 1.0, init: str = "default",
                 forget_bias: float = 1.0) -> dict:
    """Adam on the adding problem of length T, fresh batches each step, norm clipping. The model
    is an `AddingRegressor` of ``cell`` ("rnn" or "lstm"; the LSTM's forget bias starts at
    ``forget_bias``; ``init="orthogonal"`` gives the RNN an orthogonal W_hh).

    Returns {"loss": (steps,) training MSE, "eval_mse": held-out MSE after training,
    "baseline_mse": predict-the-mean MSE on the same held-out set, "solved": the course's
    standard `minirnn.torch.adding.solved` (eval_mse < baseline / 10), "model": the trained
    AddingRegressor}.
    """
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {CELLS}, got {cell!r}")
    model = AddingRegressor(cell, hidden_size, init=init,
                            forget_bias=forget_bias if cell == "lstm" else None, seed=seed)
    x_all, y_all = to_torch(adding_problem(steps * batch_size, T, seed=seed))
    x_eval, y_eval = to_torch(adding_problem(eval_size, T, seed=10_000 + seed))

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = slice(step * batch_size, (step + 1) * batch_size)
        return x_all[rows], y_all[rows]

    trainer = Trainer(model, FreshBatches(batch), optimizer="adam", lr=lr, clip_norm=clip_norm,
                      progress=False)
    losses = np.array(trainer.fit(steps)["loss"])
    model.eval()
    eval_mse = model.error(x_eval, y_eval)
    baseline = float(torch.mean((y_eval - y_eval.mean()) ** 2))
    return {"loss": losses, "eval_mse": eval_mse, "baseline_mse": baseline,
            "solved": solved(eval_mse, baseline), "model": model}


# ------------------------------------------------------------------------ interpretable cells


def inside_parentheses(text: str) -> np.ndarray:
    """(len(text),) bool: True at characters read while at least one '(' is open.

    The opening '(' itself counts as inside, the closing ')' as outside; depth never goes below 0.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    out, depth = np.zeros(len(text), dtype=bool), 0
    for n, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        out[n] = depth > 0
    return out


def inside_backticks(text: str) -> np.ndarray:
    """(len(text),) bool: True between an opening backtick (included) and its closing one."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    out, inside = np.zeros(len(text), dtype=bool), False
    for n, ch in enumerate(text):
        if ch == "`":
            inside = not inside
            out[n] = True
        else:
            out[n] = inside
    return out


def char_lstm(vocab_size: int, hidden_size: int = 128, seed: int = 0) -> CharLM:
    """The chapter's character LSTM, untrained: a `CharLM` (embeddings of 32, one LSTM layer of
    ``hidden_size`` cells, a linear head) drawn after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return CharLM(vocab_size, embed_size=32, hidden_size=hidden_size, cell="lstm")


def train_char_lstm(ids: torch.Tensor, vocab_size: int, steps: int, hidden_size: int = 128,
                    chunk: int = 128, batch_size: int = 32, lr: float = 3e-3,
                    seed: int = 0) -> tuple[CharLM, list[float]]:
    """Train `char_lstm` with Adam (global-norm clipping at 1) on random chunks of ids (a 1-D
    long tensor), each chunk's targets the next characters. Returns (model, losses per step)."""
    if ids.ndim != 1 or len(ids) <= chunk + 1:
        raise ValueError(f"ids: expected a 1-D tensor longer than chunk + 1 = {chunk + 1}, got "
                         f"shape {tuple(ids.shape)}")
    model = char_lstm(vocab_size, hidden_size, seed)
    g = torch.Generator().manual_seed(seed)
    data = FreshBatches(lambda step: random_windows(ids, batch_size, chunk, g))
    trainer = Trainer(model, data, optimizer="adam", lr=lr, clip_norm=1.0, progress=False)
    return model, trainer.fit(steps)["loss"]


@torch.no_grad()
def cell_states(model: CharLM, ids: torch.Tensor) -> np.ndarray:
    """Run the model's (one-layer) LSTM over ids (T,) from a zero state; return every cell
    state c_t, (T, H). The layer returns only h_t per step, so the steps are taken here with the
    library's `lstm_step` to read c_t."""
    if ids.ndim != 1:
        raise ValueError(f"ids: expected shape (T,), got {tuple(ids.shape)}")
    layer = model.rnn
    if getattr(layer, "mode", None) != "LSTM" or layer.num_layers != 1:
        raise TypeError(f"model: expected a CharLM with one LSTM layer, got {layer!r}")
    w = layer.all_weights[0]  # weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
    x = model.embed(ids)  # (T, E)
    h = c = x.new_zeros(1, layer.hidden_size)
    out = torch.empty(len(ids), layer.hidden_size)
    for t in range(len(ids)):
        h, c = lstm_step(x[t : t + 1], (h, c), *w)
        out[t] = c[0]
    return out.numpy()


def _correlations(acts: np.ndarray, label: np.ndarray) -> np.ndarray:
    a = acts - acts.mean(axis=0)
    y = label.astype(float) - label.mean()
    denom = np.sqrt((a ** 2).sum(axis=0) * (y ** 2).sum()) + 1e-12
    return (a * y[:, None]).sum(axis=0) / denom


def select_and_test(acts: np.ndarray, label: np.ndarray) -> dict[str, float]:
    """Choose a cell on the first half, test it on the second.

    acts: (T, H) cell states; label: (T,) bool indicator. Returns {"unit": the cell with the
    largest |Pearson correlation| on acts[:T//2], "select_corr": that correlation made positive,
    "test_corr": the same cell's correlation on acts[T//2:], with the sign from the selection}.
    """
    if acts.ndim != 2 or label.shape != acts.shape[:1]:
        raise ValueError(f"acts and label: expected shapes (T, H) and (T,), got {acts.shape} and "
                         f"{label.shape}")
    half = len(label) // 2
    select = _correlations(acts[:half], label[:half])
    unit = int(np.argmax(np.abs(select)))
    sign = np.sign(select[unit])
    test = _correlations(acts[half:, [unit]], label[half:])[0]
    return {"unit": unit, "select_corr": float(abs(select[unit])), "test_corr": float(sign * test)}


# ------------------------------------------------------------------------ the step backward


def step_backward_errors(backward, N: int = 3, D: int = 4, H: int = 5, seed: int = 0
                         ) -> dict[str, float]:
    """Check a step backward ``backward(dnext_h, dnext_c, cache) -> (dx, dprev_h, dprev_c, dWx,
    dWh, db)`` on one float64 case (cache from `lstm_step_forward`).

    Returns {"vs_package": the largest relative error against `lstm_step_backward` over the six
    gradients, "numeric": the largest relative error against central differences (over x,
    prev_h, prev_c, Wx, Wh, b)}.
    """
    rng = np.random.default_rng(seed)
    inputs = {"x": rng.normal(size=(N, D)), "prev_h": rng.normal(size=(N, H)),
              "prev_c": rng.normal(size=(N, H)), "Wx": 0.5 * rng.normal(size=(D, 4 * H)),
              "Wh": 0.5 * rng.normal(size=(H, 4 * H)), "b": rng.normal(size=4 * H)}
    *_, cache = lstm_step_forward(**inputs)
    dnext_h, dnext_c = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    ours = backward(dnext_h, dnext_c, cache)
    theirs = lstm_step_backward(dnext_h, dnext_c, cache)
    numeric = check_gradients(lstm_step_forward, backward, inputs, seed=seed)
    return {"vs_package": max(rel_error(a, b) for a, b in zip(ours, theirs, strict=True)),
            "numeric": max(numeric.values())}


# ------------------------------------------------------------------------ initialisation


def torch_default_forget_bias(hidden_size: int = 32, layers: int = 100, seed: int = 0
                              ) -> np.ndarray:
    """(layers, hidden_size): the total forget-gate bias bias_ih + bias_hh (rows [H:2H]) of
    ``layers`` fresh ``torch.nn.LSTM(8, hidden_size)``s drawn after ``torch.manual_seed(seed)``.
    Each of the two biases is uniform on (-1/sqrt(H), 1/sqrt(H)), so the sum has mean 0 and
    standard deviation sqrt(2 / (3 H))."""
    torch.manual_seed(seed)
    H = hidden_size
    out = []
    for _ in range(layers):
        lstm = nn.LSTM(8, H)
        out.append((lstm.bias_ih_l0 + lstm.bias_hh_l0)[H:2 * H].detach().numpy())
    return np.array(out)


# ------------------------------------------------------------------------ claims


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements ``m`` (keys as the notebook names them);
    raises AssertionError naming the claim that fails.

    Keys: "total" and "path", {forget bias (0, 1, 3): (K,) total Jacobian norm and cell-path
    norm at lags 1..K (K >= 40)}, "cell" the same for the cell block, "vanilla" (K,);
    "default_bias" (layers, H) from `torch_default_forget_bias`; "trained" and "fresh" (the
    `state_jacobian_norms` of the trained and a fresh LSTM on one adding sequence);
    "adding" the runs of ``lstm_adding/results.json``; "backward" from `step_backward_errors`.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 12 claim fails: {text}")

    total, path, cell = m["total"], m["path"], m["cell"]
    t40 = {b: float(total[b][39]) for b in (0.0, 1.0, 3.0)}
    claim(m["backward"]["vs_package"] < 1e-10,
          "the derived step backward equals the package's")
    claim(m["backward"]["numeric"] < 1e-7, "the derived step backward passes the gradient check")
    claim(float(m["vanilla"][39]) < t40[0.0] < t40[1.0] < t40[3.0],
          "the forget bias orders how far gradients reach, all above the vanilla RNN")
    orders = [round(float(np.log10(v))) for v in (m["vanilla"][39], t40[0.0], t40[1.0])]
    claim(orders == [-10, -8, -3],
          "about 1e-10 (vanilla), 1e-8 (bias 0) and 1e-3 (bias 1) at k = 40")
    claim(round(t40[3.0], 1) == 5.4 and t40[3.0] > float(total[3.0][0]),
          "at forget bias 3 the total rises to 5.4 at k = 40")
    claim(round(float(path[3.0][39]), 2) == 0.23, "while the cell path falls to 0.23")
    claim(all(float(total[b][39]) < 1e-2 * float(total[b][0]) for b in (0.0, 1.0)),
          "at forget biases 0 and 1 the total falls by orders of magnitude")
    claim(all(np.all(cell[b][9:] > path[b][9:]) for b in (0.0, 1.0, 3.0)),
          "the cell block exceeds the cell path at every lag from 10")
    bias = m["default_bias"]
    H = bias.shape[1]
    claim(abs(float(bias.mean())) < 0.01, "torch's default forget bias is about 0 on average")
    claim(abs(float(bias.std()) / np.sqrt(2 / (3 * H)) - 1) < 0.05,
          "with the spread of a sum of two uniforms, sqrt(2/(3H))")
    trained, fresh = m["trained"], m["fresh"]
    claim(trained["total"][39] > 100 * fresh["total"][39],
          "training grew the 40-step Jacobian by orders of magnitude")
    claim(trained["forget_product"][39] > 0.3 > 1e-3 > fresh["forget_product"][39],
          "a trained cell keeps its forget-gate product near 1 over 40 steps")
    claim(np.sum(trained["f"].min(axis=0) > 0.9) >= 1 > np.sum(fresh["f"].min(axis=0) > 0.9),
          "at least one trained cell has f > 0.9 at every step")
    claim(float(trained["f"].mean()) < float(fresh["f"].mean()),
          "on average the trained forget gates went down")
    runs = m["adding"]

    def solved_count(name: str, T: int) -> tuple[int, int]:
        rows = [r for r in runs if r.get("name", r["cell"]) == name and r["T"] == T]
        return sum(r["solved"] for r in rows), len(rows)

    for name, T, want in (("rnn", 10, "all"), ("lstm", 10, "all"), ("lstm", 50, "all"),
                          ("rnn", 50, "none"), ("rnn64", 50, "none"), ("rnn_orth", 50, "none"),
                          ("lstm", 100, "none")):
        k, n = solved_count(name, T)
        claim(n >= 3 and k == (n if want == "all" else 0),
              f"{name} at T = {T} solves {want} of its {n} seeds")
    for name, T in (("rnn", 50), ("rnn64", 50), ("rnn_orth", 50), ("lstm", 100)):
        claim(all(r["eval_mse"] > 0.9 * r["baseline_mse"] for r in runs
                  if r.get("name", r["cell"]) == name and r["T"] == T),
              f"{name} at T = {T} stays at the predict-the-mean error")
