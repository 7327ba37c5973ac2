"""The data layer is NumPy: importing it, making every dataset, and the assignment tools on a
NumPy assignment never import torch; ``to_torch`` converts results in one call; the NumPy draws
are torch's own (the datasets kept their numbers when they left torch).

The torch-free checks run in a fresh interpreter: this test session (conftest) imports torch.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest
import torch

from minirnn.data import adding_problem, make_shapes, number_translation, to_torch
from minirnn.data.rng import TorchRandom

FRESH = """
import sys
from minirnn.cli import main
import minirnn.data as data
loaded = {}
loaded["import minirnn.data, minirnn.cli"] = "torch" in sys.modules
data.adding_problem(4, 6); data.copy_task(4, 3); data.make_shapes(4); data.moving_digits(2, 3)
data.number_translation(max_number=30); data.encode_names(["ab"], data.names_vocab())
batcher = data.TBPTTBatcher(data.CharVocab("ab").encode("abba" * 20), 2, 4)
batcher.next_batch()
loaded["every dataset"] = "torch" in sys.modules
out = sys.argv[1]
assert main(["assignments", "build", "a1_rnn", "--solution", "--out", out]) == 0
loaded["assignments build a1_rnn"] = "torch" in sys.modules
assert main(["assignments", "grade", out + "/a1_rnn_solution", "--json", out + "/g.json"]) == 0
loaded["assignments grade a1_rnn"] = "torch" in sys.modules
print(loaded)
"""


def test_data_and_numpy_assignments_never_import_torch(tmp_path):
    result = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = eval(result.stdout.strip().splitlines()[-1])
    assert loaded == {step: False for step in loaded} and len(loaded) == 4, loaded
    graded = json.loads((tmp_path / "g.json").read_text())
    assert graded["earned"] == graded["points"] > 0  # the grader really ran the tests


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 5])
def test_torch_random_draws_what_torch_draws(seed):
    ours, g = TorchRandom(seed), torch.Generator().manual_seed(seed)
    for _ in range(2):  # the streams stay together over several calls
        assert np.array_equal(ours.rand(3, 7), torch.rand(3, 7, generator=g).numpy())
        assert np.array_equal(ours.randint(5, size=(11,)),
                              torch.randint(5, (11,), generator=g).numpy())
        assert np.array_equal(ours.randint(1, 9, size=(2, 3)),
                              torch.randint(1, 9, (2, 3), generator=g).numpy())
        assert np.array_equal(ours.randint(1, size=(4,)),
                              torch.randint(1, (4,), generator=g).numpy())
        for n in (1, 9, 1000):
            assert np.array_equal(ours.randperm(n), torch.randperm(n, generator=g).numpy())
    assert ours.rand(2).dtype == np.float32 and ours.randint(3, size=(2,)).dtype == np.int64


def test_datasets_keep_the_numbers_they_had_with_torch():
    """Fingerprints of the datasets as torch drew them before they became NumPy."""
    x, y = adding_problem(3, 4, seed=0)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x[0, :, 0], torch.rand(3, 4, generator=torch.Generator()
                                                         .manual_seed(0))[0].numpy())
    splits, _, _ = number_translation(max_number=99, seed=0)
    order = torch.randperm(100, generator=torch.Generator().manual_seed(0)).tolist()
    assert splits["test"].numbers.tolist() == sorted(order[:10])


class Pair(NamedTuple):
    x: np.ndarray
    label: str


@dataclasses.dataclass
class Holder:
    a: np.ndarray
    n: int


def test_to_torch_converts_arrays_inside_containers():
    x, y = to_torch(adding_problem(5, 6, seed=1))
    assert x.dtype == torch.float32 and x.shape == (5, 6, 2) and y.dtype == torch.float32
    data, vocab = make_shapes(4, seed=0)
    t = to_torch(data)
    assert type(t) is type(data) and t.captions == data.captions
    assert t.images.dtype == torch.float32 and t.captions_in.dtype == torch.long
    assert np.array_equal(t.cells.numpy(), data.cells)
    splits, _, _ = number_translation(max_number=30, seed=0)
    assert to_torch(splits)["train"].src.dtype == torch.long
    nested = to_torch([Pair(np.arange(3), "p"), {"k": (np.ones(2, dtype=bool), 7)}, vocab])
    assert isinstance(nested[0], Pair) and nested[0].label == "p"
    assert torch.equal(nested[0].x, torch.arange(3))
    assert nested[1]["k"][0].dtype == torch.bool and nested[1]["k"][1] == 7
    assert nested[2] is vocab
    assert to_torch(Holder(np.zeros((2, 2), np.float64), 3)).a.dtype == torch.float64
    frozen = np.arange(4)
    frozen.flags.writeable = False
    assert torch.equal(to_torch(frozen[::-1]), torch.tensor([3, 2, 1, 0]))
    tensor = torch.ones(2)
    assert to_torch(tensor) is tensor
