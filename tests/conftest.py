"""Fixtures shared by the test files."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Run every test module with one torch thread, then restore the count it found.

    Small models run fastest on one thread, and on a busy two-core machine two threads spin
    against each other (50 steps of a small GRU took 32 CPU-seconds instead of 1).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
