"""Trainer.fit's hooks for the command line: ``after_step`` (stop or save between two steps) and
``clock`` (the time budget read from a given clock: here a fake one, so nothing is timed)."""

import pytest

from minirnn.data import CharVocab, TBPTTBatcher
from minirnn.torch.models import CharLM
from minirnn.torch.train import Trainer, seed_everything

TEXT = "the quick brown fox jumps over the lazy dog. " * 10


def trainer() -> Trainer:
    seed_everything(0)
    vocab = CharVocab.from_text(TEXT)
    batcher = TBPTTBatcher(vocab.encode(TEXT), batch_size=2, seq_len=8)
    return Trainer(CharLM(len(vocab), 4, 8), batcher, lr=1e-2, progress=False)


def test_after_step_runs_after_every_step_and_can_stop_the_loop():
    t, seen = trainer(), []

    def after_step(tr):
        seen.append((tr.step_count, tr.data.position, len(tr.history["loss"])))
        return tr.step_count == 4

    t.fit(steps=10, after_step=after_step)
    # called between whole steps: the data position and history agree with the step count
    assert seen == [(k, k, k) for k in range(1, 5)] and t.step_count == 4


def test_an_error_in_after_step_propagates():
    t = trainer()

    def after_step(tr):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        t.fit(steps=10, after_step=after_step)
    assert t.step_count == 1


def test_time_budget_reads_the_given_clock():
    t, now = trainer(), [0.0]

    def clock():  # ten seconds pass at every reading
        now[0] += 10.0
        return now[0]

    t.fit(time_budget=45.0, clock=clock)
    # start at 10; steps begin at 20, 30, 40, 50 (10 to 40 s elapsed); at 60, 50 s >= 45
    assert t.step_count == 4
    assert t.history["lr"] == pytest.approx([1e-2] * 4)  # constant schedule
