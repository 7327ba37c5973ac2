"""Chapter 11: Gradient clipping, measured on the adding problem with plain SGD.

- `clip`: the three rules side by side on a list of gradient tensors (global norm as
  Pascanu et al. 2013 and torch.nn.utils.clip_grad_norm_, norm per tensor, and value), returning
  clipped copies so that the raw gradient stays available;
- `cosine`: the cosine between two gradients flattened over all tensors;
- `max_step_length`: the longest step (before the learning rate) a rule at a threshold allows,
  to compare the rules at equal step lengths;
- `adam_spike_bound`, `adam_step_bound`: how far an Adam step can move one coordinate (in units
  of the learning rate) when a gradient spike dominates its running averages, and at most;
- `adding_problem_window`: the adding problem with both markers in a chosen window of
  positions, to set the lag the task needs;
- `train_adding`: the library's `AddingRegressor` (a tanh RNN whose W_hh starts orthogonal, a
  linear readout of its last state) trained with plain SGD and one clipping rule, recording the
  loss, the raw and the clipped gradient norm, the cosine of every rule's clipped gradient with
  the raw one, and what an Adam fed the same gradients would step, at every step;
- `lag_shares`: the part of dL/dW_h that comes from each lag, for the trained model;
- `check_claims`: the chapter's claims, asserted on its measurements;
- `cliff_loss`: Pascanu et al.'s one-unit recurrence x_t = w sigmoid(x_{t-1}) + b, whose loss
  surface has a cliff.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from minirnn.convert import from_torch
from minirnn.data import adding_problem, to_torch
from minirnn.numpy import rnn_forward, rnn_states
from minirnn.numpy.lags import lag_decomposition
from minirnn.torch.adding import AddingRegressor

RULES = ("none", "value", "norm", "tensor_norm")
ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
ADAM_EPS = 1e-8


def max_step_length(rule: str, threshold: float, n_params: int) -> float:
    """The longest clipped gradient a rule allows on P = n_params entries: threshold for
    "norm"; threshold * sqrt(P) for "value" (every entry at +-threshold); inf for "none"."""
    if rule not in ("none", "value", "norm"):
        raise ValueError(f"rule: expected 'none', 'value' or 'norm', got {rule!r}")
    if not n_params >= 1:
        raise ValueError(f"n_params: expected a positive integer, got {n_params!r}")
    return {"none": math.inf, "norm": threshold,
            "value": threshold * math.sqrt(n_params)}[rule]


def adam_spike_bound(t: int, betas: tuple[float, float] = ADAM_BETAS) -> float:
    """|Adam's step on one coordinate| / lr at step t (1-based) when that step's gradient g is so
    large that it dominates both running averages: m_t ~ (1 - b1) g, v_t ~ (1 - b2) g^2, so
    m_hat / sqrt(v_hat) -> (1 - b1) / (1 - b1^t) * sqrt((1 - b2^t) / (1 - b2)), which tends
    to (1 - b1) / sqrt(1 - b2) (about 3.16 for the defaults) for large t, whatever the size of g.
    """
    if not (isinstance(t, int | np.integer) and t >= 1):
        raise ValueError(f"t: expected a positive integer step, got {t!r}")
    b1, b2 = betas
    return (1 - b1) / (1 - b1 ** t) * math.sqrt((1 - b2 ** t) / (1 - b2))


def adam_step_bound(t: int, betas: tuple[float, float] = ADAM_BETAS) -> float:
    """The most |Adam's step on one coordinate| / lr can be at step t, for any gradients.

    m_t = (1 - b1) sum_j b1^j g_{t-j} and v_t = (1 - b2) sum_j b2^j g_{t-j}^2; by Cauchy-Schwarz
    |m_t| <= (1 - b1) sqrt(sum_j (b1^2 / b2)^j) sqrt(v_t / (1 - b2)), so the bound is
    `adam_spike_bound(t)` times sqrt(sum_{j<t} (b1^2 / b2)^j) (about 7.3 for large t).
    """
    b1, b2 = betas
    q = b1 ** 2 / b2
    return adam_spike_bound(t, betas) * math.sqrt((1 - q ** t) / (1 - q))

def clip(grads: list[torch.Tensor], rule: str, threshold: float) -> list[torch.Tensor]:
    """Clipped copies of grads (a list of tensors of any shapes).

    rule: "none"; "norm" rescales all tensors by threshold / ||g|| when the joint L2 norm
    ||g|| exceeds threshold (direction kept); "tensor_norm" does the same for each tensor on its
    own; "value" clamps every entry to [-threshold, threshold].
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    if not threshold > 0:
        raise ValueError(f"threshold: expected a positive number, got {threshold}")
    if rule == "none":
        return [g.clone() for g in grads]
    if rule == "value":
        return [g.clamp(-threshold, threshold) for g in grads]
    if rule == "norm":
        total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
        scale = min(1.0, threshold / float(total)) if total > 0 else 1.0
        return [g * scale for g in grads]
    out = []
    for g in grads:
        n = float(g.double().norm())
        out.append(g * min(1.0, threshold / n) if n > 0 else g.clone())
    return out


def cosine(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Cosine of the angle between two gradients given as lists of same-shaped tensors."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise ValueError("a and b: expected lists of tensors with the same shapes")
    va = torch.cat([x.double().flatten() for x in a])
    vb = torch.cat([y.double().flatten() for y in b])
    return float(va @ vb / (va.norm() * vb.norm()))


def adam_direction(grads: list[torch.Tensor], m: list[torch.Tensor], v: list[torch.Tensor],
                   t: int, betas: tuple[float, float] = ADAM_BETAS, eps: float = ADAM_EPS
                   ) -> list[torch.Tensor]:
    """One step of Adam's rule without the learning rate: update the running averages m and v
    (float64 tensors shaped like grads, in place) with the gradients of step t (1-based) and
    return m_hat / (sqrt(v_hat) + eps), which torch.optim.Adam multiplies by -lr. Float64, so
    that the square of a spike of 1e19 does not overflow."""
    b1, b2 = betas
    out = []
    for g, mi, vi in zip(grads, m, v):
        mi.mul_(b1).add_((1 - b1) * g.double())
        vi.mul_(b2).add_((1 - b2) * g.double() ** 2)
        m_hat, v_hat = mi / (1 - b1 ** t), vi / (1 - b2 ** t)
        out.append(m_hat / (v_hat.sqrt() + eps))
    return out


def adding_problem_window(n: int, T: int, window: tuple[int, int], seed: int = 0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem with both marked steps drawn (distinct, uniformly) from positions
    window = (start, stop), 0 <= start, start + 2 <= stop <= T: the information the target needs
    lies between T - stop and T - 1 - start steps before the end.

    Returns x (n, T, 2) float32 (values in [0, 1), markers in {0, 1}) and y (n,) float32.
    """
    start, stop = window
    if not (0 <= start and start + 2 <= stop <= T):
        raise ValueError(f"window: expected (start, stop) with 0 <= start, start + 2 <= stop <= "
                         f"T = {T}, got {window}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, T), dtype=np.float32)
    pos = np.argsort(rng.random((n, stop - start)), axis=1)[:, :2] + start  # two distinct
    markers = np.zeros((n, T), dtype=np.float32)
    rows = np.arange(n)[:, None]
    markers[rows, pos] = 1.0
    return np.stack([values, markers], axis=-1), values[rows, pos].sum(axis=1)


def train_adding(rule: str, T: int = 20, hidden_size: int = 32, lr: float = 0.2,
                 steps: int = 1600, threshold: float = 1.0, batch_size: int = 32,
                 seed: int = 0, eval_size: int = 1000, optimizer: str = "sgd",
                 window: tuple[int, int] | None = None, cosines: bool = True,
                 shadow_adam: bool = False, init: str = "orthogonal") -> dict[str, np.ndarray]:
    """Train an `AddingRegressor` ("rnn", W_hh orthogonal, or torch's default with
    init="default") with plain SGD (or Adam) on the adding problem, clipping by `rule` at
    `threshold`.

    optimizer: "sgd" (plain: p -= lr * clipped gradient) or "adam" (torch.optim.Adam at lr,
    fed the clipped gradient). window: None for `adding_problem` (one marker in each half),
    or (start, stop) for `adding_problem_window`. cosines: score every rule against the raw
    gradient at every step (costs time). shadow_adam: also run Adam's moment estimates on the
    same raw gradients (without applying them) and record the step it would take.

    Returns {"loss": (steps,) training MSE per step, each on a batch the model has not seen
    (nan once it diverged), "grad_norm": (steps,) the raw gradient norm before clipping,
    "clipped_norm": (steps,) the norm of the gradient after clipping, "cosine": {rule:
    (steps,)} the cosine of each rule's clipped gradient with the raw one, "adam_step":
    (steps,) the largest |coordinate| of the shadow Adam's step divided by its learning rate
    (nan without shadow_adam), "eval_mse": held-out MSE after training (nan if diverged),
    "baseline_mse": MSE of predicting the mean of the held-out targets, "model"}.
    The run stops at the first non-finite loss; later entries stay nan.
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer: expected 'sgd' or 'adam', got {optimizer!r}")
    model = AddingRegressor("rnn", hidden_size, init=init, seed=seed)
    adam = torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam" else None
    if window is None:
        x_all, y_all = to_torch(adding_problem(steps * batch_size, T, seed=seed))
        x_eval, y_eval = to_torch(adding_problem(eval_size, T, seed=10_000 + seed))
    else:
        x_all, y_all = to_torch(adding_problem_window(steps * batch_size, T, window, seed))
        x_eval, y_eval = to_torch(adding_problem_window(eval_size, T, window, 10_000 + seed))
    loss_hist, norm_hist = np.full(steps, np.nan), np.full(steps, np.nan)
    clipped_hist, adam_hist = np.full(steps, np.nan), np.full(steps, np.nan)
    cos_hist = {r: np.full(steps, np.nan) for r in RULES[1:]}
    params = list(model.parameters())
    m = [torch.zeros_like(p, dtype=torch.float64) for p in params]  # the shadow Adam's moments
    v = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    # A loop of its own, not Trainer: it keeps the raw gradient of every step, scores every
    # rule's clipped copy against it, and stops at the first non-finite loss.
    for step in range(steps):
        xb = x_all[step * batch_size:(step + 1) * batch_size]
        yb = y_all[step * batch_size:(step + 1) * batch_size]
        loss = torch.mean((model(xb) - yb) ** 2)
        if not torch.isfinite(loss):
            break
        model.zero_grad()
        loss.backward()
        raw = [p.grad.detach().clone() for p in params]
        loss_hist[step] = float(loss.detach())
        norm_hist[step] = float(torch.sqrt(sum((g.double() ** 2).sum() for g in raw)))
        if not math.isfinite(norm_hist[step]):
            break
        for r in cos_hist if cosines else ():
            cos_hist[r][step] = cosine(clip(raw, r, threshold), raw)
        if shadow_adam:
            adam_hist[step] = max(float(d.abs().max()) for d in adam_direction(raw, m, v, step + 1))
        clipped = clip(raw, rule, threshold)
        clipped_hist[step] = float(torch.sqrt(sum((g.double() ** 2).sum() for g in clipped)))
        with torch.no_grad():
            for p, g in zip(params, clipped):
                if adam is None:
                    p -= lr * g
                else:
                    p.grad.copy_(g)
        if adam is not None:
            adam.step()
    with torch.no_grad():
        pred = model(x_eval)
        eval_mse = float(torch.mean((pred - y_eval) ** 2))
    baseline = float(torch.mean((y_eval - y_eval.mean()) ** 2))
    return {"loss": loss_hist, "grad_norm": norm_hist, "clipped_norm": clipped_hist,
            "cosine": cos_hist, "adam_step": adam_hist,
            "eval_mse": eval_mse if math.isfinite(eval_mse) else float("nan"),
            "baseline_mse": baseline, "model": model}


def lag_shares(model: AddingRegressor, x: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
    """dL/dW_h of the MSE loss on (x (N, T, 2), y (N,)) split by lag (chapter 7's
    `lag_decomposition`), for a tanh `AddingRegressor`.

    Returns {"share": (T,) ||C_l|| / ||dL/dW_h|| for lags l = 0..T-1, "dWh": (H, H) the sum of
    the C_l (our layout, the transpose of torch's weight_hh_l0.grad)}.
    """
    if model.cell != "rnn":
        raise ValueError(f"model: expected a tanh RNN (cell 'rnn'), got cell {model.cell!r}")
    if y.shape != x.shape[:1]:
        raise ValueError(f"y: expected shape ({x.shape[0]},), got {tuple(y.shape)}")
    (Wx, Wh, b), = from_torch(model.layer)  # one layer, one direction
    xs, ys = x.double().numpy(), y.double().numpy()
    N, T, _ = xs.shape
    h, cache = rnn_forward(xs, np.zeros((N, Wh.shape[0])), Wx, Wh, b)
    w = model.readout.weight.detach().double().numpy()[0]
    pred = h[:, -1] @ w + float(model.readout.bias.detach())
    dh = np.zeros_like(h)  # the loss sits at the last step only
    dh[:, -1] = (2.0 * (pred - ys) / N)[:, None] * w
    by_lag = lag_decomposition(rnn_states(cache), Wh, dh)["by_lag"]
    dWh = by_lag.sum(axis=0)
    return {"share": np.linalg.norm(by_lag, axis=(1, 2)) / np.linalg.norm(dWh), "dWh": dWh}


def cliff_loss(w: np.ndarray, b: np.ndarray, T: int = 50, x0: float = 0.5,
               target: float = 0.7) -> np.ndarray:
    """Pascanu et al.'s one-unit model: x_t = w sigmoid(x_{t-1}) + b, loss (x_T - target)^2.

    w, b: arrays of the same shape (a grid). Returns the loss on that grid.
    """
    w, b = np.asarray(w, float), np.asarray(b, float)
    if w.shape != b.shape:
        raise ValueError(f"w and b: expected the same shape, got {w.shape} and {b.shape}")
    x = np.full(w.shape, x0)
    for _ in range(T):
        x = w / (1.0 + np.exp(-x)) + b
    return (x - target) ** 2


def by_config(runs: list[dict]) -> dict[str, list[dict]]:
    """Group the experiment's run records ({"config", "seed", ...}) by config, in seed order."""
    out: dict[str, list[dict]] = {}
    for r in sorted(runs, key=lambda r: r["seed"]):
        out.setdefault(r["config"], []).append(r)
    return out


def check_claims(runs: list[dict], spikes: list[dict], lags: list[dict],
                 lags_default: list[dict]) -> None:
    """Assert the chapter's claims on the grid of `experiments/clipping.py` (or a smaller one of
    the same form); raises AssertionError naming the claim that fails.

    runs: {"config", "seed", "finite_steps", "eval_mse", "baseline_mse", "clipped_median",
    "clipped_max"} for the configs "none", "norm 1", "value 1/sqrt(P)", "value 1",
    "norm sqrt(P)"; spikes: {"sgd_max_step", "adam_max_step", "within_bound"} per seed of the
    unclipped run; lags: {"task": "short" or "long", "last100", "baseline_mse",
    "share_lag_50_up"} per seed (orthogonal start); lags_default: the same for the long-lag
    task from torch's default W_hh.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 11 claim fails: {text}")

    g = by_config(runs)
    claim(len(g["none"]) >= 3, "three seeds or more")
    claim(all(r["finite_steps"] < 100 for r in g["none"]),
          "unclipped SGD overflows to NaN within 100 steps in every seed")
    rel = {name: [r["eval_mse"] / r["baseline_mse"] for r in rs] for name, rs in g.items()}
    for name in ("norm 1", "value 1/sqrt(P)"):
        claim(max(rel[name]) < 0.75,
              f"{name} (steps of length at most 1) trains below the mean predictor in every "
              "seed (held-out MSE under 0.75 of it)")
    claim(abs(np.mean(rel["norm 1"]) - np.mean(rel["value 1/sqrt(P)"])) < 0.1,
          "at equal maximum step length, value and norm clipping end within 0.1 of each other "
          "(relative to the mean predictor, averaged over seeds)")
    for name in ("value 1", "norm sqrt(P)"):
        claim(min(rel[name]) > 10,
              f"{name} (steps up to sqrt(P) = 34 long) ends above 10 times the mean predictor "
              "in every seed")
    claim(all(r["clipped_median"] > 4 and r["clipped_max"] > 20 for r in g["value 1"]),
          "value clipping at 1 steps with gradients of median length above 4 and max above 20")
    claim(all(r["clipped_max"] <= 1 + 1e-6 for r in g["norm 1"] + g["value 1/sqrt(P)"]),
          "norm clipping at 1 and value clipping at 1/sqrt(P) never step longer than 1")
    claim(all(min(rel[name]) > 0.1 for name in ("norm 1", "value 1/sqrt(P)")),
          "none of these runs solves the task by the course's standard (a tenth of the mean)")
    claim(all(s["sgd_max_step"] > 1e6 and s["within_bound"] and s["adam_max_step"] < 1.1
              for s in spikes),
          "in the spikes that throw SGD's step past 1e6, an Adam fed the same gradients moves "
          "no coordinate by more than 1.1 lr")
    short = [r for r in lags if r["task"] == "short"]
    long = [r for r in lags if r["task"] == "long"]
    claim(len(short) >= 3 and len(long) >= 3, "the lag runs cover three seeds or more")
    claim(all(r["last100"] < 0.6 * r["baseline_mse"] for r in short),
          "norm-clipped SGD learns the short-lag task (last 100 steps below 0.6 of the mean)")
    claim(all(r["last100"] > 0.9 * r["baseline_mse"] for r in long),
          "norm-clipped SGD stays at the mean predictor on the long-lag task")
    claim(all(r["share_lag_50_up"] > 0.05 for r in long),
          "from the orthogonal start the long lags are not small (over 5% of dL/dW_h)")
    claim(len(lags_default) >= 3 and all(r["last100"] > 0.9 * r["baseline_mse"]
                                         and r["share_lag_50_up"] < 1e-6 for r in lags_default),
          "from torch's default start the long lags carry under 1e-6 of dL/dW_h and the "
          "long-lag task stays at the mean predictor")
