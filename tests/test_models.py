"""Each task model learns its task: at least twice chance accuracy (or a loss at most 0.7 times
the uniform baseline's) on held-out data, within a few seconds on two cores."""

import math

import pytest
import torch

from minirnn.data import (
    IGNORE_INDEX,
    CharVocab,
    TBPTTBatcher,
    adding_problem,
    copy_task,
    encode_names,
    load_corpus,
    make_shapes,
    moving_digits,
    names_split,
    names_vocab,
    number_translation,
    to_torch,
)
from minirnn.torch.models import (
    CaptioningModel,
    CharLM,
    Classifier,
    Seq2Seq,
    SequenceClassifier,
    SequenceTagger,
    pretrain_encoder,
    recurrent_layer,
)
from minirnn.torch.train import RandomBatches, Trainer, seed_everything


def train(model, *tensors, steps, batch_size=32, lr=3e-3, **kwargs):
    trainer = Trainer(model, RandomBatches(*tensors, batch_size=batch_size, seed=0), lr=lr,
                      clip_norm=5.0, progress=False, **kwargs)
    trainer.fit(steps=steps)
    return trainer


def accuracy(pred, target):
    keep = target != IGNORE_INDEX
    return (pred[keep] == target[keep]).float().mean().item()


def test_classifier_digits():
    from sklearn.datasets import load_digits

    seed_everything(0)
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16
    y = torch.tensor(digits.target)
    model = Classifier(64, 32, 10)
    train(model, x[:1500], y[:1500], steps=150)
    acc = accuracy(model.predict(x[1500:]), y[1500:])
    print(f"Classifier, digits: held-out accuracy {acc:.3f} (chance 0.1)")
    assert acc >= 2 * 0.1, acc


@pytest.fixture(scope="module")
def videos():
    return to_torch(moving_digits(700, frames=6, seed=0))


def test_sequence_classifier_moving_digits(videos):
    seed_everything(0)
    v, digit, _ = videos
    x = v.flatten(2)  # (N, T, 256)
    model = SequenceClassifier(256, 64, 10, cell="gru")
    train(model, x[:600], digit[:600], steps=150)
    acc = accuracy(model.predict(x[600:]), digit[600:])
    print(f"SequenceClassifier, moving digits: held-out accuracy {acc:.3f} (chance 0.1)")
    assert acc >= 2 * 0.1, acc


def test_sequence_tagger_bidirectional_positions(videos):
    seed_everything(0)
    v, _, position = videos
    x = v.flatten(2)
    model = SequenceTagger(256, 32, 3, cell="lstm", bidirectional=True)
    train(model, x[:600], position[:600], steps=100)
    acc = accuracy(model.predict(x[600:]), position[600:])
    print(f"SequenceTagger (bidirectional), digit positions: accuracy {acc:.3f} (chance 1/3)")
    assert acc >= 2 / 3, acc


def test_sequence_classifier_regresses_adding_problem():
    seed_everything(0)
    x, y = to_torch(adding_problem(2200, 10, seed=0))
    model = SequenceClassifier(2, 32, 1, cell="lstm", objective="regress")
    train(model, x[:2000], y[:2000], steps=250, lr=1e-2)
    mse = torch.nn.functional.mse_loss(model.predict(x[2000:]), y[2000:]).item()
    print(f"SequenceClassifier (regress), adding problem T=10: MSE {mse:.4f} (mean: 1/6)")
    assert mse <= 0.7 * (1 / 6), mse  # the mean predictor's error is 1/6


def test_sequence_tagger_copy_task():
    seed_everything(0)
    x, y = to_torch(copy_task(2200, delay=5, n_symbols=4, copy_len=3, seed=0))
    model = SequenceTagger(0, 64, 5, cell="lstm", vocab_size=6, embed_size=16)
    train(model, x[:2000], y[:2000], steps=200, lr=1e-2)
    acc = accuracy(model.predict(x[2000:]), y[2000:])  # scored on the copied symbols only
    print(f"SequenceTagger, copy task (delay 5): accuracy {acc:.3f} (chance 1/4)")
    assert acc >= 2 / 4, acc


def test_seq2seq_translates_unseen_numbers():
    seed_everything(0)
    splits, src_vocab, tgt_vocab = to_torch(number_translation(max_number=999, seed=0))
    tr, te = splits["train"], splits["test"]
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), hidden_size=96, cell="gru")
    train(model, tr.src, tr.src_lengths, tr.tgt_in, tr.tgt_out, steps=300, lr=1e-2)
    with torch.no_grad():
        loss = model.loss(te.src, te.src_lengths, te.tgt_in, te.tgt_out).item()
        pred = model(te.src, te.src_lengths, te.tgt_in).argmax(-1)
    assert loss <= 0.7 * math.log(len(tgt_vocab)), loss
    assert accuracy(pred, te.tgt_out) >= 2 / len(tgt_vocab)
    # free-running decoding (no teacher forcing) still gets most characters right
    greedy = model.translate(te.src[:10], te.src_lengths[:10])
    beam = model.translate(te.src[:10], te.src_lengths[:10], beam_width=3)
    assert len(greedy) == len(beam) == 10
    target = ["".join(tgt_vocab.decode(row[row >= 0])) for row in te.tgt_out[:10]]
    hits = sum(a == b for g, t in zip(greedy, target) for a, b in zip("".join(
        tgt_vocab.decode(g)), t))
    print(f"Seq2Seq, German to English numbers: test loss {loss:.3f} "
          f"(uniform {math.log(len(tgt_vocab)):.3f}), teacher-forced accuracy "
          f"{accuracy(pred, te.tgt_out):.3f}, greedy characters right "
          f"{hits / sum(len(t) for t in target):.3f}")
    assert hits >= 0.3 * sum(len(t) for t in target)


@pytest.fixture(scope="module")
def shapes():
    data, vocab = to_torch(make_shapes(1200, seed=0))
    encoder = pretrain_encoder(data.images[:1000], data.cells[:1000], steps=400)
    return data, vocab, encoder


def test_pretrained_encoder_sees_the_cells(shapes):
    data, _, encoder = shapes
    with torch.no_grad():
        pred = encoder(data.images[1000:]).argmax(-1)
    cells = data.cells[1000:]
    occupied = cells > 0  # 2 of the 9 cells; 13 classes (empty, or 4 colours x 3 shapes)
    assert (pred[occupied] == cells[occupied]).float().mean() >= 0.5
    assert (pred[~occupied] == 0).float().mean() >= 0.9
    assert encoder.feature_map(data.images[:2]).shape == (2, 32, 4, 4)
    assert not any(p.requires_grad for p in encoder.parameters())


@pytest.mark.parametrize("condition", ["h0", "first_input", "every_step"])
def test_captioning_model(shapes, condition):
    data, vocab, encoder = shapes
    seed_everything(0)
    model = CaptioningModel(len(vocab), encoder, hidden_size=64, condition=condition)
    before = [p.clone() for p in encoder.parameters()]
    train(model, data.images[:1000], data.captions_in[:1000], data.captions_out[:1000],
          steps=120, lr=1e-2)
    assert all(torch.equal(a, b) for a, b in zip(before, encoder.parameters()))  # frozen
    with torch.no_grad():
        pred = model(data.images[1000:], data.captions_in[1000:]).argmax(-1)
    acc = accuracy(pred, data.captions_out[1000:])
    print(f"CaptioningModel ({condition}): held-out word accuracy {acc:.3f} "
          f"(chance {1 / len(vocab):.3f})")
    assert acc >= 2 / len(vocab), acc
    assert model.image_regions(data.images[:3]).shape == (3, 16, 32)
    beam = model.caption(data.images[1000:1004], beam_width=3)
    assert len(beam) == 4
    captions = model.caption(data.images[1000:1004])
    assert all(all(0 <= i < len(vocab) for i in c) for c in captions)


def test_charlm_names():
    seed_everything(0)
    train_names, val_names = names_split(seed=0)
    vocab = names_vocab()
    x, y = to_torch(encode_names(train_names, vocab))
    xv, yv = to_torch(encode_names(val_names, vocab))
    model = CharLM(len(vocab), embed_size=24, hidden_size=64, cell="gru")
    train(model, x, y, steps=150, lr=1e-2)
    with torch.no_grad():
        logits, _ = model(xv)
    acc = accuracy(logits.argmax(-1), yv)
    print(f"CharLM, names: held-out next-character accuracy {acc:.3f} (chance 1/27)")
    assert acc >= 2 / 27
    g = torch.Generator().manual_seed(0)
    name = model.generate(torch.tensor([0]), 20, generator=g, eos=0)
    assert name.shape == (20,)


def test_charlm_tbptt_on_corpus():
    seed_everything(0)
    text = load_corpus()[:60_000]
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    model = CharLM(len(vocab), embed_size=32, hidden_size=128, cell="lstm")
    trainer = Trainer(model, TBPTTBatcher(ids[:54_000], 16, 32), lr=1e-2, clip_norm=1.0,
                      progress=False)
    ids = to_torch(ids)
    trainer.fit(steps=120)
    with torch.no_grad():
        loss, _ = model.loss(ids[None, 54_000:-1], ids[None, 54_001:])
    print(f"CharLM (TBPTT), corpus: held-out loss {loss.item():.3f} nats "
          f"(uniform {math.log(len(vocab)):.3f})")
    assert loss.item() <= 0.7 * math.log(len(vocab)), loss.item()
    assert trainer.state is not None and not trainer.state[0].requires_grad


def test_recurrent_layer_choices_and_errors():
    for cell in ("rnn", "lstm", "gru"):
        torch_layer = recurrent_layer(cell, 3, 4, backend="torch")
        assert torch_layer.batch_first and type(torch_layer).__module__ == "torch.nn.modules.rnn"
        ours = recurrent_layer(cell, 3, 4)
        assert type(ours).__module__ == "minirnn.torch.rnn" and ours.batch_first
    with pytest.raises(ValueError, match="cell must be one of"):
        recurrent_layer("transformer", 3, 4)
    with pytest.raises(ValueError, match="backend must be one of"):
        recurrent_layer("lstm", 3, 4, backend="cudnn")
    with pytest.raises(TypeError, match="impl"):  # the old name of the switch is gone
        recurrent_layer("lstm", 3, 4, impl="torch")


def test_charlm_config_rebuilds_the_model_and_reads_the_old_key():
    model = CharLM(11, embed_size=6, hidden_size=8, cell="gru", backend="torch")
    again = CharLM.from_config(model.config)
    assert again.config == model.config and isinstance(again.rnn, torch.nn.GRU)
    again.load_state_dict(model.state_dict())
    # written before the switch was renamed: "impl", beside a run's training settings
    old = {k: v for k, v in model.config.items() if k != "backend"}
    old.update(impl="minirnn", batch_size=32, lr=1e-2, text=None)
    rebuilt = CharLM.from_config(old)
    assert rebuilt.config == dict(model.config, backend="minirnn")
    rebuilt.load_state_dict(model.state_dict())  # the same parameter names either way
    with pytest.raises(TypeError):
        CharLM.from_config({"embed_size": 4})  # vocab_size is missing


def test_bad_inputs_name_the_argument():
    model = CharLM(10, 8, 16)
    with pytest.raises(TypeError, match="x must be a LongTensor"):
        model(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="got ndarray .*minirnn.data.to_torch"):  # NumPy ids
        model(CharVocab("abc").encode("abc")[None])
    with pytest.raises(TypeError, match="floating-point tensor, got ndarray .*to_torch"):
        Classifier(4, 8, 2)(adding_problem(3, 2)[0].reshape(3, 4))
    with pytest.raises(IndexError, match=r"x ids must be in \[0, 10\), got \[0, 12\]"):
        model(torch.tensor([[0, 12]]))
    with pytest.raises(ValueError, match=r"x must have 2 dimensions, got shape \(3,\)"):
        model(torch.tensor([1, 2, 3]))
    tagger = SequenceTagger(5, 8, 3)
    with pytest.raises(ValueError, match=r"shape \(N, T, D\) with D=5, got \(2, 4, 6\)"):
        tagger(torch.zeros(2, 4, 6))
    with pytest.raises(ValueError, match="lengths must have shape"):
        tagger(torch.zeros(2, 4, 5), torch.tensor([5, 1]))
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        Classifier(4, 8, 2)(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="objective"):
        SequenceClassifier(2, 4, 1, objective="rank")
    with pytest.raises(ValueError, match="condition must be one of"):
        CaptioningModel(10, pretrain_encoder(torch.zeros(2, 3, 32, 32),
                                             torch.zeros(2, 9, dtype=torch.long), steps=0),
                        condition="attention")
