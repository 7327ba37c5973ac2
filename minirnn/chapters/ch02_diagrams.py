"""Diagrams of the five input/output architectures, drawn with matplotlib (chapter 2).

Each architecture is a layout: which time steps have an input box (bottom row), a hidden box
(middle row) and an output box (top row). `architecture_layout` computes it and `draw_architecture`
draws it, so a test can check the layout without looking at pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

ARCHITECTURES = ("one_to_one", "one_to_many", "many_to_one", "seq2seq", "synced")

TITLES = {
    "one_to_one": "one-to-one",
    "one_to_many": "one-to-many",
    "many_to_one": "many-to-one",
    "seq2seq": "many-to-many (seq2seq)",
    "synced": "many-to-many (synced)",
}

# Colours for input, hidden and output boxes (the usual red / green / blue of RNN diagrams).
COLOURS = {"input": "#f4b6b6", "hidden": "#b9e4b0", "output": "#b4cdf0"}


@dataclass(frozen=True)
class Layout:
    """Time steps (columns) that carry an input, a hidden state and an output box."""

    kind: str
    inputs: tuple[int, ...]
    hidden: tuple[int, ...]
    outputs: tuple[int, ...]


def architecture_layout(kind: str, n_in: int = 3, n_out: int = 3) -> Layout:
    """The boxes of one architecture.

    Inputs:
    - kind: one of ARCHITECTURES.
    - n_in: number of input steps (ignored by one_to_one and one_to_many, which read one).
    - n_out: number of output steps (ignored by one_to_one and many_to_one, which write one).

    Returns a Layout whose tuples list the columns (0, 1, ...) holding each kind of box.
    """
    if kind not in ARCHITECTURES:
        raise ValueError(f"kind: expected one of {ARCHITECTURES}, got {kind!r}")
    if n_in < 1 or n_out < 1:
        raise ValueError(f"n_in, n_out: expected at least 1 each, got {n_in}, {n_out}")
    if kind == "one_to_one":
        return Layout(kind, (0,), (0,), (0,))
    if kind == "one_to_many":
        steps = tuple(range(n_out))
        return Layout(kind, (0,), steps, steps)
    if kind == "many_to_one":
        steps = tuple(range(n_in))
        return Layout(kind, steps, steps, (n_in - 1,))
    if kind == "synced":
        steps = tuple(range(n_in))
        return Layout(kind, steps, steps, steps)
    # seq2seq: the encoder reads n_in steps, then the decoder writes n_out steps.
    return Layout(
        kind,
        tuple(range(n_in)),
        tuple(range(n_in + n_out)),
        tuple(range(n_in, n_in + n_out)),
    )


def draw_architecture(ax, kind: str, n_in: int = 3, n_out: int = 3) -> Layout:
    """Draw one architecture into a matplotlib Axes and return its layout."""
    from matplotlib.patches import FancyBboxPatch

    layout = architecture_layout(kind, n_in, n_out)
    rows = {"input": 0.0, "hidden": 1.2, "output": 2.4}
    size = 0.7

    def box(col: int, row: str) -> None:
        ax.add_patch(FancyBboxPatch(
            (col - size / 2, rows[row] - size / 2), size, size,
            boxstyle="round,pad=0.02", facecolor=COLOURS[row], edgecolor="black", linewidth=1,
        ))

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "linewidth": 1.2})

    for col in layout.inputs:
        box(col, "input")
        arrow(col, rows["input"] + size / 2, col, rows["hidden"] - size / 2)
    for col in layout.hidden:
        box(col, "hidden")
        if col + 1 in layout.hidden:  # the recurrence: the state passes to the next step
            arrow(col + size / 2, rows["hidden"], col + 1 - size / 2, rows["hidden"])
    for col in layout.outputs:
        box(col, "output")
        arrow(col, rows["hidden"] + size / 2, col, rows["output"] - size / 2)
    if kind == "seq2seq":  # mark where reading ends and writing begins
        boundary = len(layout.inputs) - 0.5
        ax.axvline(boundary, color="gray", linestyle=":", linewidth=1)
        ax.text(boundary - 0.1, -0.75, "encoder", ha="right", fontsize=8)
        ax.text(boundary + 0.1, -0.75, "decoder", ha="left", fontsize=8)

    width = max(layout.hidden) + 1
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-1.0, 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(TITLES[kind], fontsize=10)
    return layout
