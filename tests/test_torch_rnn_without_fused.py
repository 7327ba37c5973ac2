"""minirnn.torch.rnn without fused.py (as the assignments ship it): the readable loop runs, with
the same numbers; any other missing module is still an error."""

import importlib
import sys

import pytest
import torch

from minirnn.torch import rnn


def test_without_fused_py_the_module_takes_the_readable_loop(monkeypatch):
    torch.manual_seed(0)
    gru = rnn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([5, 3])
    want, want_h = gru(x, lengths=lengths)
    assert rnn._fused() is not None
    monkeypatch.setitem(sys.modules, "minirnn.torch.fused", None)  # import raises
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("minirnn.torch.fused")
    assert rnn._fused() is None
    got, got_h = gru(x, lengths=lengths)
    assert torch.allclose(got, want, atol=1e-6) and torch.allclose(got_h, want_h, atol=1e-6)


def test_a_missing_dependency_of_fused_py_is_not_hidden(monkeypatch):
    real = importlib.import_module

    def broken(name, *args):
        if name == "minirnn.torch.fused":
            raise ModuleNotFoundError("No module named 'something_else'", name="something_else")
        return real(name, *args)
    monkeypatch.setattr(rnn.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="something_else"):
        rnn._fused()
