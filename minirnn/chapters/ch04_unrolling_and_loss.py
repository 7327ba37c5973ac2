"""Chapter 4: Unrolling and the loss. The unrolled graph and what autograd records for it.

- `unrolled_graph` lists the nodes and edges of a vanilla RNN unrolled for T steps, and
  `draw_unrolled` / `draw_folded` draw it with matplotlib;
- `autograd_op_counts` counts the operations autograd recorded for a loss, to show that the
  unrolled graph is what a framework really builds (`minirnn.torch.memory.saved_tensor_bytes`
  measures the memory it keeps).

The chapter's losses and model live in the library, because later chapters use them too:
`minirnn.numpy.losses` (`length_mask`, `token_weights` with the three usual reductions of
per-step losses, `weighted_softmax_loss`) and `minirnn.numpy.models.MaskedCharRNN`, a small
NumPy character model that handles right-padded batches with `lengths` and a loss mask.
"""

from __future__ import annotations

import copy
from collections import Counter

import numpy as np

# ------------------------------------------------------------------------------ the graph


def unrolled_graph(T: int) -> dict:
    """Nodes and edges of a vanilla RNN with a loss at every step, unrolled for T steps.

    Nodes: h0, x_t, h_t, s_t (scores), L_t for t = 1..T, and the total loss L.
    Edges: (source, target, weight) with weight "W_x" (x_t -> h_t), "W_h" (h_{t-1} -> h_t),
    "W_y" (h_t -> s_t), or None for the loss edges (s_t -> L_t and L_t -> L).

    Returns {"nodes": {name: (column, row)}, "edges": [(source, target, weight), ...]}:
    4T + 2 nodes and 5T edges; each weight labels exactly T edges.
    """
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T: expected a positive integer number of steps, got {T!r}")
    nodes = {"h0": (0, 1), "L": (T + 1, 4)}
    edges = []
    for t in range(1, T + 1):
        nodes |= {f"x{t}": (t, 0), f"h{t}": (t, 1), f"s{t}": (t, 2), f"L{t}": (t, 3)}
        edges += [
            (f"x{t}", f"h{t}", "W_x"),
            ("h0" if t == 1 else f"h{t - 1}", f"h{t}", "W_h"),
            (f"h{t}", f"s{t}", "W_y"),
            (f"s{t}", f"L{t}", None),
            (f"L{t}", "L", None),
        ]
    return {"nodes": nodes, "edges": edges}


WEIGHT_COLOURS = {"W_x": "tab:blue", "W_h": "tab:red", "W_y": "tab:green", None: "0.35"}
_NODE_STYLE = {"x": "#dce9f7", "h": "#f9dcdc", "s": "#dff2df", "L": "#f2ecd9"}


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
    """Draw the folded (looped) RNN: x_t -> h_t -> s_t -> L_t, with h feeding back through W_h."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    ys = {"x": 0.0, "h": 1.2, "s": 2.4, "L": 3.6}
    for (src, dst), weight in zip([("x", "h"), ("h", "s"), ("s", "L")], ["W_x", "W_y", None]):
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


# ------------------------------------------------------------------------------ the loss


def parameter_change(model, x: np.ndarray, y: np.ndarray, reduction: str, optimizer,
                     steps: int = 1) -> float:
    """L2 norm of the change of all model.params after `steps` optimizer steps on the batch
    (x (N, T), y (N, T)) with `model.loss(x, y, reduction=reduction)`.

    Works on a copy: model and optimizer are left as they were. Comparing reductions with it
    shows which optimizers care about the loss's scale (SGD) and which do not (Adam).
    """
    if steps < 1:
        raise ValueError(f"steps: expected at least 1, got {steps}")
    model, optimizer = copy.deepcopy(model), copy.deepcopy(optimizer)
    start = {k: v.copy() for k, v in model.params.items()}
    for _ in range(steps):
        _, grads = model.loss(x, y, reduction=reduction)
        optimizer.step(model.params, grads)
    return float(np.sqrt(sum(np.sum((model.params[k] - start[k]) ** 2) for k in start)))


def first_letter_entropy(names: list[str]) -> float:
    """Entropy in nats of the first letters of `names`: the lowest expected loss of a model
    that must predict a name's first letter having seen nothing (only the start marker)."""
    if not names or any(not name for name in names):
        raise ValueError("names: expected a non-empty list of non-empty names")
    counts = np.array(list(Counter(name[0] for name in names).values()), dtype=float)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


# ------------------------------------------------------------------------------ claims


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements m (keys as the notebook names them);
    raises AssertionError naming the claim that fails."""
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 4 claim fails: {text}")

    claim(round(m["sgd_ratio"]) == m["T_update"], "SGD's step is T times larger for the sum")
    claim(abs(m["adam_ratio"] - 1) < 1e-3, "Adam's steps are the same for the sum and the mean")
    clip, sums, means = m["clip"], m["clip_sum"], m["clip_mean"]
    claim(sums[0] < clip < sums[-1] and round(sums[-1] / clip, 1) == 4.6,
          "a threshold of 5 leaves T = 4 alone and divides T = 256's gradient by 4.6")
    claim(max(means) < clip, "the per-token mean's gradient never reaches the threshold")
    claim(2.1 < m["counted_ratio"] < 2.3, "counting the padding gives about 2.2 times the loss")
    claim(m["counted_terms"] == 48 and m["real_terms"] == 23, "48 counted terms, 23 real tokens")
    claim(m["val_right"] < 2.3 < np.log(27), "the masked model learns (below 2.3 nats)")
    claim(abs(m["val_bug"] - m["val_right"]) < 0.1, "both models end equally good at names")
    claim(m["bug_reported"] < 0.7 * m["val_bug"], "the buggy loss reads over 30% too low")
    claim(abs(m["first_position"] - m["first_entropy"]) < 0.05,
          "the first letter's loss is the first letters' entropy")
    claim(m["first_entropy"] < np.log(27) - 0.2, "the first letter is far from a uniform guess")
    claim(0.35 < m["padded_share"] < 0.45, "about 40% of the validation array is padding")
