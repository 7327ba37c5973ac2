"""Chapter 3: The vanilla RNN. What parameter sharing buys, measured on a motif-spotting task.

The task: token sequences of filler tokens (ids 2 .. V-1) in which token A (id 0) and token B
(id 1) occur once each, next to each other. At every step the target is 1 when the motif
"A then B" has just been completed (x_{t-1} = A, x_t = B) and 0 otherwise. A sequence that
holds "B then A" instead is a negative: same tokens, same positions, opposite order.

Training data puts the motif only at early positions; test data puts it anywhere. Two taggers
answer at every step:

- `RNNTagger`: a vanilla RNN whose state at step t is scored by one shared output layer. Its
  weights are the same at every step, so a detector learned at steps 1..6 exists at step 17.
- `FlatMLPTagger`: one tanh hidden layer on the whole flattened sequence (T * V inputs) with
  T * 2 outputs. Each position has its own input weights and its own output unit, so what it
  learned at early positions says nothing about late ones.

Both follow the interface of `minirnn.numpy.classifiers` (`params`, `loss(tokens, tags)`,
`predict(tokens)`), extending its `ManyToOneRNN` and `FlatMLP`, and train with
`minirnn.numpy.train.fit`. Tokens are (N, T) integers; tags are (N, T) in {0, 1}.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import (
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from minirnn.numpy.classifiers import FlatMLP, ManyToOneRNN
from minirnn.numpy.layers import one_hot

MOTIF_A, MOTIF_B = 0, 1


def motif_task(
    n: int, T: int, positions: np.ndarray | list[int], V: int = 6, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences holding "A B" (positives, even rows) or "B A" (negatives, odd rows).

    Inputs:
    - n: number of sequences; half positives, half negatives.
    - T: sequence length (at least 2).
    - positions: allowed start positions p of the pair (the pair fills steps p and p + 1),
      each in [0, T - 2]; each sequence draws one uniformly.
    - V: vocabulary size; ids 0 and 1 are A and B, the rest are fillers (V >= 3).

    Returns tokens (n, T) int64, labels (n,) int64 (1 for "A B"), starts (n,) int64.
    """
    positions = np.asarray(positions)
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps to hold the pair, got {T}")
    if V < 3:
        raise ValueError(f"V: expected at least 3 tokens (A, B and a filler), got {V}")
    if positions.ndim != 1 or positions.size == 0 or not np.issubdtype(positions.dtype,
                                                                         np.integer):
        raise ValueError(f"positions: expected a non-empty 1-D integer array, got {positions!r}")
    if positions.min() < 0 or positions.max() > T - 2:
        raise ValueError(f"positions: expected start positions in [0, {T - 2}] for T = {T}, "
                         f"got [{positions.min()}, {positions.max()}]")
    rng = np.random.default_rng(seed)
    tokens = rng.integers(2, V, size=(n, T))
    labels = (np.arange(n) % 2 == 0).astype(np.int64)
    starts = rng.choice(positions, size=n)
    rows = np.arange(n)
    first = np.where(labels == 1, MOTIF_A, MOTIF_B)
    tokens[rows, starts] = first
    tokens[rows, starts + 1] = 1 - first  # the other one of A, B
    return tokens.astype(np.int64), labels, starts.astype(np.int64)


def motif_tags(tokens: np.ndarray) -> np.ndarray:
    """Per-step targets (N, T) int64: 1 at step t when x_{t-1} = A and x_t = B, else 0."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens: expected shape (N, T), got {tokens.shape}")
    tags = np.zeros(tokens.shape, dtype=np.int64)
    tags[:, 1:] = (tokens[:, :-1] == MOTIF_A) & (tokens[:, 1:] == MOTIF_B)
    return tags


class RNNTagger(ManyToOneRNN):
    """Vanilla RNN with one output layer shared by all steps: tokens (N, T) -> tags (N, T).

    Parameters as `ManyToOneRNN`'s: Wx (V, H), Wh (H, H), b (H,), W_out (H, 2),
    b_out (2,); their number does not depend on T. The loss is the mean cross-entropy per step.
    """

    def scores(self, tokens: np.ndarray) -> np.ndarray:
        """Scores (N, T, 2) at every step."""
        return self.hidden_states(tokens) @ self.params["W_out"] + self.params["b_out"]

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return self.scores(tokens).argmax(axis=-1)

    def loss(self, tokens: np.ndarray, tags: np.ndarray):
        p = self.params
        N, T = tokens.shape
        h, rnn_cache = rnn_forward(one_hot(tokens, self.V, name="tokens"), np.zeros((N, self.H)),
                                   p["Wx"], p["Wh"], p["b"])
        scores, affine_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
        loss, dscores = temporal_softmax_loss(scores, tags)  # summed over steps
        dh, dW_out, db_out = temporal_affine_backward(dscores / T, affine_cache)
        _, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        return loss / T, {"Wx": dWx, "Wh": dWh, "b": db, "W_out": dW_out, "b_out": db_out}


class FlatMLPTagger(FlatMLP):
    """Tanh MLP on the flattened one-hot sequence (N, T * V) with 2 scores per step.

    Parameters: W1 (T * V, H), b1 (H,), W2 (H, 2 * T), b2 (2 * T,); both layers grow with T.
    The loss is the mean cross-entropy per step.
    """

    def __init__(self, T: int, V: int, H: int, seed: int = 0):
        super().__init__(T, V, H, C=2 * T, seed=seed)

    def scores(self, tokens: np.ndarray) -> np.ndarray:
        """Scores (N, T, 2) at every step."""
        p = self.params
        hidden = np.tanh(self.features(tokens) @ p["W1"] + p["b1"])
        return (hidden @ p["W2"] + p["b2"]).reshape(len(tokens), self.T, 2)

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return self.scores(tokens).argmax(axis=-1)

    def loss(self, tokens: np.ndarray, tags: np.ndarray):
        p = self.params
        x = self.features(tokens)
        N, T = len(x), self.T
        hidden = np.tanh(x @ p["W1"] + p["b1"])
        scores = (hidden @ p["W2"] + p["b2"]).reshape(N, T, 2)
        loss, dscores = temporal_softmax_loss(scores, tags)
        dout = dscores.reshape(N, 2 * T) / T
        da = (dout @ p["W2"].T) * (1.0 - hidden**2)
        return loss / T, {"W1": x.T @ da, "b1": da.sum(axis=0),
                          "W2": hidden.T @ dout, "b2": dout.sum(axis=0)}


def detection_accuracy(model, T: int, start: int, n: int = 400, V: int = 6,
                       seed: int = 2) -> float:
    """Accuracy of model's answer at the step that completes the pair, for pairs at `start`.

    Half the test sequences hold "A B" at steps (start, start + 1), half "B A"; a right answer
    is tag 1 for the first and 0 for the second at step start + 1. Chance is 0.5, and a model
    that never fires scores exactly 0.5.
    """
    tokens, labels, _ = motif_task(n, T, [start], V=V, seed=seed)
    return float(np.mean(model.predict(tokens)[:, start + 1] == labels))


def accuracy_by_position(model, T: int, n: int = 400, V: int = 6, seed: int = 2) -> np.ndarray:
    """`detection_accuracy` for every start position 0 .. T - 2: an array of T - 1 floats."""
    return np.array([detection_accuracy(model, T, p, n=n, V=V, seed=seed)
                     for p in range(T - 1)])


def project_2d(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project hidden states (..., H) onto their top two principal components.

    Returns (points (..., 2), explained (2,)): the projected states, and the share of the
    variance each of the two components explains.
    """
    states = np.asarray(states, dtype=np.float64)
    if states.ndim < 2 or states.shape[-1] < 2:
        raise ValueError(f"states: expected shape (..., H) with H >= 2, got {states.shape}")
    flat = states.reshape(-1, states.shape[-1])
    centred = flat - flat.mean(axis=0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    # fix each component's sign so the projection does not flip between LAPACK builds
    signs = np.sign(vt[:2, np.argmax(np.abs(vt[:2]), axis=1)].diagonal())
    components = vt[:2] * signs[:, None]
    explained = sing[:2] ** 2 / np.sum(sing**2)
    return (centred @ components.T).reshape(states.shape[:-1] + (2,)), explained


# ------------------------------------------------------------------------------ state paths


def swap_pair(tokens: np.ndarray) -> np.ndarray:
    """The twin of `tokens` (N, T): A and B exchanged, every filler kept, so "A B" <-> "B A"."""
    tokens = np.asarray(tokens)
    return np.where(tokens == MOTIF_A, MOTIF_B, np.where(tokens == MOTIF_B, MOTIF_A, tokens))


def fire_probability(model: RNNTagger, tokens: np.ndarray) -> np.ndarray:
    """P(tag = 1) (N, T) at every step: the softmax of the tagger's scores (N, T, 2)."""
    scores = model.scores(tokens)
    scores = scores - scores.max(axis=-1, keepdims=True)  # stable softmax
    p = np.exp(scores)
    return p[..., 1] / p.sum(axis=-1)


# ------------------------------------------------------------------------------ claims


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements m; raises AssertionError naming the claim.

    Keys: rnn_seen, rnn_unseen, mlp_seen, mlp_unseen (accuracy per start position, arrays),
    rnn_params, mlp_params (ints), gap (T,) distance between the twin runs' states at each
    step, start (the pair's first position, 0-based), fire (2,) P(tag = 1) at the pair's step
    for the A B run and the B A run.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 3 claim fails: {text}")

    claim(np.mean(m["rnn_seen"]) >= 0.95 and np.mean(m["mlp_seen"]) >= 0.95,
          "both taggers fit the training positions")
    claim(np.min(m["rnn_unseen"]) >= 0.95,
          "the RNN detects the pair at every unseen position with accuracy at least 0.95")
    claim(round(float(np.mean(m["mlp_unseen"])), 1) == 0.5,
          "the MLP sits at chance, 0.5, at the positions it never saw")
    claim((m["rnn_params"], m["mlp_params"]) == (402, 2616), "402 and 2616 parameters")
    gap, start = np.asarray(m["gap"]), m["start"]
    claim(np.all(gap[:start] < 1e-12), "identical inputs before the pair give identical states")
    peak = gap[start + 1]
    claim(gap[start] > 0.5 and peak == gap.max(), "the pair sends the runs apart")
    claim(gap[start + 5] < 0.05 * peak,
          "the difference falls to a few percent of its peak within four steps")
    claim(gap[-1] > 1e-3, "the difference does not become exactly zero")
    claim(m["fire"][0] > 0.9 and m["fire"][1] < 0.1, "the A B run fires, the B A run does not")


# ------------------------------------------------------------------------------ figures


def plot_accuracy_by_position(by_position: dict[str, np.ndarray], train_starts: np.ndarray):
    """Accuracy at the pair's step against its start position, one line per model."""
    import matplotlib.pyplot as plt

    positions = np.arange(len(next(iter(by_position.values()))))
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.axvspan(-0.5, train_starts[-1] + 0.5, color="tab:green", alpha=0.12,
               label="start positions seen in training")
    for (name, acc), marker in zip(by_position.items(), ["o", "s"]):
        ax.plot(positions, acc, marker + "-", label=name)
    ax.axhline(0.5, color="gray", linestyle=":", label="chance (never fires)")
    ax.set_title(f"Detecting the pair A B at each position, trained on positions "
                 f"{train_starts[0]}-{train_starts[-1]} only")
    ax.set_xlabel("start position of the pair in the sequence (step)")
    ax.set_ylabel("test accuracy at the pair's step")
    ax.set_ylim(0.3, 1.05)
    ax.set_xticks(positions[::2])
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def plot_state_paths(pair_states: np.ndarray, cloud_states: np.ndarray, start: int):
    """Left: h_t(A B) - h_t(B A) per unit and step; right: both runs in the top two PCs.

    pair_states (2, T, H): the A B run and its B A twin; cloud_states (M, T, H): other runs,
    drawn as the background; start: the pair's first position (0-based).
    """
    import matplotlib.pyplot as plt

    T, H = pair_states.shape[1:]
    both, explained = project_2d(np.concatenate([cloud_states, pair_states]))
    cloud_2d, pair_2d = both[:-2], both[-2:]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.25, 1]})
    image = axes[0].imshow((pair_states[0] - pair_states[1]).T, aspect="auto", cmap="coolwarm",
                           vmin=-2, vmax=2, extent=(0.5, T + 0.5, H - 0.5, -0.5))
    axes[0].axvspan(start + 0.5, start + 2.5, fill=False, edgecolor="black", linestyle="--",
                    label=f"the pair (steps {start + 1}-{start + 2})")
    axes[0].set_title("Difference of the two runs: $h_t$(A B) $-$ $h_t$(B A)")
    axes[0].set_xlabel("time step t")
    axes[0].set_ylabel("hidden unit")
    axes[0].set_xticks(range(1, T + 1, 2))
    axes[0].legend(fontsize=8, loc="lower left")
    fig.colorbar(image, ax=axes[0], label="difference in activation")

    axes[1].scatter(*cloud_2d.reshape(-1, 2).T, s=2, color="lightgray",
                    label=f"states of {len(cloud_states)} test runs")
    axes[1].plot(*pair_2d[0, start - 3:start].T, "o-", color="black", markersize=3,
                 label=f"both runs, steps {start - 2}-{start}")
    for k, (label, color) in enumerate([("A B", "tab:red"), ("B A", "tab:blue")]):
        path = pair_2d[k, start - 1:]  # from the last shared state, step `start`, to step T
        axes[1].plot(*path.T, "o-", color=color, markersize=3, linewidth=1,
                     label=f"{label}, steps {start + 1}-{T}")
        axes[1].plot(*pair_2d[k, start + 1], "*", color=color, markersize=14)
        axes[1].annotate(f"step {start + 2}", pair_2d[k, start + 1], textcoords="offset points",
                         xytext=(6, 6), fontsize=8, color=color)
    axes[1].set_title("The same two runs in the top two principal components")
    axes[1].set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    axes[1].set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
