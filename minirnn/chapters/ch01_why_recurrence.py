"""Chapter 1: Why recurrence. Generated tasks and the NumPy models that compare on them.

Two tasks, each with a baseline that fails by construction and two models that could succeed:

- order: in `order_task` the label is whether token A comes before token B; `BagOfTokens`,
  which sees only how often each token occurs, is at chance by construction;
- memory: in `first_token_task` the label is the first token; `LastStepOnly`, which sees one
  step, is at chance;
- on both, `WindowMLP` (a `FlatMLP` over a fixed window of steps, cutting or padding other
  lengths) and `ManyToOneRNN` (any length, the same weights) are the real contenders.

`length_experiment` trains the three models on one length or on lengths 5 to 20 and tests them
at `TEST_LENGTHS`; `check_claims` asserts what the chapter says about the result.

Every model has `params` (a dict of arrays), `loss(tokens, labels) -> (loss, grads)` and
`predict(tokens) -> labels`; `fit_lengths` (or `minirnn.numpy.train.fit`) trains it. Tokens are
integer arrays of shape (N, T)."""

from __future__ import annotations

import numpy as np

from minirnn.numpy.classifiers import FlatMLP, ManyToOneRNN, TanhMLP, linear_softmax_loss
from minirnn.numpy.layers import one_hot
from minirnn.numpy.optim import Adam

# --------------------------------------------------------------------------- tasks


def order_task(n_pairs: int, T: int, n_fillers: int = 4, seed: int = 0):
    """Sequences holding token A (id 0) and token B (id 1) once each, among filler tokens.

    The label is 1 when A comes before B. Examples come in pairs: each sequence is followed by
    its twin with A and B swapped, which has the same token counts and the opposite label, so
    any model that sees only counts is right on exactly half of them.

    Returns tokens (2 * n_pairs, T) int64 with ids in [0, 2 + n_fillers) and labels
    (2 * n_pairs,) int64.
    """
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps to hold A and B, got {T}")
    rng = np.random.default_rng(seed)
    tokens = rng.integers(2, 2 + n_fillers, size=(n_pairs, T))
    for row in tokens:
        a, b = rng.choice(T, size=2, replace=False)
        row[a], row[b] = 0, 1
    labels = (np.argmax(tokens == 0, axis=1) < np.argmax(tokens == 1, axis=1)).astype(np.int64)
    twins = np.where(tokens == 0, 1, np.where(tokens == 1, 0, tokens))  # swap A and B
    paired = np.stack([tokens, twins], axis=1).reshape(2 * n_pairs, T)
    paired_labels = np.stack([labels, 1 - labels], axis=1).reshape(-1)
    return paired.astype(np.int64), paired_labels


def first_token_task(n: int, T: int, seed: int = 0):
    """Random bits whose label is the first bit, so a model must carry it through T - 1 steps.

    Returns tokens (n, T) int64 in {0, 1} and labels (n,) int64.
    """
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 2, size=(n, T)).astype(np.int64)
    return tokens, tokens[:, 0].copy()


# --------------------------------------------------------------------------- models


class BagOfTokens:
    """Logistic regression on token counts (N, V): it cannot see the order of the tokens."""

    def __init__(self, V: int, C: int = 2, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.V = V
        self.params = {"W": rng.normal(0.0, 0.1, (V, C)), "b": np.zeros(C)}

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return one_hot(tokens, self.V, name="tokens").sum(axis=1)

    def loss(self, tokens: np.ndarray, labels: np.ndarray):
        loss, _, dW, db = linear_softmax_loss(
            self.features(tokens), self.params["W"], self.params["b"], labels
        )
        return loss, {"W": dW, "b": db}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return (self.features(tokens) @ self.params["W"] + self.params["b"]).argmax(axis=1)


class LastStepOnly(TanhMLP):
    """An MLP that sees only the last token (N, V): a model without memory."""

    def __init__(self, V: int, H: int, C: int = 2, seed: int = 0):
        super().__init__(V, H, C, seed)
        self.V = V

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return one_hot(tokens[:, -1:], self.V, name="tokens")[:, 0]


class WindowMLP(FlatMLP):
    """A `FlatMLP` that reads any length through a fixed window of T steps.

    Longer sequences are cut to their first T tokens and shorter ones right-padded with `fill`,
    the usual way a fixed-input network is given other lengths. Tokens (N, any T') -> (N, T*V).
    """

    def __init__(self, T: int, V: int, H: int, fill: int = 0, C: int = 2, seed: int = 0):
        if not 0 <= fill < V:
            raise ValueError(f"fill: expected a token id in [0, {V}), got {fill}")
        super().__init__(T, V, H, C, seed)
        self.fill = fill

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return super().features(to_window(tokens, self.T, self.fill))


def to_window(tokens: np.ndarray, T: int, fill: int) -> np.ndarray:
    """Cut tokens (N, T') to their first T steps, or right-pad them with `fill`: (N, T)."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens: expected shape (N, T), got {tokens.shape}")
    n, length = tokens.shape
    if length >= T:
        return tokens[:, :T]
    return np.concatenate([tokens, np.full((n, T - length), fill, dtype=tokens.dtype)], axis=1)


# --------------------------------------------------------------------------- lengths


def fit_lengths(
    model,
    datasets: list[tuple[np.ndarray, np.ndarray]],
    steps: int,
    batch_size: int = 64,
    lr: float = 0.02,
    seed: int = 0,
) -> list[float]:
    """Train model with Adam on minibatches of one length at a time.

    datasets holds (tokens (n, T_i), labels (n,)) for several lengths T_i; each step picks one
    of them at random and a minibatch of its rows, so the model sees every length. Like
    `minirnn.numpy.train.fit` otherwise (same optimizer, same defaults). Returns the losses.
    """
    if not datasets:
        raise ValueError("datasets: expected at least one (tokens, labels) pair, got none")
    rng = np.random.default_rng(seed)
    optimizer = Adam(lr=lr)
    losses = []
    for _ in range(steps):
        tokens, labels = datasets[rng.integers(len(datasets))]
        idx = rng.integers(0, len(tokens), size=batch_size)
        loss, grads = model.loss(tokens[idx], labels[idx])
        optimizer.step(model.params, grads)
        losses.append(float(loss))
    return losses


def accuracy_by_length(model, make_test, lengths) -> dict[int, float]:
    """Test accuracy at each length T: make_test(T) -> (tokens (n, T), labels (n,))."""
    accs = {}
    for T in lengths:
        tokens, labels = make_test(T)
        accs[T] = float(np.mean(model.predict(tokens) == labels))
    return accs


# The two experiments' settings: the task at one length, and the same task at several lengths.
TASKS = {
    "order": dict(V=6, T=10, steps=400, fill=2,  # fill with a filler token, neither A nor B
                  train=lambda T, n, seed: order_task(n // 2, T, seed=seed)),
    "memory": dict(V=2, T=20, steps=600, fill=0,
                   train=lambda T, n, seed: first_token_task(n, T, seed=seed)),
}
TRAIN_SIZE = {"order": 2000, "memory": 2000}
SEVERAL_LENGTHS = tuple(range(5, 21))  # trained on every length from 5 to 20 steps
TEST_LENGTHS = (5, 10, 20, 40, 80)


def make_models(task: str, window: int, H: int = 16, seed: int = 0) -> dict:
    """The three models compared on a task: a baseline that fails by construction, a window
    MLP over `window` steps, and a 16-unit RNN."""
    cfg = TASKS[task]
    V = cfg["V"]
    baseline = BagOfTokens(V, seed=seed) if task == "order" else LastStepOnly(V, H, seed=seed)
    name = "bag of tokens" if task == "order" else "last step only"
    return {name: baseline,
            f"flat MLP ({window} steps)": WindowMLP(window, V, H, fill=cfg["fill"], seed=seed),
            "RNN (H=16)": ManyToOneRNN(V, H, seed=seed)}


def length_experiment(task: str, several: bool, seed: int = 0) -> tuple[dict, dict, dict]:
    """Train the three models of `task` on its one length, or on lengths 5 to 20 (several),
    with the same number of Adam steps, and test each at `TEST_LENGTHS`.

    Returns (models, {name: {T: test accuracy}}, {name: training losses}). Test sets come
    from seeds other than the training sets'; `seed` seeds the models and the minibatches.
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {sorted(TASKS)}, got {task!r}")
    cfg, n = TASKS[task], TRAIN_SIZE[task]
    lengths = SEVERAL_LENGTHS if several else (cfg["T"],)
    datasets = [cfg["train"](T, n // len(lengths), 1000 + T) for T in lengths]
    models = make_models(task, window=max(lengths), seed=seed)
    losses = {name: fit_lengths(m, datasets, steps=cfg["steps"], seed=seed)
              for name, m in models.items()}

    def make_test(T):
        return cfg["train"](T, 1000, 2000 + T)

    accs = {name: accuracy_by_length(m, make_test, TEST_LENGTHS) for name, m in models.items()}
    return models, accs, losses


# --------------------------------------------------------------------------- claims


def check_claims(order_one: dict, order_several: dict, memory_one: dict,
                 memory_several: list[dict]) -> None:
    """Assert the chapter's claims on the accuracies of `length_experiment` ({name: {T: acc}});
    memory_several holds one such dict per seed. Raises AssertionError naming the claim."""
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 1 claim fails: {text}")

    bag, flat10, rnn = (order_one[k] for k in ("bag of tokens", "flat MLP (10 steps)",
                                               "RNN (H=16)"))
    claim(all(a == 0.5 for a in bag.values()), "bag of tokens is exactly at chance")
    claim(flat10[10] >= 0.95 and rnn[10] >= 0.95, "flat MLP and RNN solve order at T = 10")
    claim(max(flat10[40], rnn[40], flat10[80], rnn[80]) < 0.7,
          "trained on T = 10 only, neither reads T = 40 or 80")
    flat20, rnn = order_several["flat MLP (20 steps)"], order_several["RNN (H=16)"]
    claim(min(rnn.values()) >= 0.95, "trained on 5 to 20 steps, the RNN reads every length")
    claim(max(flat20[40], flat20[80]) < 0.7, "the 20-step window MLP fails at T = 40 and 80")
    last, flat, rnn = (memory_one[k] for k in ("last step only", "flat MLP (20 steps)",
                                               "RNN (H=16)"))
    claim(max(last.values()) <= 0.6, "the last-step model is at chance")
    claim(min(flat.values()) >= 0.95, "the window MLP reads the first bit at every length")
    claim(min(rnn[T] for T in (10, 20, 40, 80)) >= 0.95,
          "the RNN trained at T = 20 is right from 10 to 80 steps")
    claim(rnn[5] < 0.05, "the RNN trained at T = 20 fails at T = 5, with the opposite answer")
    solved = [min(run["RNN (H=16)"].values()) >= 0.95 for run in memory_several]
    claim(sum(solved) == 2 and len(solved) == 3,
          "on 5 to 20 steps the RNN learns every length in 2 seeds of 3")
