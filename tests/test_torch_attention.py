"""minirnn.torch.attention.AttentionCaptioner (chapter 9): shapes, weights that sum to one,
step-by-step decoding equal to teacher forcing, a frozen encoder, both backends, clear errors."""

from __future__ import annotations

import pytest
import torch

from minirnn.data import to_torch
from minirnn.data.shapes import make_shapes
from minirnn.data.tokens import Vocab
from minirnn.torch import cells, decode
from minirnn.torch.attention import AttentionCaptioner
from minirnn.torch.models import ShapesEncoder


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    data, vocab = to_torch(make_shapes(6, seed=0))
    return data, vocab, ShapesEncoder().eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_shapes_of_logits_attention_and_state(setup, cell):
    data, vocab, encoder = setup
    torch.manual_seed(0)
    model = AttentionCaptioner(len(vocab), encoder, hidden_size=8, embed_size=4, cell=cell)
    n, t = data.captions_in.shape
    assert model(data.images, data.captions_in).shape == (n, t, len(vocab))
    alpha = model.attention_weights(data.images, data.captions_in)
    assert alpha.shape == (n, t, 16)
    assert torch.allclose(alpha.sum(-1), torch.ones(n, t), atol=1e-6)
    assert (alpha >= 0).all()
    state = model.start(data.images)
    assert state[0].shape == (1, n, 8) and state[-1].shape == (1, n, 16, 32)
    assert len(state) == (3 if cell == "lstm" else 2)


def test_context_is_the_region_when_all_regions_are_equal(setup):
    _, vocab, encoder = setup
    model = AttentionCaptioner(len(vocab), encoder, hidden_size=8)
    region = torch.randn(2, 1, 32)
    z, alpha = model.attend(torch.randn(2, 8), region.expand(2, 16, 32))
    assert torch.allclose(alpha, torch.full((2, 16), 1 / 16))
    assert torch.allclose(z, region[:, 0], atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_step_by_step_decoding_equals_teacher_forcing(setup, cell):
    data, vocab, encoder = setup
    torch.manual_seed(1)
    model = AttentionCaptioner(len(vocab), encoder, hidden_size=8, embed_size=4, cell=cell)
    model.eval()
    full = model(data.images, data.captions_in)
    state = model.start(data.images)
    for t in range(data.captions_in.shape[1]):
        logits, state = model.step(data.captions_in[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    # the state keeps the batch on dim 1, so decode.select_state picks one image
    one = decode.select_state(model.start(data.images), torch.tensor([2]))
    logits, _ = model.step(torch.tensor([Vocab.BOS]), one)
    assert torch.allclose(logits[0], full[2, 0], atol=1e-5)


def test_encoder_stays_frozen_and_in_eval_mode(setup):
    data, vocab, encoder = setup
    model = AttentionCaptioner(len(vocab), encoder, hidden_size=8)
    model.train()
    assert not model.encoder.training
    model.loss(data.images, data.captions_in, data.captions_out).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.key.weight.grad is not None and model.head.weight.grad is not None


def test_errors_name_the_argument(setup):
    data, vocab, encoder = setup
    with pytest.raises(ValueError, match="cell must be one of"):
        AttentionCaptioner(len(vocab), encoder, cell="gru")
    with pytest.raises(ValueError, match="backend must be one of"):
        AttentionCaptioner(len(vocab), encoder, backend="numpy")
    model = AttentionCaptioner(len(vocab), encoder, hidden_size=8)
    with pytest.raises(TypeError, match="captions_in must be a LongTensor"):
        model(data.images, data.captions_in.float())
    with pytest.raises(ValueError, match=r"captions_in must have shape \(N=6, T\)"):
        model(data.images, data.captions_in[:3])
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, 32, 32\)"):
        model(data.images[:, :1], data.captions_in)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_backends_hold_the_same_weights_and_compute_the_same(setup, cell):
    data, vocab, encoder = setup
    torch.manual_seed(2)
    ours = AttentionCaptioner(len(vocab), encoder, hidden_size=8, embed_size=4, cell=cell)
    torch.manual_seed(2)
    theirs = AttentionCaptioner(len(vocab), encoder, hidden_size=8, embed_size=4, cell=cell,
                                backend="torch")
    assert isinstance(ours.cell, cells.LSTMCell if cell == "lstm" else cells.RNNCell)
    assert isinstance(theirs.cell, torch.nn.LSTMCell if cell == "lstm" else torch.nn.RNNCell)
    theirs.load_state_dict(ours.state_dict())  # strict: the same names and shapes
    with torch.no_grad():
        assert torch.allclose(ours(data.images, data.captions_in),
                              theirs(data.images, data.captions_in), atol=1e-5)
