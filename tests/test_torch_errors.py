"""Bad input to minirnn.torch gets a clear error naming the argument, expected and actual."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import minirnn.torch as mt
from minirnn.torch.errors import ShapeError

D, H, T, N = 3, 4, 5, 2


@pytest.fixture(params=["RNN", "LSTM", "GRU"])
def model(request):
    torch.manual_seed(0)
    return getattr(mt, request.param)(D, H, num_layers=2)


def state(model, shape):
    h = torch.zeros(shape)
    return (h, h) if isinstance(model, mt.LSTM) else h


def test_wrong_rank(model):
    with pytest.raises(ValueError, match=r"input must be 3-D.*got shape \(5, 2, 3, 1\)"):
        model(torch.zeros(T, N, D, 1))
    with pytest.raises(ValueError, match=r"input must be 3-D.*got shape \(3,\)"):
        model(torch.zeros(D))


def test_wrong_feature_size(model):
    with pytest.raises(ValueError, match=r"input must have shape \(5, 2, 3\).*got \(5, 2, 7\)"):
        model(torch.zeros(T, N, 7))
    with pytest.raises(ValueError, match=r"input must have shape \(5, 3\).*got \(5, 1\)"):
        model(torch.zeros(T, 1))


def test_wrong_state_shape(model):
    name = r"hx\[0\] \(h_0\)" if isinstance(model, mt.LSTM) else "hx"
    with pytest.raises(ValueError, match=rf"{name} must have shape \(2, 2, 4\), got \(1, 2, 4\)"):
        model(torch.zeros(T, N, D), state(model, (1, N, H)))
    with pytest.raises(ValueError, match=rf"{name} must have shape \(2, 2, 4\), got \(2, 3, 4\)"):
        model(torch.zeros(T, N, D), state(model, (2, 3, H)))
    with pytest.raises(ValueError, match=rf"{name} must have shape \(2, 4\), got \(2, 1, 4\)"):
        model(torch.zeros(T, D), state(model, (2, 1, H)))  # unbatched input, batched state


def test_lstm_cell_state_shape_and_pair():
    lstm = mt.LSTM(D, H)
    h = torch.zeros(1, N, H)
    with pytest.raises(ValueError, match=r"hx\[1\] \(c_0\) must have shape \(1, 2, 4\), got"):
        lstm(torch.zeros(T, N, D), (h, torch.zeros(1, N, H + 1)))
    with pytest.raises(TypeError, match="pair"):
        lstm(torch.zeros(T, N, D), h)


def test_bad_lengths(model):
    x = torch.zeros(T, N, D)
    with pytest.raises(ValueError, match=r"lengths must be at most the sequence length 5, got .*6"):
        model(x, lengths=torch.tensor([6, 2]))
    with pytest.raises(ValueError, match="lengths must be positive, got a length of 0"):
        model(x, lengths=torch.tensor([0, 2]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\).*got \(3,\)"):
        model(x, lengths=torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="lengths must hold integers"):
        model(x, lengths=torch.tensor([1.0, 2.0]))
    packed = pack_padded_sequence(x, [5, 3])
    with pytest.raises(ValueError, match="lengths must be None when input is a PackedSequence"):
        model(packed, lengths=torch.tensor([5, 3]))


def test_wrong_types_and_dtypes(model):
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        model([[0.0] * D] * T)
    with pytest.raises(TypeError, match="input must have dtype torch.float32.*got torch.float64"):
        model(torch.zeros(T, N, D, dtype=torch.float64))
    with pytest.raises(TypeError, match="input.data must have dtype"):
        model(pack_padded_sequence(torch.zeros(T, N, D, dtype=torch.float64), [5, 3]))


def test_packed_wrong_feature_size(model):
    packed = pack_padded_sequence(torch.zeros(T, N, D + 1), [5, 3])
    with pytest.raises(ValueError, match=r"input.data must have shape \(8, 3\).*got \(8, 4\)"):
        model(packed)


def test_constructor_arguments():
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        mt.LSTM(D, 0)
    with pytest.raises(ValueError, match="num_layers must be an int >= 1, got 0"):
        mt.GRU(D, H, num_layers=0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\], got 1.5"):
        mt.RNN(D, H, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        mt.RNN(D, H, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        mt.LSTM(D, H, proj_size=2)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors(name):
    cell = getattr(mt, name)(D, H)
    with pytest.raises(ValueError, match=r"input must have shape \(2, 3\).*got \(2, 5\)"):
        cell(torch.zeros(N, 5))
    with pytest.raises(ValueError, match=r"input must be 2-D \(N, 3\) or 1-D \(3,\), got shape"):
        cell(torch.zeros(1, N, D))
    bad = torch.zeros(N + 1, H)
    hx = (bad, torch.zeros(N, H)) if name == "LSTMCell" else bad
    label = r"hx\[0\] \(h_0\)" if name == "LSTMCell" else "hx"
    with pytest.raises(ValueError, match=rf"{label} must have shape \(2, 4\), got \(3, 4\)"):
        cell(torch.zeros(N, D), hx)
    with pytest.raises(TypeError, match="input must have dtype"):
        cell(torch.zeros(N, D, dtype=torch.float64))


def test_unsorted_lengths_with_enforce_sorted(model):
    x = torch.zeros(T, N, D)
    with pytest.raises(ValueError, match=r"lengths must be sorted in decreasing order .*\[3, 5\]"):
        model(x, lengths=torch.tensor([3, 5]), enforce_sorted=True)
    out, _ = model(x, lengths=torch.tensor([5, 3]), enforce_sorted=True)  # sorted: accepted
    assert out.shape == (T, N, H)


@pytest.mark.parametrize("caught", [RuntimeError, ValueError])
def test_shape_errors_are_runtime_and_value_errors(caught):
    """torch.nn raises RuntimeError for a wrong shape, the course's rule says ValueError: a
    ShapeError is both, so code written for either catches it."""
    assert issubclass(ShapeError, RuntimeError) and issubclass(ShapeError, ValueError)
    for module in (mt.LSTM(D, H), mt.GRUCell(D, H)):
        with pytest.raises(caught, match="input must"):
            module(torch.zeros(T, N, D + 1) if isinstance(module, mt.LSTM) else torch.zeros(N, 7))
    with pytest.raises(caught, match=r"hx must have shape \(1, 2, 4\)"):
        mt.RNN(D, H)(torch.zeros(T, N, D), torch.zeros(1, N + 1, H))
    with pytest.raises(caught, match=r"lengths must have shape \(2,\)"):
        mt.GRU(D, H)(torch.zeros(T, N, D), lengths=torch.tensor([1, 2, 3]))
    with pytest.raises(caught, match="at most the sequence length"):
        mt.GRU(D, H)(torch.zeros(T, N, D), lengths=torch.tensor([T + 1, 2]))
    # the same mistake made with torch.nn is caught by the same clause
    with pytest.raises(RuntimeError):
        torch.nn.LSTM(D, H)(torch.zeros(T, N, D + 1))


def test_other_bad_input_is_not_a_shape_error():
    with pytest.raises(ValueError) as info:
        mt.GRU(D, H)(torch.zeros(T, N, D), lengths=torch.tensor([0, 2]))
    assert not isinstance(info.value, RuntimeError)
