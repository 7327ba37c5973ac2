"""Training NumPy models: Adam on random minibatches, and two small measures.

A model here is anything with `params` (name -> array) and `loss(inputs, targets) ->
(loss, grads)` with grads under the names of params: the classifiers of
`minirnn.numpy.classifiers`, `MaskedCharRNN`, the chapters' own models.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy.optim import Adam


def count_params(model) -> int:
    """Number of scalars in model.params."""
    return sum(p.size for p in model.params.values())


def accuracy(model, inputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of labels (N, ...) that model.predict(inputs) gets right."""
    return float(np.mean(model.predict(inputs) == labels))


def fit(
    model,
    inputs: np.ndarray,
    targets: np.ndarray,
    steps: int = 400,
    batch_size: int = 64,
    lr: float = 0.02,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Train model with Adam on minibatches of rows drawn at random (with replacement).

    inputs (N, ...) and targets (N, ...) share their first dimension. Returns
    {"loss": [...]}, the minibatch loss of every step.
    """
    if len(inputs) != len(targets):
        raise ValueError(f"targets: expected {len(inputs)} rows like inputs, got {len(targets)}")
    if steps < 0 or batch_size < 1:
        raise ValueError(f"steps, batch_size: expected >= 0 and >= 1, got {steps}, {batch_size}")
    rng = np.random.default_rng(seed)
    optimizer = Adam(lr=lr)
    history: dict[str, list[float]] = {"loss": []}
    for _ in range(steps):
        idx = rng.integers(0, len(inputs), size=batch_size)
        loss, grads = model.loss(inputs[idx], targets[idx])
        optimizer.step(model.params, grads)
        history["loss"].append(float(loss))
    return history
