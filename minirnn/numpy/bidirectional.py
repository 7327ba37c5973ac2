"""Bidirectional and stacked (multi-layer) recurrent layers over any of the three cells.

A cell is named by a string: "rnn" (= "rnn_tanh"), "rnn_relu", "lstm", "gru" or "diagonal"
(diagonal.py's small tanh RNN with a vector recurrent weight). Its weights are a tuple in the
order its sequence function takes them:

    rnn, lstm: (Wx, Wh, b)          gru: (Wx, Wh, bx, bh)          diagonal: (Wx, u, b)

Bidirectional: a second RNN reads each sequence backwards, and the two outputs are
concatenated along the feature axis, h = [h_forward, h_backward] of shape (N, T, 2H). With
`lengths`, the backward direction starts at each sequence's own last real step (not at the
padding), exactly like torch's packed sequences.

Stacked: layer l + 1 reads the outputs of layer l. Weights and initial states are listed as
torch.nn does: entry k = layer * num_directions + direction.

Every function here runs the reference cells by default; `fast=True` runs the BLAS-tuned ones
of minirnn.numpy.fast instead (same numbers; the cache then holds their caches).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.diagonal import diagonal_backward, diagonal_forward
from minirnn.numpy.gru import gru_backward, gru_forward
from minirnn.numpy.lstm import lstm_backward, lstm_forward
from minirnn.numpy.rnn import rnn_backward, rnn_forward

CELLS: dict[str, tuple[Callable, Callable]] = {
    "rnn": (rnn_forward, rnn_backward),
    "rnn_tanh": (rnn_forward, rnn_backward),
    "rnn_relu": (partial(rnn_forward, nonlinearity="relu"), rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
    "gru": (gru_forward, gru_backward),
    "diagonal": (diagonal_forward, diagonal_backward),
}

Params = tuple[np.ndarray, ...]


def _cell(cell: str, fast: bool = False) -> tuple[Callable, Callable]:
    """(forward, backward) of the cell: the reference, or minirnn.numpy.fast's with fast=True."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    if fast and cell != "diagonal":  # (the diagonal cell has no tuned version: it is small)
        # imported here: the assignments ship minirnn.numpy without the fast package
        try:
            from minirnn.numpy.fast import CELLS as FAST_CELLS
        except ModuleNotFoundError as error:
            raise ValueError("fast=True: this copy of minirnn.numpy has no fast package (the "
                             "assignments leave it out); use the reference, fast=False") from error

        return FAST_CELLS[cell]
    return CELLS[cell]


def reverse_index(lengths: np.ndarray | None, N: int, T: int) -> np.ndarray:
    """(N, T) time indices that reverse each sequence within its own length.

    Row n is [L-1, L-2, ..., 0, L, L+1, ..., T-1] with L = lengths[n]: the real steps are
    reversed and the padding stays at the end. Applying it twice gives the identity.
    """
    # BEGIN SOLUTION
    t = np.arange(T)[None, :]
    L = np.full((N, 1), T) if lengths is None else lengths[:, None]
    return np.where(t < L, L - 1 - t, t)
    # END SOLUTION


def _take_steps(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """a[n, index[n, t]] for an (N, T, ...) array."""
    return np.take_along_axis(a, index.reshape(*index.shape, *([1] * (a.ndim - 2))), axis=1)


def bidirectional_forward(
    x: np.ndarray,
    h0: np.ndarray,
    forward_params: Params,
    backward_params: Params,
    cell: str = "lstm",
    lengths: np.ndarray | list[int] | None = None,
    fast: bool = False,
) -> tuple[np.ndarray, dict]:
    """One bidirectional layer.

    Inputs:
    - x: (N, T, D) inputs.
    - h0: (2, N, H) initial states, h0[0] for the forward direction, h0[1] for the backward.
    - forward_params, backward_params: the cell's weights for each direction (see above).
    - cell: "rnn", "rnn_relu", "lstm" or "gru".
    - lengths: optional (N,) integers in [1, T] for a padded batch.
    - fast: run minirnn.numpy.fast's cells instead of the reference (same numbers).

    Returns (h, cache): h (N, T, 2H), forward outputs in h[..., :H], backward in h[..., H:].
    At step t the backward half has read x[n, t:lengths[n]]; its final state is h[n, 0, H:].
    Padded steps (t >= lengths[n]) output zeros in both halves.

    The cache is a dict (bidirectional_backward reads these entries; a cache built by hand to
    this layout works too):
    - "cell", "fast": the arguments of the same names;
    - "fwd": the cache of the forward direction's sequence function (run on x);
    - "bwd": the cache of the backward direction's one, run on each sequence reversed within
      its own length, x[n, index[n, t]];
    - "index": (N, T) reverse_index(lengths, N, T);
    - "H": the hidden size.
    """
    forward, _ = _cell(cell, fast)
    x = checks.Shapes().array("x", x, "N, T, D")
    N, T, _ = x.shape
    h0 = checks.Shapes().bind("x", N=N).array("h0", h0, "2, N, H")
    lengths = checks.lengths_array(lengths, N, T)

    # BEGIN SOLUTION
    h_fwd, cache_fwd = forward(x, h0[0], *forward_params, lengths=lengths)
    index = reverse_index(lengths, N, T)
    h_rev, cache_bwd = forward(_take_steps(x, index), h0[1], *backward_params, lengths=lengths)
    h = np.concatenate([h_fwd, _take_steps(h_rev, index)], axis=2)
    return h, dict(cell=cell, fast=fast, fwd=cache_fwd, bwd=cache_bwd, index=index,
                   H=h_fwd.shape[2])
    # END SOLUTION


def bidirectional_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, Params, Params]:
    """Backward pass of bidirectional_forward.

    Inputs:
    - dh: (N, T, 2H) gradient with respect to the concatenated outputs.
    - cache: from bidirectional_forward.

    Returns (dx, dh0, dforward_params, dbackward_params): dx (N, T, D), dh0 (2, N, H), and
    the gradients of each direction's weights in the order the weights were given.
    """
    _, backward = _cell(cache["cell"], cache["fast"])
    H, index = cache["H"], cache["index"]
    N, T = index.shape
    checks.Shapes().bind("the forward pass", N=N, T=T, H=H).array("dh", dh, "N, T, 2H")
    # BEGIN SOLUTION
    dx_f, dh0_f, *dparams_f = backward(dh[..., :H], cache["fwd"])
    dx_rev, dh0_b, *dparams_b = backward(_take_steps(dh[..., H:], index), cache["bwd"])
    dx = dx_f + _take_steps(dx_rev, index)
    return dx, np.stack([dh0_f, dh0_b]), tuple(dparams_f), tuple(dparams_b)
    # END SOLUTION


def multilayer_forward(
    x: np.ndarray,
    h0: np.ndarray,
    params: Sequence[Params],
    cell: str = "lstm",
    bidirectional: bool = False,
    lengths: np.ndarray | list[int] | None = None,
    fast: bool = False,
) -> tuple[np.ndarray, dict]:
    """A stack of recurrent layers, as torch.nn.RNN/LSTM/GRU(num_layers=L).

    Inputs:
    - x: (N, T, D) inputs.
    - h0: (L * dirs, N, H) initial states (dirs = 2 if bidirectional else 1).
    - params: L * dirs weight tuples; entry layer * dirs + direction. Layer 0 reads D
      features, every later layer reads dirs * H.
    - cell, lengths, fast: as in bidirectional_forward.

    Returns (h, cache): h (N, T, dirs * H), the outputs of the last layer.
    """
    forward, _ = _cell(cell, fast)
    dirs = 2 if bidirectional else 1
    x = checks.Shapes().array("x", x, "N, T, D")
    N, T, _ = x.shape
    if len(params) % dirs != 0 or not params:
        raise ValueError(f"params: expected a positive multiple of {dirs} weight tuples "
                         f"(layers * directions), got {len(params)}")
    num_layers = len(params) // dirs
    h0 = checks.Shapes().bind("x", N=N).bind("params", K=len(params)).array(
        "h0", h0, "K, N, H")

    caches = []
    out = x
    for layer in range(num_layers):
        if bidirectional:
            k = 2 * layer
            out, c = bidirectional_forward(out, h0[k : k + 2], params[k], params[k + 1],
                                           cell=cell, lengths=lengths, fast=fast)
        else:
            out, c = forward(out, h0[layer], *params[layer], lengths=lengths)
        caches.append(c)
    return out, dict(cell=cell, fast=fast, dirs=dirs, caches=caches)


def multilayer_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, list[Params]]:
    """Backward pass of multilayer_forward.

    Inputs:
    - dh: (N, T, dirs * H) gradient with respect to the last layer's outputs.
    - cache: from multilayer_forward.

    Returns (dx, dh0, dparams): dx (N, T, D), dh0 (L * dirs, N, H), and dparams listed like
    params (one tuple per layer and direction).
    """
    _, backward = _cell(cache["cell"], cache["fast"])
    dirs = cache["dirs"]
    dh0s: list[np.ndarray] = []
    dparams: list[Params] = []
    dout = dh
    for c in reversed(cache["caches"]):
        if dirs == 2:
            dout, dh0, dp_f, dp_b = bidirectional_backward(dout, c)
            dh0s[:0] = [dh0[0], dh0[1]]
            dparams[:0] = [dp_f, dp_b]
        else:
            dout, dh0, *dp = backward(dout, c)
            dh0s.insert(0, dh0)
            dparams.insert(0, tuple(dp))
    return dout, np.stack(dh0s), dparams
