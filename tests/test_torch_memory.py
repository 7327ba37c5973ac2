"""minirnn.torch.memory.saved_tensor_bytes on graphs whose saved tensors are known."""

from __future__ import annotations

import pytest
import torch

from minirnn.torch.memory import SavedTensors, saved_tensor_bytes


def test_saved_tensor_bytes_counts_each_storage_once():
    w = torch.randn(8, 8, requires_grad=True)

    def f():
        a = torch.randn(4, 8, requires_grad=True)
        return (a @ w @ w).sum()  # w saved by both products, one storage

    _, count, nbytes = saved_tensor_bytes(f)
    assert count == 4  # each matmul saves its two operands
    assert nbytes == 4 * (8 * 8 + 4 * 8 + 4 * 8)  # w once, a, and the intermediate a @ w


def test_saved_tensor_bytes_of_a_known_graph():
    a = torch.ones(10, requires_grad=True)
    b = torch.ones(10, requires_grad=True)
    # a * b saves both factors: 2 x 10 float32 = 80 bytes; nothing else is saved
    assert saved_tensor_bytes(lambda: (a * b).sum()).nbytes == 80
    # a saved twice (a * a) is one storage
    assert saved_tensor_bytes(lambda: (a * a).sum()).nbytes == 40
    with torch.no_grad():
        assert saved_tensor_bytes(lambda: (a * b).sum()).nbytes == 0


def test_returns_the_result_and_checks_its_argument():
    x = torch.ones(3, requires_grad=True)
    measured = saved_tensor_bytes(lambda: (x * 2).sum())
    assert isinstance(measured, SavedTensors) and measured.result.item() == 6.0
    assert measured.count == 0 and measured.nbytes == 0  # x * constant saves nothing of x
    with pytest.raises(TypeError, match="fn: expected a callable"):
        saved_tensor_bytes(x)
