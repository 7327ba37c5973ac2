import io
import sys

import pytest
import torch

from minirnn.data import CharVocab, TBPTTBatcher
from minirnn.torch.checkpoint import load_checkpoint, save_checkpoint
from minirnn.torch.models import CharLM, Classifier
from minirnn.torch.train import RandomBatches, Trainer, schedule_factor, seed_everything

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def charlm_run(seed=0, dropout=0.2):
    seed_everything(seed)
    vocab = CharVocab.from_text(TEXT)
    model = CharLM(len(vocab), 8, 16, num_layers=2, cell="lstm", dropout=dropout)
    batcher = TBPTTBatcher(vocab.encode(TEXT), batch_size=4, seq_len=8)
    return Trainer(model, batcher, lr=1e-2, schedule="cosine", clip_norm=1.0, progress=False)


def params(trainer):
    return [p.detach().clone() for p in trainer.model.parameters()]


def test_resume_equals_uninterrupted(tmp_path):
    # 57 batches per epoch: 70 steps cross the wrap, where the carried state is reset
    full = charlm_run()
    full.fit(steps=70)

    first = charlm_run()
    first.fit(steps=40, total_steps=70)
    save_checkpoint(tmp_path / "ckpt.pt", first.state_dict())
    torch.manual_seed(123)  # disturb the global RNG: the checkpoint must restore it
    resumed = charlm_run(seed=99)  # a different initialisation, overwritten by the checkpoint
    resumed.load_state_dict(load_checkpoint(tmp_path / "ckpt.pt"))
    resumed.fit(steps=30, total_steps=70)

    assert resumed.step_count == full.step_count == 70
    assert all(torch.equal(a, b) for a, b in zip(params(full), params(resumed)))
    assert resumed.history == full.history
    assert all(torch.equal(a, b) for a, b in zip(full.state, resumed.state))
    # and it is not a vacuous comparison: a different seed ends elsewhere
    other = charlm_run(seed=1)
    other.fit(steps=70)
    assert not torch.equal(params(other)[0], params(full)[0])


def test_resume_with_random_batches(tmp_path):
    def run():
        seed_everything(0)
        x, y = torch.randn(50, 3), torch.randint(2, (50,))
        model = Classifier(3, 8, 2)
        return Trainer(model, RandomBatches(x, y, batch_size=8, seed=5), optimizer="momentum",
                       lr=0.1, schedule="step", progress=False)

    full = run()
    full.fit(steps=20)
    part = run()
    part.fit(steps=9, total_steps=20)
    save_checkpoint(tmp_path / "c.pt", part.state_dict())
    again = run()
    again.load_state_dict(load_checkpoint(tmp_path / "c.pt"))
    again.fit(steps=11, total_steps=20)
    assert all(torch.equal(a, b) for a, b in zip(params(full), params(again)))


def test_training_is_reproducible_and_learns():
    a = charlm_run()
    a.fit(steps=60)
    b = charlm_run()  # made after a's run: dropout draws from torch's global generator
    b.fit(steps=60)
    assert a.history == b.history
    loss = a.history["loss"]
    assert sum(loss[-10:]) / 10 < 0.9 * sum(loss[:10]) / 10
    assert len(a.history["grad_norm"]) == len(a.history["lr"]) == 60
    assert a.history["lr"][0] == pytest.approx(1e-2) and a.history["lr"][-1] < 2e-3


def test_clipping_by_norm_and_by_value():
    seed_everything(0)
    x, y = torch.randn(32, 4) * 100, torch.randint(3, (32,))
    for kind in ("norm", "value"):
        model = Classifier(4, 8, 3)
        kw = {"clip_norm": 0.5} if kind == "norm" else {"clip_value": 0.01}
        trainer = Trainer(model, RandomBatches(x, y, batch_size=32), optimizer="sgd", lr=0.0,
                          progress=False, **kw)
        trainer.fit(steps=1)
        grads = torch.cat([p.grad.flatten() for p in model.parameters()])
        assert trainer.history["grad_norm"][0] > 0.5  # recorded before clipping
        if kind == "norm":
            assert grads.norm().item() == pytest.approx(0.5, rel=1e-4)
        else:
            assert grads.abs().max().item() == pytest.approx(0.01)


def test_progress_and_logging(monkeypatch):
    trainer = charlm_run()
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)  # not a TTY: no bar
    lines = []
    trainer.log, trainer.log_every, trainer.progress = lines.append, 5, None
    trainer.fit(steps=10)
    assert err.getvalue() == "" and len(lines) == 2 and lines[0].startswith("step 5: loss")
    trainer.progress = True  # asked for: a bar on stderr
    trainer.fit(steps=3)
    assert "3/3" in err.getvalue()


def test_time_budget_and_schedules():
    trainer = charlm_run()
    trainer.fit(time_budget=0.5)
    assert trainer.step_count > 0 and trainer.last_fit_seconds < 5
    assert schedule_factor("cosine", 0.0) == pytest.approx(1.0)
    assert schedule_factor("cosine", 1.0) == pytest.approx(0.1)
    assert schedule_factor("linear", 0.5) == pytest.approx(0.55)
    assert schedule_factor("constant", 0.7, warmup=0.1) == 1.0
    assert schedule_factor("step", 0.8) == pytest.approx(0.1)
    assert schedule_factor("cosine", 0.05, warmup=0.1) == pytest.approx(0.5)


def test_bad_arguments():
    model = Classifier(2, 4, 2)
    data = RandomBatches(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), batch_size=2)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        Trainer(model, data, optimizer="lion")
    with pytest.raises(ValueError, match="schedule must be one of"):
        Trainer(model, data, schedule="exp")
    with pytest.raises(ValueError, match="clip_norm must be > 0"):
        Trainer(model, data, clip_norm=0)
    with pytest.raises(TypeError, match="data must have next_batch"):
        Trainer(model, [1, 2])
    with pytest.raises(ValueError, match="give steps or time_budget"):
        Trainer(model, data).fit()
    with pytest.raises(ValueError, match="batch_size must be in"):
        RandomBatches(torch.zeros(4, 2), batch_size=5)
    with pytest.raises(ValueError, match="tensor 1 has 3 rows"):
        RandomBatches(torch.zeros(4, 2), torch.zeros(3), batch_size=2)
