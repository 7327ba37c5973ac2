"""One converter between torch modules and the course's parameter tuples.

The course writes every cell with row vectors, ``a = x Wx + h Wh + b`` (book/notation.md), so a
torch module's weights map in by transposition:

    rnn, lstm:  Wx = weight_ih.T (D, G*H)   Wh = weight_hh.T (H, G*H)   b = bias_ih + bias_hh (G*H,)
    gru:        Wx = weight_ih.T            Wh = weight_hh.T            bx = bias_ih, bh = bias_hh

with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: r, z, n), the gate order of torch.nn.
The GRU keeps its two biases apart because its reset gate multiplies h Wh + bh only.

Modules accepted: torch.nn's and minirnn.torch's ``RNN``, ``LSTM``, ``GRU`` (a list with one tuple
per layer and direction, in torch.nn's order: entry k = layer * num_directions + direction, as
``minirnn.numpy.multilayer_forward`` takes them) and ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one
tuple). ``bias=False`` modules give zero biases; ``proj_size`` is not supported.

    from_torch(module)            course tuples (NumPy float64 by default, or torch tensors)
    grads_from_torch(module)      the module's .grad in the same layout
    load_params(params, module)   the inverse of from_torch, in place (into any such module)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

CELL_KINDS = ("RNNCell", "LSTMCell", "GRUCell")
LAYER_KINDS = ("RNN", "LSTM", "GRU")


def _kind(module: object) -> str:
    """'RNN', 'LSTM', 'GRU' or the cell names, for torch.nn's modules and minirnn.torch's."""
    for klass in type(module).__mro__:
        if klass.__name__ in CELL_KINDS + LAYER_KINDS and issubclass(klass, nn.Module):
            return klass.__name__
    raise TypeError("module: expected an RNN, LSTM or GRU layer or cell (torch.nn or "
                    f"minirnn.torch), got {type(module).__name__}")


def _suffixes(module: nn.Module, kind: str) -> list[str]:
    """Parameter-name suffixes, one per (layer, direction): '' (cell), '_l0', '_l0_reverse'..."""
    if kind in CELL_KINDS:
        return [""]
    if getattr(module, "proj_size", 0):
        raise ValueError(f"module: proj_size={module.proj_size} is not supported (only 0)")
    directions = ("", "_reverse") if module.bidirectional else ("",)
    return [f"_l{layer}{d}" for layer in range(module.num_layers) for d in directions]


def _collect(module: nn.Module, pick, dtype: Any) -> list[tuple]:
    """Tuples of (Wx, Wh, b) or GRU (Wx, Wh, bx, bh) built from pick(parameter) tensors."""
    kind = _kind(module)
    gru = kind.startswith("GRU")
    tuples = []
    for sfx in _suffixes(module, kind):
        w_ih = pick(getattr(module, "weight_ih" + sfx))
        w_hh = pick(getattr(module, "weight_hh" + sfx))
        b_ih, b_hh = getattr(module, "bias_ih" + sfx, None), getattr(module, "bias_hh" + sfx, None)
        if b_ih is None:  # bias=False: the course's functions take explicit zero biases
            b_ih = b_hh = torch.zeros(w_ih.shape[0], dtype=w_ih.dtype, device=w_ih.device)
        else:
            b_ih, b_hh = pick(b_ih), pick(b_hh)
        Wx, Wh = w_ih.T, w_hh.T
        tuples.append((Wx, Wh, b_ih, b_hh) if gru else (Wx, Wh, b_ih + b_hh))
    return [tuple(_as(t, dtype) for t in group) for group in tuples]


def _as(t: torch.Tensor, dtype: Any) -> np.ndarray | torch.Tensor:
    """A detached copy as torch tensor (dtype a torch.dtype) or contiguous NumPy array."""
    if isinstance(dtype, torch.dtype):
        return t.detach().to(dtype).contiguous().clone()
    return np.ascontiguousarray(t.detach().cpu().double().numpy(), dtype=dtype)


def _one_or_list(module: nn.Module, tuples: list[tuple]) -> tuple | list[tuple]:
    return tuples[0] if _kind(module) in CELL_KINDS else tuples


def from_torch(module: nn.Module, dtype: Any = np.float64) -> tuple | list[tuple]:
    """The course's parameters of a torch module.

    dtype: a NumPy dtype (arrays, default float64) or a torch dtype (detached tensors on the
    module's device, e.g. torch.float64 for autograd experiments in double precision).
    Returns one tuple for a cell, else a list with one tuple per (layer, direction).
    """
    return _one_or_list(module, _collect(module, lambda p: p, dtype))


def grads_from_torch(module: nn.Module, dtype: Any = np.float64) -> tuple | list[tuple]:
    """The module's parameter gradients (.grad) in from_torch's layout.

    b = bias_ih + bias_hh, so dL/db equals the gradient of either bias; it is read from bias_ih.
    Raises ValueError when a parameter has no gradient yet (no backward pass ran).
    """
    def grad(p: torch.Tensor) -> torch.Tensor:
        if p.grad is None:
            raise ValueError("module: a parameter has no .grad; run a backward pass first")
        return p.grad

    kind = _kind(module)
    tuples = []
    for group in _collect(module, grad, dtype):
        # _collect summed the two bias gradients for rnn/lstm; each bias alone carries dL/db.
        tuples.append(group if kind.startswith("GRU") else (*group[:2], group[2] / 2))
    return _one_or_list(module, tuples)


def load_params(params: tuple | list[tuple], module: nn.Module) -> nn.Module:
    """Copy course parameters into a torch module, in place (the inverse of from_torch).

    For rnn/lstm the single bias b goes to bias_ih and bias_hh is zeroed (their sum is what the
    cell uses). A bias=False module accepts only zero biases. Shapes are checked against the
    module's; dtype and device follow the module. Returns the module.
    """
    kind = _kind(module)
    groups = [params] if kind in CELL_KINDS else list(params)
    suffixes = _suffixes(module, kind)
    if len(groups) != len(suffixes):
        raise ValueError(f"params: expected {len(suffixes)} tuple(s) for this {kind} "
                         f"(layers x directions), got {len(groups)}")
    width = 4 if kind.startswith("GRU") else 3
    with torch.no_grad():
        for k, (group, sfx) in enumerate(zip(groups, suffixes)):
            if len(group) != width:
                raise ValueError(f"params[{k}]: expected {width} arrays for {kind}, "
                                 f"got {len(group)}")
            w_ih, w_hh = (getattr(module, name + sfx) for name in ("weight_ih", "weight_hh"))
            b_ih, b_hh = (getattr(module, name + sfx, None) for name in ("bias_ih", "bias_hh"))
            biases = group[2:] if width == 4 else (group[2], np.zeros_like(np.asarray(group[2])))
            names = ("Wx", "Wh", "bx", "bh") if width == 4 else ("Wx", "Wh", "b")
            for name, value, expected in zip(names[:2], group[:2], (w_ih.T.shape, w_hh.T.shape)):
                _check_shape(k, name, value, tuple(expected))
            for name, value in zip(names[2:], group[2:]):
                _check_shape(k, name, value, (w_ih.shape[0],))
            w_ih.copy_(_tensor(group[0], w_ih).T)
            w_hh.copy_(_tensor(group[1], w_hh).T)
            if b_ih is None:
                if any(np.any(np.asarray(_numpy(b)) != 0) for b in group[2:]):
                    raise ValueError(f"params[{k}]: nonzero bias for a module with bias=False")
                continue
            b_ih.copy_(_tensor(biases[0], b_ih))
            b_hh.copy_(_tensor(biases[1], b_hh))
    return module


def _numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _tensor(value: Any, like: torch.Tensor) -> torch.Tensor:
    t = value.detach() if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))
    return t.to(dtype=like.dtype, device=like.device)


def _check_shape(k: int, name: str, value: Any, expected: tuple[int, ...]) -> None:
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    if shape != expected:
        raise ValueError(f"params[{k}] {name}: expected shape {expected}, got {shape}")
