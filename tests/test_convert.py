"""minirnn.convert: torch modules <-> the course's parameter tuples, both ways, for every cell,
layer and direction, checked by running the course's NumPy functions on the converted weights."""

import numpy as np
import pytest
import torch

import minirnn.torch as mt
from minirnn.convert import from_torch, grads_from_torch, load_params
from minirnn.numpy import (
    gru_step_forward,
    lstm_step_forward,
    multilayer_forward,
    rnn_step_forward,
)

LAYERS = {"rnn": (torch.nn.RNN, mt.RNN), "lstm": (torch.nn.LSTM, mt.LSTM),
          "gru": (torch.nn.GRU, mt.GRU)}
CELLS = {"rnn": (torch.nn.RNNCell, mt.RNNCell), "lstm": (torch.nn.LSTMCell, mt.LSTMCell),
         "gru": (torch.nn.GRUCell, mt.GRUCell)}
N, T, D, H = 3, 5, 4, 6


def _layer(cell, library, num_layers=2, bidirectional=True, bias=True):
    torch.manual_seed(0)
    klass = LAYERS[cell][library]
    return klass(D, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=True,
                 bias=bias).double()


@pytest.mark.parametrize("library", [0, 1], ids=["torch.nn", "minirnn.torch"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_weights_run_the_numpy_layers_to_the_same_outputs(cell, library, bidirectional):
    module = _layer(cell, library, bidirectional=bidirectional)
    x = torch.randn(N, T, D, dtype=torch.float64)
    out = module(x)[0].detach().numpy()
    params = from_torch(module)
    assert len(params) == 2 * (2 if bidirectional else 1)
    h0 = np.zeros((len(params), N, H))
    ours, _ = multilayer_forward(x.numpy(), h0, params, cell=cell, bidirectional=bidirectional)
    assert np.abs(ours - out).max() < 1e-10


@pytest.mark.parametrize("library", [0, 1], ids=["torch.nn", "minirnn.torch"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cell_weights_run_the_numpy_step_to_the_same_state(cell, library):
    torch.manual_seed(1)
    module = CELLS[cell][library](D, H).double()
    x, h = torch.randn(N, D, dtype=torch.float64), torch.randn(N, H, dtype=torch.float64)
    p = from_torch(module)
    assert isinstance(p, tuple)
    if cell == "rnn":
        ours, _ = rnn_step_forward(x.numpy(), h.numpy(), *p)
        theirs = module(x, h)
    elif cell == "gru":
        ours, _ = gru_step_forward(x.numpy(), h.numpy(), *p)
        theirs = module(x, h)
    else:
        c = torch.randn(N, H, dtype=torch.float64)
        ours, _, _ = lstm_step_forward(x.numpy(), h.numpy(), c.numpy(), *p)
        theirs = module(x, (h, c))[0]
    assert np.abs(ours - theirs.detach().numpy()).max() < 1e-12


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("kind", ["layer", "cell"])
def test_round_trip_into_a_fresh_module_gives_the_same_function(cell, kind):
    if kind == "layer":
        source, target = _layer(cell, 0), _layer(cell, 1)
        torch.manual_seed(9)
        for p in target.parameters():  # make sure the copy, not the seed, does the work
            torch.nn.init.normal_(p)
        x = torch.randn(N, T, D, dtype=torch.float64)
    else:
        torch.manual_seed(2)
        source, target = CELLS[cell][0](D, H).double(), CELLS[cell][1](D, H).double()
        x = torch.randn(N, D, dtype=torch.float64)
    assert load_params(from_torch(source), target) is target
    a, b = source(x), target(x)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert torch.allclose(a, b, atol=1e-12)
    back = from_torch(target)
    for ours, theirs in zip(back if kind == "layer" else [back],
                            from_torch(source) if kind == "layer" else [from_torch(source)]):
        for u, v in zip(ours, theirs):
            np.testing.assert_allclose(u, v, atol=1e-12)


def test_gru_keeps_both_biases_and_round_trips_the_state_dict_exactly():
    source, target = _layer("gru", 0), _layer("gru", 1)
    for p in target.parameters():
        torch.nn.init.zeros_(p)
    load_params(from_torch(source), target)
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name


def test_rnn_and_lstm_bias_goes_to_bias_ih_and_bias_hh_is_zeroed():
    module = _layer("lstm", 0, num_layers=1, bidirectional=False)
    Wx, Wh, b = from_torch(module)[0]
    np.testing.assert_allclose(b, (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy())
    target = _layer("lstm", 1, num_layers=1, bidirectional=False)
    load_params([(Wx, Wh, b)], target)
    assert torch.count_nonzero(target.bias_hh_l0) == 0
    np.testing.assert_allclose(target.bias_ih_l0.detach().numpy(), b)


def test_gradients_come_out_in_the_same_layout():
    module = _layer("lstm", 0, num_layers=1, bidirectional=False)
    x = torch.randn(N, T, D, dtype=torch.float64)
    module(x)[0].pow(2).sum().backward()
    dWx, dWh, db = grads_from_torch(module)[0]
    np.testing.assert_allclose(dWx, module.weight_ih_l0.grad.T.numpy())
    np.testing.assert_allclose(dWh, module.weight_hh_l0.grad.T.numpy())
    np.testing.assert_allclose(db, module.bias_ih_l0.grad.numpy())
    np.testing.assert_allclose(db, module.bias_hh_l0.grad.numpy())


def test_torch_dtype_gives_detached_tensors():
    module = CELLS["lstm"][0](D, H)
    Wx, Wh, b = from_torch(module, dtype=torch.float64)
    assert Wx.dtype == torch.float64 and not Wx.requires_grad and Wx.shape == (D, 4 * H)
    Wx += 1  # a copy: the module is untouched
    assert not torch.allclose(Wx.float().T, module.weight_ih)


def test_bias_false_gives_zero_biases_and_refuses_nonzero_ones():
    module = _layer("rnn", 0, num_layers=1, bidirectional=False, bias=False)
    Wx, Wh, b = from_torch(module)[0]
    assert not b.any()
    load_params([(Wx, Wh, b)], module)
    with pytest.raises(ValueError, match="bias=False"):
        load_params([(Wx, Wh, b + 1)], module)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="module: expected an RNN, LSTM or GRU"):
        from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(torch.nn.LSTM(2, 3, proj_size=2))
    module = _layer("gru", 0)
    params = from_torch(module)
    with pytest.raises(ValueError, match=r"params: expected 4 tuple\(s\)"):
        load_params(params[:2], module)
    bad = list(params)
    bad[1] = (bad[1][0].T, *bad[1][1:])
    with pytest.raises(ValueError, match=r"params\[1\] Wx: expected shape"):
        load_params(bad, module)
    with pytest.raises(ValueError, match="no .grad"):
        grads_from_torch(module)
