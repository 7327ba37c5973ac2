"""Chapter 4: the unrolled graph, the per-step losses, and masking for padded batches.

- `unrolled_graph` lists the nodes and edges of a vanilla RNN unrolled for T steps, and
  `draw_unrolled` draws it with matplotlib;
- `autograd_op_counts` counts the operations autograd recorded for a loss, to show that the
  unrolled graph is what a framework really builds;
- `token_weights` and `weighted_softmax_loss` make the three usual ways of reducing per-step
  losses to one number explicit;
- `MaskedCharRNN` is a small NumPy character model that handles right-padded batches with
  `lengths` and a loss mask, so that a padded batch can be compared with its sequences alone.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from minirnn.numpy import (
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    word_embedding_backward,
    word_embedding_forward,
)

IGNORE_INDEX = -100  # a target that is not predicted (padding), as in torch's cross_entropy
REDUCTIONS = ("sum", "token_mean", "sequence_mean")

# ------------------------------------------------------------------------------ the graph


def unrolled_graph(T: int) -> dict:
    """Nodes and edges of a vanilla RNN with a loss at every step, unrolled for T steps.

    Nodes: h0, x_t, h_t, y_t (scores), L_t for t = 1..T, and the total loss L.
    Edges: (source, target, weight) with weight "W_x" (x_t -> h_t), "W_h" (h_{t-1} -> h_t),
    "W_y" (h_t -> y_t), or None for the loss edges (y_t -> L_t and L_t -> L).

    Returns {"nodes": {name: (column, row)}, "edges": [(source, target, weight), ...]}:
    4T + 2 nodes and 5T edges; each weight labels exactly T edges.
    """
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T: expected a positive integer number of steps, got {T!r}")
    nodes = {"h0": (0, 1), "L": (T + 1, 4)}
    edges = []
    for t in range(1, T + 1):
        nodes |= {f"x{t}": (t, 0), f"h{t}": (t, 1), f"y{t}": (t, 2), f"L{t}": (t, 3)}
        edges += [
            (f"x{t}", f"h{t}", "W_x"),
            ("h0" if t == 1 else f"h{t - 1}", f"h{t}", "W_h"),
            (f"h{t}", f"y{t}", "W_y"),
            (f"y{t}", f"L{t}", None),
            (f"L{t}", "L", None),
        ]
    return {"nodes": nodes, "edges": edges}


WEIGHT_COLOURS = {"W_x": "tab:blue", "W_h": "tab:red", "W_y": "tab:green", None: "0.35"}
_NODE_STYLE = {"x": "#dce9f7", "h": "#f9dcdc", "y": "#dff2df", "L": "#f2ecd9"}


def _node_label(name: str) -> str:
    if name == "L":
        return r"$\mathcal{L}$"
    if name == "h0":
        return "$h_0$"
    return f"${name[0]}_{{{name[1:]}}}$"


def draw_unrolled(ax, T: int, title: str | None = None) -> dict:
    """Draw `unrolled_graph(T)` on a matplotlib axis, one column per step; returns the graph.

    Arrows are coloured by the shared weight they apply, so that the T uses of W_h are
    visibly the same matrix.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    graph = unrolled_graph(T)
    nodes = graph["nodes"]
    ys = {0: 0.0, 1: 1.2, 2: 2.4, 3: 3.6, 4: 4.6}
    pos = {name: (col * 1.3, ys[row]) for name, (col, row) in nodes.items()}
    pos["L"] = ((T + 1) * 1.3 / 2, ys[4])
    for src, dst, weight in graph["edges"]:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        arrow = FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10,
                                color=WEIGHT_COLOURS[weight], linewidth=1.6 if weight else 0.8,
                                shrinkA=13, shrinkB=13, zorder=1)
        ax.add_patch(arrow)
        if weight == "W_h":
            ax.text((x0 + x1) / 2, y0 + 0.12, "$W_h$", color=WEIGHT_COLOURS[weight],
                    ha="center", va="bottom", fontsize=8)
        elif weight is not None:
            ax.text(x0 + 0.07, (y0 + y1) / 2, f"${weight[0]}_{weight[2]}$", ha="left",
                    va="center", fontsize=8, color=WEIGHT_COLOURS[weight])
    for name, (x, y) in pos.items():
        box = FancyBboxPatch((x - 0.3, y - 0.22), 0.6, 0.44, boxstyle="round,pad=0.02",
                             facecolor=_NODE_STYLE[name[0]], edgecolor="0.3", zorder=2)
        ax.add_patch(box)
        ax.text(x, y, _node_label(name), ha="center", va="center", fontsize=10, zorder=3)
    ax.set_xlim(-0.6, T * 1.3 + 0.6)
    ax.set_ylim(-0.5, ys[4] + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return graph


def draw_folded(ax, title: str | None = None) -> None:
    """Draw the folded (looped) RNN: x_t -> h_t -> y_t -> L_t, with h feeding back through W_h."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    ys = {"x": 0.0, "h": 1.2, "y": 2.4, "L": 3.6}
    for (src, dst), weight in zip([("x", "h"), ("h", "y"), ("y", "L")], ["W_x", "W_y", None]):
        ax.add_patch(FancyArrowPatch((0, ys[src]), (0, ys[dst]), arrowstyle="-|>",
                                     mutation_scale=10, color=WEIGHT_COLOURS[weight],
                                     linewidth=1.6 if weight else 0.8, shrinkA=13, shrinkB=13))
        if weight:
            ax.text(-0.07, (ys[src] + ys[dst]) / 2, f"${weight[0]}_{weight[2]}$", fontsize=8,
                    va="center", ha="right", color=WEIGHT_COLOURS[weight])
    y = ys["h"]  # the loop leaves h_t at the bottom and re-enters it at the top
    corners = [(0.18, y - 0.22), (0.18, y - 0.45), (0.8, y - 0.45), (0.8, y + 0.45),
               (0.18, y + 0.45), (0.18, y + 0.22)]
    loop = FancyArrowPatch(path=Path(corners), arrowstyle="-|>", mutation_scale=10,
                           color=WEIGHT_COLOURS["W_h"], linewidth=1.6)
    ax.add_patch(loop)
    ax.text(0.88, y, "$W_h$\n$h_{t-1} \\to h_t$", color=WEIGHT_COLOURS["W_h"], fontsize=8,
            va="center")
    for name, y in ys.items():
        ax.add_patch(FancyBboxPatch((-0.3, y - 0.22), 0.6, 0.44, boxstyle="round,pad=0.02",
                                    facecolor=_NODE_STYLE[name], edgecolor="0.3", zorder=2))
        label = r"$\mathcal{L}_t$" if name == "L" else f"${name}_t$"
        ax.text(0, y, label, ha="center", va="center", fontsize=10, zorder=3)
    ax.set_xlim(-0.7, 1.7)
    ax.set_ylim(-0.5, 4.6 + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)


def autograd_op_counts(output) -> dict[str, int]:
    """Count the nodes of the autograd graph behind a torch tensor, by node type.

    Walks output.grad_fn and everything it points to, each node once. Leaves that receive
    a gradient show up as "AccumulateGrad", one per parameter however often it is used.
    Returns {node type name: count}, sorted by name.
    """
    root = getattr(output, "grad_fn", None)
    if root is None:
        raise ValueError("output: expected a tensor with a grad_fn (computed from a tensor "
                         "that requires grad), got one without")
    seen, stack, counts = set(), [root], Counter()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        counts[type(node).__name__] += 1
        stack.extend(next_node for next_node, _ in node.next_functions)
    return dict(sorted(counts.items()))


def saved_tensor_bytes(fn) -> tuple[object, int, int]:
    """Run fn() and measure what autograd keeps for the backward pass while it runs.

    Returns (fn's result, number of tensors saved, bytes held by them). The bytes count each
    underlying storage once: a weight matrix saved by every step is held only once, while the
    per-step activations are new storages at every step.
    """
    import torch

    count, storages = 0, {}

    def pack(tensor):
        nonlocal count
        count += 1
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = fn()
    return result, count, sum(storages.values())


# ------------------------------------------------------------------------------ the loss


def length_mask(lengths: np.ndarray | list[int], T: int) -> np.ndarray:
    """Boolean mask (N, T), True at the real steps t < lengths[n] of a right-padded batch."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths: expected a 1-D integer array, got {lengths!r}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"lengths: expected values in [1, {T}], "
                         f"got [{lengths.min()}, {lengths.max()}]")
    return np.arange(T)[None, :] < lengths[:, None]


def token_weights(mask: np.ndarray, reduction: str) -> np.ndarray:
    """The weight each step's loss gets in the scalar loss, shape (N, T) like mask.

    - "sum": summed over steps, averaged over the N sequences (the course's convention,
      CS231n's): every real token weighs 1 / N.
    - "token_mean": the mean over all real tokens of the batch: every one weighs
      1 / (number of real tokens).
    - "sequence_mean": each sequence's mean over its own tokens, then the mean over sequences:
      a token of sequence n weighs 1 / (N * length_n), so short sequences' tokens weigh more.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != bool:
        raise ValueError(f"mask: expected a (N, T) boolean array, got shape {mask.shape} "
                         f"dtype {mask.dtype}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    N = mask.shape[0]
    m = mask.astype(np.float64)
    if reduction == "sum":
        return m / N
    if reduction == "token_mean":
        return m / m.sum()
    lengths = m.sum(axis=1, keepdims=True)
    if np.any(lengths == 0):
        raise ValueError("mask: every sequence needs at least one real step for 'sequence_mean'")
    return m / (N * lengths)


def per_step_losses(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy -log softmax(scores[n, t])[y[n, t]] at every step: (N, T, V), (N, T) -> (N, T).

    Targets equal to IGNORE_INDEX get loss 0.
    """
    N, T, V = scores.shape
    if y.shape != (N, T):
        raise ValueError(f"y: expected shape {(N, T)} to match scores, got {y.shape}")
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    safe_y = np.where(y == IGNORE_INDEX, 0, y)
    losses = -np.take_along_axis(log_probs, safe_y[..., None], axis=-1)[..., 0]
    return np.where(y == IGNORE_INDEX, 0.0, losses)


def weighted_softmax_loss(scores: np.ndarray, y: np.ndarray,
                          weights: np.ndarray) -> tuple[float, np.ndarray]:
    """sum_{n,t} weights[n, t] * cross-entropy at (n, t), and its gradient (N, T, V).

    scores (N, T, V); y (N, T) ids in [0, V) (or IGNORE_INDEX where weights is 0); weights (N, T).
    With weights = mask / N this is `minirnn.numpy.temporal_softmax_loss`.
    """
    if weights.shape != y.shape:
        raise ValueError(f"weights: expected shape {y.shape} to match y, got {weights.shape}")
    if np.any((y == IGNORE_INDEX) & (weights != 0)):
        raise ValueError("weights: a step with target IGNORE_INDEX must have weight 0")
    loss = float(np.sum(weights * per_step_losses(scores, y)))
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    N, T, V = scores.shape
    safe_y = np.where(y == IGNORE_INDEX, 0, y)
    probs[np.arange(N)[:, None], np.arange(T)[None, :], safe_y] -= 1.0
    return loss, probs * weights[..., None]


# ------------------------------------------------------------------------------ the model


class MaskedCharRNN:
    """Embedding -> vanilla RNN -> per-step scores, for right-padded batches.

    Parameters: W_embed (V, E), Wx (E, H), Wh (H, H), b (H,), W_out (H, V), b_out (V,).
    Inputs x (N, T) are token ids; targets y (N, T) are ids, or IGNORE_INDEX at padded steps.
    A padded batch must be right-padded: sequence n is real for t < lengths[n], where
    lengths[n] is the number of its targets that are not IGNORE_INDEX.
    """

    def __init__(self, V: int, H: int, E: int | None = None, seed: int = 0,
                 out_scale: float = 1.0):
        rng = np.random.default_rng(seed)
        E = E or H
        self.V, self.H, self.E = V, H, E
        self.params = {
            "W_embed": rng.normal(0.0, 1.0, (V, E)),
            "Wx": rng.normal(0.0, 1.0 / np.sqrt(E), (E, H)),
            "Wh": rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)),
            "b": np.zeros(H),
            "W_out": rng.normal(0.0, out_scale / np.sqrt(H), (H, V)),
            "b_out": np.zeros(V),
        }

    def _lengths(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if y.shape != x.shape:
            raise ValueError(f"y: expected shape {x.shape} to match x, got {y.shape}")
        mask = y != IGNORE_INDEX
        lengths = mask.sum(axis=1)
        if not np.array_equal(mask, length_mask(lengths, x.shape[1])):
            raise ValueError("y: expected right padding (IGNORE_INDEX only after the last "
                             "real target of each row)")
        return lengths

    def forward(self, x: np.ndarray, y: np.ndarray, use_lengths: bool = True):
        """Scores (N, T, V) and the caches; the RNN stops at each row's length if use_lengths."""
        p = self.params
        lengths = self._lengths(x, y) if use_lengths else None
        emb, emb_cache = word_embedding_forward(x, p["W_embed"])
        h0 = np.zeros((x.shape[0], self.H))
        h, rnn_cache = rnn_forward(emb, h0, p["Wx"], p["Wh"], p["b"], lengths=lengths)
        scores, out_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
        return scores, h, (emb_cache, rnn_cache, out_cache)

    def step_losses(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-step cross-entropy (N, T), 0 at padded steps."""
        return per_step_losses(self.forward(x, y)[0], y)

    def loss(self, x: np.ndarray, y: np.ndarray, reduction: str = "sum",
             use_lengths: bool = True, mask: np.ndarray | None = None):
        """Scalar loss and gradients (a dict like params).

        reduction: see `token_weights`; "sum" is the course's convention. mask: (N, T) boolean,
        default y != IGNORE_INDEX. use_lengths=False runs the RNN over the padding as if it
        were real input (the mask then still decides which steps count).
        """
        scores, _, (emb_cache, rnn_cache, out_cache) = self.forward(x, y, use_lengths)
        mask = (y != IGNORE_INDEX) if mask is None else mask
        loss, dscores = weighted_softmax_loss(scores, y, token_weights(mask, reduction))
        dh, dW_out, db_out = temporal_affine_backward(dscores, out_cache)
        demb, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        dW_embed = word_embedding_backward(demb, emb_cache)
        return loss, {"W_embed": dW_embed, "Wx": dWx, "Wh": dWh, "b": db,
                      "W_out": dW_out, "b_out": db_out}

    def final_states(self, x: np.ndarray, y: np.ndarray, use_lengths: bool = True) -> np.ndarray:
        """Each row's state (N, H) after its last real step (after step T if not use_lengths)."""
        _, h, _ = self.forward(x, y, use_lengths)
        last = self._lengths(x, y) - 1 if use_lengths else np.full(len(x), x.shape[1] - 1)
        return h[np.arange(len(x)), last]


def pad_sequences(inputs: list[np.ndarray], targets: list[np.ndarray],
                  pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad lists of 1-D id arrays to (N, T_max): inputs with pad_id, targets with
    IGNORE_INDEX."""
    if len(inputs) != len(targets) or not inputs:
        raise ValueError(f"inputs, targets: expected two non-empty lists of equal length, got "
                         f"{len(inputs)} and {len(targets)}")
    T = max(len(s) for s in inputs)
    x = np.full((len(inputs), T), pad_id, dtype=np.int64)
    y = np.full((len(inputs), T), IGNORE_INDEX, dtype=np.int64)
    for n, (xs, ys) in enumerate(zip(inputs, targets)):
        if len(xs) != len(ys):
            raise ValueError(f"targets[{n}]: expected length {len(xs)} like inputs[{n}], "
                             f"got {len(ys)}")
        x[n, : len(xs)], y[n, : len(ys)] = xs, ys
    return x, y
