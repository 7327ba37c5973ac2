"""Chapter 11: Gradient clipping, measured on the adding problem with plain SGD.

- `clip`: the three rules side by side on a list of gradient tensors (global norm as
  Pascanu et al. 2013 and torch.nn.utils.clip_grad_norm_, norm per tensor, and value), returning
  clipped copies so that the raw gradient stays available;
- `cosine`: the cosine between two gradients flattened over all tensors;
- `train_adding`: the library's `AddingRegressor` (a tanh RNN whose W_hh starts orthogonal, a
  linear readout of its last state) trained with plain SGD and one clipping rule, recording the
  loss, the raw gradient norm, and the cosine of every rule's clipped gradient with the raw one
  at every step;
- `input_gradient_norms`: how much gradient reaches each input step (to show what clipping
  cannot change);
- `cliff_loss`: Pascanu et al.'s one-unit recurrence x_t = w sigmoid(x_{t-1}) + b, whose loss
  surface has a cliff.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from minirnn.data import adding_problem, to_torch
from minirnn.torch.adding import AddingRegressor

RULES = ("none", "value", "norm", "tensor_norm")


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


def train_adding(rule: str, T: int = 20, hidden_size: int = 32, lr: float = 0.2,
                 steps: int = 1600, threshold: float = 1.0, batch_size: int = 32,
                 seed: int = 0, eval_size: int = 1000, optimizer: str = "sgd"
                 ) -> dict[str, np.ndarray]:
    """Train an `AddingRegressor` ("rnn", W_hh orthogonal) with plain SGD (or Adam) on the
    adding problem, clipping by `rule`.

    optimizer: "sgd" (plain: p -= lr * clipped gradient) or "adam" (torch.optim.Adam at lr,
    fed the clipped gradient).

    Returns {"loss": (steps,) training MSE per step (nan once it diverged), "grad_norm":
    (steps,) the raw gradient norm before clipping, "cosine": {rule: (steps,)} the cosine of
    each rule's clipped gradient with the raw one, "eval_mse": held-out MSE after training
    (nan if diverged), "baseline_mse": MSE of predicting the mean of the held-out targets}.
    The run stops at the first non-finite loss; later entries stay nan.
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer: expected 'sgd' or 'adam', got {optimizer!r}")
    model = AddingRegressor("rnn", hidden_size, init="orthogonal", seed=seed)
    adam = torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam" else None
    x_all, y_all = to_torch(adding_problem(steps * batch_size, T, seed=seed))
    x_eval, y_eval = to_torch(adding_problem(eval_size, T, seed=10_000 + seed))
    loss_hist, norm_hist = np.full(steps, np.nan), np.full(steps, np.nan)
    cos_hist = {r: np.full(steps, np.nan) for r in RULES[1:]}
    params = list(model.parameters())
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
        for r in cos_hist:
            cos_hist[r][step] = cosine(clip(raw, r, threshold), raw)
        with torch.no_grad():
            for p, g in zip(params, clip(raw, rule, threshold)):
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
    return {"loss": loss_hist, "grad_norm": norm_hist, "cosine": cos_hist,
            "eval_mse": eval_mse if math.isfinite(eval_mse) else float("nan"),
            "baseline_mse": baseline, "model": model}


def input_gradient_norms(model: AddingRegressor, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """||dL/dx_t|| for every step t of the MSE loss on (x (N, T, 2), y (N,)): how much gradient
    reaches each input step. Returns (T,), the Frobenius norm over the batch and features."""
    if y.shape != x.shape[:1]:
        raise ValueError(f"y: expected shape ({x.shape[0]},), got {tuple(y.shape)}")
    x = x.clone().requires_grad_(True)
    loss = torch.mean((model(x) - y) ** 2)
    (dx,) = torch.autograd.grad(loss, x)
    return dx.double().norm(dim=(0, 2)).numpy()


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
