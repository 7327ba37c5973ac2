import math

import pytest
import torch

from minirnn.torch.decode import (
    beam_search,
    decode_one,
    filter_top_k,
    greedy,
    sample,
    select_state,
    sequence_log_prob,
    until_eos,
)
from minirnn.torch.models import CharLM


def table_step(table: torch.Tensor):
    """A step function from a fixed table of next-token probabilities: table[prev] (V,).
    The state counts steps so that the step function also exercises state handling."""

    def step(tokens, state):
        return table[tokens].log(), state + 1

    return step


def test_beam_finds_a_likelier_sequence_than_greedy():
    # tokens: 0 start, 1 "a", 2 "b", 3 "c", 4 "d". After start: a 0.55, b 0.45.
    # After a: c, d, a, b spread out (0.3 at best); after b: c with 0.95. Greedy takes a (0.55)
    # and ends at 0.55 * 0.3 = 0.165; the beam keeps b and finds b c at 0.45 * 0.95 = 0.43.
    table = torch.full((5, 5), 1e-6)
    table[0, 1], table[0, 2] = 0.55, 0.45
    table[1, 1:5] = torch.tensor([0.25, 0.2, 0.3, 0.25])
    table[2, 3] = 0.95
    table[2, 4] = 0.05
    table[3:, 3] = 1.0
    table = table / table.sum(-1, keepdim=True)
    step = table_step(table)
    start, state = torch.tensor([0]), torch.zeros(1, 1)
    g = greedy(step, start, state, 2)[0].tolist()
    b, score = beam_search(step, start, state, 2, beam_width=2)
    assert g == [1, 3] and b == [2, 3]
    assert math.isclose(score, sequence_log_prob(step, start, state, b), rel_tol=1e-5)
    assert score > sequence_log_prob(step, start, state, g) + 0.9  # log(0.43 / 0.165)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CharLM(11, 8, 16, cell="gru").eval()


@pytest.mark.parametrize("eos", [None, 3])
def test_beam_width_one_equals_greedy(model, eos):
    for first in range(5):
        start = torch.tensor([first])
        g = greedy(model.step, start, None, 15, eos=eos)[0].tolist()
        b, score = beam_search(model.step, start, None, 15, beam_width=1, eos=eos)
        assert b == g
        if eos is None:
            assert math.isclose(score, sequence_log_prob(model.step, start, None, g),
                                rel_tol=1e-4)


def test_decode_one_is_greedy_or_beam_cut_before_eos(model):
    assert until_eos([5, 2, 3, 4, 3], 3) == [5, 2] and until_eos([5, 2], 3) == [5, 2]
    start = torch.tensor([1])
    for width in (1, 3):
        if width == 1:
            full = greedy(model.step, start, None, 15, eos=3)[0].tolist()
        else:
            full, _ = beam_search(model.step, start, None, 15, beam_width=width, eos=3)
        assert decode_one(model.step, start, None, 15, width, eos=3) == until_eos(full, 3)


def test_greedy_batch_rows_match_single_rows(model):
    start = torch.tensor([0, 4, 7])
    batch = greedy(model.step, start, None, 10)
    for i in range(3):
        assert torch.equal(batch[i], greedy(model.step, start[i : i + 1], None, 10)[0])


def test_sampling_temperature_and_top_k():
    probs = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    step = table_step(probs.expand(6, 6))
    start, state = torch.zeros(20000, dtype=torch.long), torch.zeros(1, 20000)

    def draws(**kw):
        g = torch.Generator().manual_seed(0)
        return sample(step, start, state, 1, generator=g, **kw)[:, 0]

    assert torch.equal(draws(temperature=1.0), draws(temperature=1.0))  # seeded
    freq = torch.bincount(draws(temperature=1.0), minlength=6) / 20000
    assert torch.allclose(freq, probs, atol=0.01)  # temperature 1 samples the model
    assert (draws(temperature=0.01) == 0).all()  # near zero temperature is greedy
    share = [(draws(temperature=t) == 0).float().mean() for t in (0.5, 1.0, 5.0)]
    assert share[0] > share[1] > share[2] > 1 / 6  # hotter is flatter
    assert set(draws(top_k=2).tolist()) == {0, 1}
    with pytest.raises(ValueError, match="temperature must be > 0"):
        draws(temperature=0.0)
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        filter_top_k(torch.zeros(1, 5), 0)


def test_eos_repeats_after_the_end():
    table = torch.full((3, 3), 0.1)
    table[0, 1], table[1, 2], table[2, 2] = 0.8, 0.8, 0.8
    out = greedy(table_step(table / table.sum(-1, keepdim=True)), torch.tensor([0]),
                 torch.zeros(1, 1), 6, eos=2)
    assert out[0].tolist() == [1, 2, 2, 2, 2, 2]


def test_select_state_and_bad_input():
    h, c = torch.arange(6.0).view(1, 3, 2), torch.zeros(1, 3, 2)
    sel = select_state((h, c), torch.tensor([2, 0]))
    assert torch.equal(sel[0][0], torch.tensor([[4.0, 5.0], [0.0, 1.0]]))
    step = table_step(torch.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"start must be a LongTensor of shape \(B,\)"):
        greedy(step, torch.tensor(0), torch.zeros(1, 1), 3)
    with pytest.raises(ValueError, match="length must be >= 1"):
        greedy(step, torch.tensor([0]), torch.zeros(1, 1), 0)
    with pytest.raises(ValueError, match=r"start must have shape \(1,\)"):
        beam_search(step, torch.tensor([0, 1]), torch.zeros(1, 2), 3, 2)
    with pytest.raises(ValueError, match="beam_width must be >= 1"):
        beam_search(step, torch.tensor([0]), torch.zeros(1, 1), 3, 0)
