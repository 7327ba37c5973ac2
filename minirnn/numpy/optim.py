"""Optimizers as small classes: `opt.step(params, grads)` updates every array in place.

`params` and `grads` are dicts with the same keys (name -> array); each optimizer keeps its
own per-parameter state (velocities, squared-gradient averages) under the same names.
"""

from __future__ import annotations

import numpy as np


def _check(params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
    if set(params) != set(grads):
        raise ValueError(f"grads: expected the keys of params {sorted(params)}, "
                         f"got {sorted(grads)}")
    for name, p in params.items():
        g = grads[name]
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"params[{name!r}]: expected a floating numpy array, "
                            f"got {getattr(p, 'dtype', type(p).__name__)}")
        if not isinstance(g, np.ndarray) or g.shape != p.shape:
            raise ValueError(f"grads[{name!r}]: expected shape {p.shape} to match params, "
                             f"got {getattr(g, 'shape', type(g).__name__)}")


class Optimizer:
    """Base class: subclasses implement `update(name, p, g)` for one array."""

    def __init__(self, lr: float) -> None:
        if lr <= 0:
            raise ValueError(f"lr: expected a positive learning rate, got {lr}")
        self.lr = lr
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every params[name] in place using grads[name]."""
        _check(params, grads)
        for name, p in params.items():
            self.update(name, p, grads[name])

    def _buffer(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        """A zero-initialised state array for one parameter, created on first use."""
        return self.state.setdefault(name, {}).setdefault(key, np.zeros_like(like))

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g"""

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        p -= self.lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: v = momentum * v - lr * g; p += v."""

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = momentum

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        v = self._buffer(name, "velocity", p)
        v *= self.momentum
        v -= self.lr * g
        p += v


class Adagrad(Optimizer):
    """Per-coordinate steps shrink with the sum of all squared gradients so far
    (min-char-rnn's optimizer): cache += g^2; p -= lr * g / (sqrt(cache) + eps)."""

    def __init__(self, lr: float, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.eps = eps

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        cache = self._buffer(name, "sum_sq", p)
        cache += g * g
        p -= self.lr * g / (np.sqrt(cache) + self.eps)


class RMSprop(Optimizer):
    """Like Adagrad with a decaying average instead of a sum:
    cache = decay * cache + (1 - decay) g^2; p -= lr * g / (sqrt(cache) + eps)."""

    def __init__(self, lr: float, decay: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.decay, self.eps = decay, eps

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        cache = self._buffer(name, "mean_sq", p)
        cache *= self.decay
        cache += (1 - self.decay) * g * g
        p -= self.lr * g / (np.sqrt(cache) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; same update as torch.optim.Adam."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t: dict[str, int] = {}

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        m = self._buffer(name, "m", p)
        v = self._buffer(name, "v", p)
        t = self.t[name] = self.t.get(name, 0) + 1
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
