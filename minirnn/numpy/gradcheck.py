"""Numeric gradient checks: is a hand-written backward pass right?

Central differences, (f(x + h) - f(x - h)) / 2h, have an error of order h^2, so in float64
with h around 1e-6 they agree with a correct analytic gradient to about 1e-8 relative error.
Use float64 and small, well-conditioned cases: float32 has too few digits for this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def rel_error(x: np.ndarray | float, y: np.ndarray | float) -> float:
    """Largest elementwise relative error max |x - y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"y: expected shape {x.shape} to match x, got {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            h: float = 1e-6) -> np.ndarray:
    """Numeric gradient of a scalar function f at x (same shape as x).

    x is perturbed in place one entry at a time and restored afterwards.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = f(x)
        x[ix] = old - h
        f_minus = f(x)
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Numeric gradient of sum(f(x) * df) at x, for an array-valued f.

    df is the upstream gradient (same shape as f(x)); the result has the shape of x.
    """
    return eval_numerical_gradient(lambda _: float(np.sum(f(x) * df)), x, h)


def _leaves(tree: Any, name: str) -> list[tuple[str, np.ndarray]]:
    """Flatten arrays nested in tuples/lists into (name, array) pairs, in order."""
    if isinstance(tree, (tuple, list)):
        return [leaf for k, sub in enumerate(tree) for leaf in _leaves(sub, f"{name}[{k}]")]
    return [(name, tree)]


def check_gradients(forward: Callable, backward: Callable, inputs: dict[str, Any],
                    kwargs: dict[str, Any] | None = None, h: float = 1e-5,
                    seed: int = 0) -> dict[str, float]:
    """Compare a layer's backward pass with numeric gradients for every floating input.

    Inputs:
    - forward: called as forward(**inputs, **kwargs); returns (out, cache) or
      (out_1, ..., out_k, cache), like every layer here.
    - backward: called as backward(dout_1, ..., dout_k, cache); returns one gradient per
      floating input, in the order of `inputs` (integer inputs such as token ids get none).
      Inputs may be tuples/lists of arrays (weights of a bidirectional or stacked layer):
      their gradients come back with the same nesting.
    - inputs: name -> array (float64 for a meaningful check).
    - kwargs: further non-differentiable arguments (nonlinearity, lengths, ...).

    Returns name -> relative error of that input's gradient.
    """
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed)
    result = forward(**inputs, **kwargs)
    outs, cache = result[:-1], result[-1]
    douts = [rng.standard_normal(np.shape(o)) for o in outs]
    grads = backward(*douts, cache)
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)

    def loss(_: object = None) -> float:
        return float(sum(np.sum(o * d) for o, d in zip(forward(**inputs, **kwargs)[:-1], douts)))

    floating = [(name, value) for name, value in inputs.items()
                if not (isinstance(value, np.ndarray) and not np.issubdtype(value.dtype,
                                                                           np.floating))]
    leaves = [leaf for name, value in floating for leaf in _leaves(value, name)]
    grad_leaves = [g for _, g in _leaves(list(grads), "grads")]
    if len(grad_leaves) != len(leaves):
        raise ValueError(f"backward: expected {len(leaves)} gradients "
                         f"({', '.join(n for n, _ in leaves)}), got {len(grad_leaves)}")
    errors = {}
    for (name, x), g in zip(leaves, grad_leaves):
        errors[name] = rel_error(g, eval_numerical_gradient(loss, x, h))
    return errors
