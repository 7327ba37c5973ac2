"""PyTorch code of the bug gallery (A8): each function holds one planted bug in the handout.

Weights come as dicts of NumPy arrays under torch's names (``weight_ih_l0`` (H, D),
``weight_hh_l0`` (H, H), ``bias_ih_l0``, ``bias_hh_l0`` (H,), ``..._reverse`` for the backward
direction, ``head_weight`` (1, H) and ``head_bias`` (1,) for a linear read-out); everything
runs in float64 and returns NumPy arrays. Shapes: N sequences, T steps, D features, H units.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

RNN_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def rnn_module(params: dict, bidirectional: bool = False) -> torch.nn.RNN:
    """A float64 tanh torch.nn.RNN holding params (bias on, one layer, batch-major input)."""
    if not isinstance(params, dict) or "weight_ih_l0" not in params:
        raise ValueError("params: expected a dict of arrays with 'weight_ih_l0', got "
                         f"{type(params).__name__}")
    H, D = params["weight_ih_l0"].shape
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=bidirectional).double()
    keys = RNN_KEYS + tuple(k + "_reverse" for k in RNN_KEYS) * bidirectional
    rnn.load_state_dict({k: torch.from_numpy(np.asarray(params[k], np.float64)) for k in keys})
    return rnn


def _head(params: dict) -> torch.nn.Linear:
    head = torch.nn.Linear(params["head_weight"].shape[1], 1).double()
    head.load_state_dict({"weight": torch.from_numpy(params["head_weight"]),
                          "bias": torch.from_numpy(params["head_bias"])})
    return head


def _tensor(x: np.ndarray, name: str, ndim: int) -> torch.Tensor:
    if not isinstance(x, np.ndarray) or x.ndim != ndim:
        got = getattr(x, "shape", type(x).__name__)
        raise ValueError(f"{name}: expected a {ndim}-d NumPy array, got {got}")
    return torch.from_numpy(np.asarray(x, np.float64))


def tbptt_gradients(params: dict, x: np.ndarray, y: np.ndarray, chunk: int,
                    on_chunk: Callable[[], None] | None = None) -> dict:
    """Truncated-BPTT gradients of a regression RNN, summed over the chunks of one batch.

    x (N, T, D), y (N, T) targets, read out by the head at every step (mean squared error per
    chunk). The state flows from chunk to chunk, the gradient stops at each chunk's start (k1 =
    k2 = chunk, chapter 8). `on_chunk()` is called after each chunk's backward pass (to measure
    memory). Returns the gradients as arrays under the params' names.
    """
    rnn, head = rnn_module(params), _head(params)
    x, y = _tensor(x, "x", 3), _tensor(y, "y", 2)
    h = None
    for start in range(0, x.shape[1], chunk):
        # BEGIN SOLUTION
        if h is not None:
            h = h.detach()  # the chunk's graph starts here: earlier chunks are done with
        # END SOLUTION
        # BEGIN BUG
        # END BUG
        out, h = rnn(x[:, start:start + chunk], h)
        loss = ((head(out).squeeze(-1) - y[:, start:start + chunk]) ** 2).mean()
        # BEGIN SOLUTION
        loss.backward()
        # END SOLUTION
        # BEGIN BUG
        # loss.backward(retain_graph=True)
        # END BUG
        if on_chunk is not None:
            on_chunk()
    grads = {k: p.grad for k, p in rnn.named_parameters()}
    grads.update(head_weight=head.weight.grad, head_bias=head.bias.grad)
    return {k: g.numpy().copy() for k, g in grads.items()}


def encode_each(params: dict, sequences: list[np.ndarray]) -> np.ndarray:
    """The final state (H,) of each of several independent sequences (T_k, D), stacked (K, H):
    each starts from the zero state (chapter 3)."""
    rnn = rnn_module(params)
    h, finals = None, []
    for k, seq in enumerate(sequences):
        seq = _tensor(seq, f"sequences[{k}]", 2)
        # BEGIN SOLUTION
        h = None  # an independent sequence: nothing of the previous one may leak in
        # END SOLUTION
        # BEGIN BUG
        # END BUG
        with torch.no_grad():
            _, h = rnn(seq[None], h)
        finals.append(h[0, 0].numpy().copy())
    return np.stack(finals)


def lstm_from_cs231n(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> dict:
    """torch.nn.LSTM's state dict (arrays) from CS231n-layout weights (chapter 12).

    Wx (D, 4H), Wh (H, 4H), b (4H,) multiply row vectors and stack the gates i, f, o, g along
    the last axis; torch stacks i, f, g, o along the rows of weight_ih_l0 (4H, D) and
    weight_hh_l0 (4H, H), and adds two biases (the second set to zero here).
    """
    H = Wh.shape[0]
    if Wx.shape[1] != 4 * H or b.shape != (4 * H,):
        raise ValueError(f"Wx, b: expected (D, {4 * H}) and ({4 * H},), got {Wx.shape}, {b.shape}")
    # BEGIN SOLUTION
    order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]  # i, f, o, g  ->  i, f, g, o
    # END SOLUTION
    # BEGIN BUG
    # order = np.arange(4 * H)
    # END BUG
    return {"weight_ih_l0": Wx[:, order].T.copy(), "weight_hh_l0": Wh[:, order].T.copy(),
            "bias_ih_l0": b[order].copy(), "bias_hh_l0": np.zeros(4 * H)}


def final_states(params: dict, x: np.ndarray) -> np.ndarray:
    """The final state (N, H) of a tanh RNN over a batch-major x (N, T, D) (chapter 3)."""
    x = _tensor(x, "x", 3)
    H, D = params["weight_ih_l0"].shape
    # BEGIN SOLUTION
    rnn = torch.nn.RNN(D, H, batch_first=True).double()
    # END SOLUTION
    # BEGIN BUG
    # rnn = torch.nn.RNN(D, H).double()
    # END BUG
    rnn.load_state_dict(rnn_module(params).state_dict())
    with torch.no_grad():
        _, h_n = rnn(x)
    return h_n[0].numpy().copy()


def clipped_sgd_step(params: dict, x: np.ndarray, y: np.ndarray, lr: float,
                     max_norm: float) -> tuple[dict, float]:
    """One SGD step of the regression RNN of tbptt_gradients (whole sequence), its gradients
    clipped to global norm max_norm first (chapter 11). Returns (new params, the gradients'
    norm before clipping)."""
    rnn, head = rnn_module(params), _head(params)
    x, y = _tensor(x, "x", 3), _tensor(y, "y", 2)
    weights = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(weights, lr=lr)
    out, _ = rnn(x)
    mse = ((head(out).squeeze(-1) - y) ** 2).mean()
    optimizer.zero_grad()
    mse.backward()
    # BEGIN SOLUTION
    norm = torch.nn.utils.clip_grad_norm_(weights, max_norm)
    optimizer.step()
    # END SOLUTION
    # BEGIN BUG
    # optimizer.step()
    # norm = torch.nn.utils.clip_grad_norm_(weights, max_norm)
    # END BUG
    new = {k: p.detach().numpy().copy() for k, p in rnn.named_parameters()}
    new.update(head_weight=head.weight.detach().numpy().copy(),
               head_bias=head.bias.detach().numpy().copy())
    return new, float(norm)


def bidirectional_summary(params: dict, x: np.ndarray) -> np.ndarray:
    """One vector (N, 2H) per sequence of x (N, T, D) from a bidirectional tanh RNN: each
    direction's state after it has read the whole sequence (chapter 13)."""
    rnn = rnn_module(params, bidirectional=True)
    H = params["weight_hh_l0"].shape[0]
    with torch.no_grad():
        out, _ = rnn(_tensor(x, "x", 3))  # (N, T, 2H): forward half, then backward half
    # BEGIN SOLUTION
    summary = torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1)  # the backward half ends at 0
    # END SOLUTION
    # BEGIN BUG
    # summary = out[:, -1]
    # END BUG
    return summary.numpy().copy()
