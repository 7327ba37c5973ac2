"""Graded tests of A3: image captioning in PyTorch, where the image vector v enters the decoder.

Each condition of chapter 9 is checked against the decoder run by hand from the model's own
layers (projection, embedding, recurrent layer, head): v as the initial hidden state, v as the
first input, v concatenated to every input. A small model must then learn to caption a handful
of images. Run them with ``python -m pytest tests -q`` from the assignment folder.
"""

import torch

from minirnn.data.tokens import Vocab
from minirnn.torch.models import CaptioningModel, ShapesEncoder

torch.set_num_threads(1)
VOCAB = 12


def model_and_data(condition, cell="lstm", seed=0):
    torch.manual_seed(seed)
    model = CaptioningModel(VOCAB, ShapesEncoder(feature_size=16), hidden_size=12, embed_size=6,
                            cell=cell, condition=condition, backend="torch")
    g = torch.Generator().manual_seed(seed + 100)
    images = torch.rand(3, 3, 32, 32, generator=g)
    words = torch.randint(3, VOCAB, (3, 5), generator=g)
    words[:, 0] = Vocab.BOS
    return model, images, words


def close(a, b):
    return a.shape == b.shape and torch.allclose(a, b, atol=1e-6, rtol=1e-5)


def test_v_as_initial_state():
    for cell in ("lstm", "gru"):
        model, images, words = model_and_data("h0", cell)
        with torch.no_grad():
            v = model.encoder.features(images)
            h0 = torch.tanh(model.project(v)).unsqueeze(0)
            state = (h0, torch.zeros_like(h0)) if cell == "lstm" else h0
            out, _ = model.rnn(model.embed(words), state)
            assert close(model(images, words), model.head(out)), cell


def test_v_as_first_input():
    for cell in ("lstm", "gru"):
        model, images, words = model_and_data("first_input", cell)
        with torch.no_grad():
            v = model.encoder.features(images)
            sequence = torch.cat([model.project(v).unsqueeze(1), model.embed(words)], dim=1)
            out, _ = model.rnn(sequence)
            assert close(model(images, words), model.head(out[:, 1:])), cell


def test_v_at_every_step():
    for cell in ("lstm", "gru"):
        model, images, words = model_and_data("every_step", cell)
        with torch.no_grad():
            v = model.encoder.features(images)
            projected = model.project(v).unsqueeze(1).repeat(1, words.shape[1], 1)
            out, _ = model.rnn(torch.cat([model.embed(words), projected], dim=2))
            assert close(model(images, words), model.head(out)), cell


def test_decoding_uses_the_same_conditioning():
    """Captions are decoded through start/step: the first step's logits must equal the first
    column of forward's. (Greedy only: beam search is A4's.)"""
    for condition in CaptioningModel.CONDITIONS:
        model, images, words = model_and_data(condition)
        model.eval()
        with torch.no_grad():
            p, state = model.start(images)
            logits, _ = model.step(words[:, 0], (state, p[None]))
            assert close(logits, model(images, words)[:, 0]), condition
        captions = model.caption(images[:2], max_len=4)
        assert len(captions) == 2 and all(isinstance(i, int) for c in captions for i in c)


def test_a_small_model_learns_to_caption():
    """Four images with four different captions: the model must tell them apart through v."""
    for condition in ("h0", "every_step"):
        model, _, _ = model_and_data(condition, seed=1)
        images = torch.zeros(4, 3, 32, 32)
        for k in range(4):  # a bright square in a different corner of each image
            images[k, :, 16 * (k // 2): 16 * (k // 2) + 16, 16 * (k % 2): 16 * (k % 2) + 16] = 1
        captions = torch.tensor([[Vocab.BOS, 3 + k, 7 + k, Vocab.EOS] for k in range(4)])
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-2)
        first = None
        for _ in range(200):
            loss = model.loss(images, captions[:, :-1], captions[:, 1:])
            first = loss.item() if first is None else first
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        assert loss.item() < 0.1 * first, (condition, first, loss.item())
        assert model.caption(images) == [[3 + k, 7 + k] for k in range(4)], condition
