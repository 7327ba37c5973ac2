"""minirnn.numpy.fast against the reference minirnn.numpy in float64: outputs and every
gradient. Covers RNN (tanh, relu), LSTM and GRU; N = 1 and T = 1; ragged batches; bidirectional
and two-layer stacks through `fast=True`; float32; and property-based tests over random shapes
and lengths. The reference itself is pinned to torch by tests/test_numpy_torch_parity.py."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minirnn.numpy import (
    bidirectional_backward,
    bidirectional_forward,
    fast,
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    multilayer_backward,
    multilayer_forward,
    rel_error,
    rnn_backward,
    rnn_forward,
)

TOL = 1e-10  # the two paths differ only in the order of float64 additions
CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
REFERENCE = {
    "rnn_tanh": (rnn_forward, rnn_backward),
    "rnn_relu": (partial(rnn_forward, nonlinearity="relu"), rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
    "gru": (gru_forward, gru_backward),
}
FAST = {
    "rnn_tanh": (fast.rnn_forward, fast.rnn_backward),
    "rnn_relu": (partial(fast.rnn_forward, nonlinearity="relu"), fast.rnn_backward),
    "lstm": (fast.lstm_forward, fast.lstm_backward),
    "gru": (fast.gru_forward, fast.gru_backward),
}


def cell_params(cell: str, D: int, H: int, rng: np.random.Generator,
                dtype: type = np.float64) -> tuple[np.ndarray, ...]:
    """Weights in the order the cell's sequence function takes them."""
    G = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}[cell]
    params = [rng.standard_normal((D, G * H)) / np.sqrt(D),
              rng.standard_normal((H, G * H)) / np.sqrt(H), rng.standard_normal(G * H) * 0.3]
    if cell == "gru":
        params.append(rng.standard_normal(G * H) * 0.3)
    return tuple(p.astype(dtype) for p in params)


def assert_close(ours: object, theirs: object, name: str, tol: float = TOL) -> None:
    assert np.shape(ours) == np.shape(theirs), name
    assert rel_error(np.asarray(ours), np.asarray(theirs)) < tol, name


def check_single_layer(cell: str, N: int, T: int, D: int, H: int,
                       lengths: list[int] | None = None, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
    params = cell_params(cell, D, H, rng)
    dh = rng.standard_normal((N, T, H))
    lengths_arr = None if lengths is None else np.array(lengths)
    results = []
    for forward, backward in (REFERENCE[cell], FAST[cell]):
        h, cache = forward(x, h0, *params, lengths=lengths_arr)
        results.append((h, *backward(dh, cache)))
    names = ["h", "dx", "dh0"] + [f"d{i}" for i in range(len(params))]
    for name, ours, theirs in zip(names, *results, strict=True):
        assert_close(ours, theirs, f"{cell} {name}")


def check_stack(cell: str, N: int, T: int, D: int, H: int, num_layers: int,
                bidirectional: bool, lengths: list[int] | None = None, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    dirs = 2 if bidirectional else 1
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((num_layers * dirs, N, H)) * 0.5
    params = [cell_params(cell, D if k < dirs else dirs * H, H, rng)
              for k in range(num_layers * dirs)]
    dh = rng.standard_normal((N, T, dirs * H))
    results = []
    for use_fast in (False, True):
        h, cache = multilayer_forward(x, h0, params, cell=cell, bidirectional=bidirectional,
                                      lengths=lengths, fast=use_fast)
        dx, dh0, dparams = multilayer_backward(dh, cache)
        results.append((h, dx, dh0, [g for grads in dparams for g in grads]))
    (h, dx, dh0, grads), (fh, fdx, fdh0, fgrads) = results
    assert_close(h, fh, "h")
    assert_close(dx, fdx, "dx")
    assert_close(dh0, fdh0, "dh0")
    for k, (a, b) in enumerate(zip(grads, fgrads, strict=True)):
        assert_close(a, b, f"dparams[{k}]")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("N, T, D, H", [(1, 1, 3, 4), (1, 6, 3, 4), (4, 1, 2, 5), (3, 7, 4, 5)])
def test_single_layer_fast_matches_reference(cell: str, N: int, T: int, D: int, H: int) -> None:
    check_single_layer(cell, N, T, D, H)


@pytest.mark.parametrize("cell", CELLS)
def test_ragged_batch_fast_matches_reference(cell: str) -> None:
    check_single_layer(cell, N=4, T=6, D=3, H=5, lengths=[6, 2, 4, 1])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, True), (2, False), (2, True)])
@pytest.mark.parametrize("lengths", [None, [5, 3, 1]])
def test_bidirectional_and_stacked_fast_match_reference(
        cell: str, num_layers: int, bidirectional: bool, lengths: list[int] | None) -> None:
    check_stack(cell, N=3, T=5, D=4, H=3, num_layers=num_layers, bidirectional=bidirectional,
                lengths=lengths)


def test_bidirectional_layer_fast_matches_reference_directly() -> None:
    """bidirectional_forward/backward (not through multilayer), fast=True against the default."""
    rng = np.random.default_rng(3)
    x, h0 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 2, 4))
    fwd, bwd = cell_params("gru", 3, 4, rng), cell_params("gru", 3, 4, rng)
    dh = rng.standard_normal((2, 4, 8))
    results = []
    for use_fast in (False, True):
        h, cache = bidirectional_forward(x, h0, fwd, bwd, cell="gru", lengths=[4, 2],
                                         fast=use_fast)
        dx, dh0, dfwd, dbwd = bidirectional_backward(dh, cache)
        results.append((h, dx, dh0, *dfwd, *dbwd))
    for k, (a, b) in enumerate(zip(*results, strict=True)):
        assert_close(a, b, f"output {k}")


@pytest.mark.parametrize("cell", CELLS)
def test_float32_fast_matches_reference_and_keeps_the_dtype(cell: str) -> None:
    rng = np.random.default_rng(4)
    N, T, D, H = 3, 6, 4, 5
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    h0 = rng.standard_normal((N, H)).astype(np.float32)
    params = cell_params(cell, D, H, rng, np.float32)
    dh = rng.standard_normal((N, T, H)).astype(np.float32)
    results = []
    for forward, backward in (REFERENCE[cell], FAST[cell]):
        h, cache = forward(x, h0, *params, lengths=[6, 3, 1])
        results.append((h, *backward(dh, cache)))
    for k, (a, b) in enumerate(zip(*results, strict=True)):
        assert a.dtype == b.dtype == np.float32, k
        assert_close(a, b, f"output {k}", tol=1e-4)


def test_the_fast_path_is_a_different_implementation() -> None:
    """The parity above means something only if `fast` is not the reference under a new name."""
    for cell in CELLS:
        assert REFERENCE[cell][1] is not FAST[cell][1]
    rng = np.random.default_rng(5)
    x, h0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5))
    _, cache = lstm_forward(x, h0, *cell_params("lstm", 4, 5, rng))
    _, fast_cache = fast.lstm_forward(x, h0, *cell_params("lstm", 4, 5, rng))
    assert sorted(cache) == ["lengths", "steps"] and "steps" not in fast_cache


# ---------------------------------------------------------------------------------------------
# Property-based: random shapes and lengths
# ---------------------------------------------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> dict:
    N = draw(st.integers(1, 4))
    T = draw(st.integers(1, 6))
    ragged = draw(st.booleans())
    lengths = draw(st.lists(st.integers(1, T), min_size=N, max_size=N)) if ragged else None
    return dict(cell=draw(st.sampled_from(CELLS)), N=N, T=T, D=draw(st.integers(1, 5)),
                H=draw(st.integers(1, 5)), lengths=lengths, seed=draw(st.integers(0, 1000)))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(case=cases())
def test_property_single_layer_fast_matches_reference(case: dict) -> None:
    check_single_layer(**case)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(case=cases(), num_layers=st.integers(1, 2), bidirectional=st.booleans())
def test_property_stacks_fast_match_reference(case: dict, num_layers: int,
                                              bidirectional: bool) -> None:
    check_stack(num_layers=num_layers, bidirectional=bidirectional, **case)
