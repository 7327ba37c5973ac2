"""Unit tests of chapter 16's pieces: the length split, the attention and Transformer
translators, the step counts, the diagonal linear RNN and its stack, parity batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.chapters import ch16_after_recurrence as ch16
from minirnn.data import number_translation_by_length, to_torch
from minirnn.data.numbers import number_words
from minirnn.data.tokens import Vocab
from minirnn.torch.attention import AttentionSeq2Seq
from minirnn.torch.linear_rnn import DiagonalLinearRNN, LinearRNNBlock, LinearRNNRegressor
from minirnn.torch.transformer import (
    sequential_steps,
    sinusoidal_positions,
)


@pytest.fixture(scope="module")
def data():
    return ch16.translation_data()


def test_length_split_is_disjoint_and_longer_means_longer_than_any_training_target():
    splits, _, _ = number_translation_by_length(max_train_length=28, seed=0)
    train, test, longer = (set(splits[k].numbers.tolist()) for k in ("train", "test", "longer"))
    assert not train & test and not train & longer and not test & longer
    assert len(train | test | longer) == 1000
    words = number_words(list(range(1000)), "en")
    assert max(len(words[n]) for n in train) <= 28 < min(len(words[n]) for n in longer)
    assert max(len(words[n]) for n in test) <= 28
    assert len(test) == int(0.15 * (len(train) + len(test)))


def test_length_split_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_train_length"):
        number_translation_by_length(max_train_length=40)
    with pytest.raises(ValueError, match="test_fraction"):
        number_translation_by_length(test_fraction=1.5)


def test_translators_have_parameter_counts_within_ten_percent(data):
    _, sv, tv = data
    counts = [ch16.parameter_count(ch16.build_translator(k, len(sv), len(tv)))
              for k in ch16.TRANSLATORS]
    assert max(counts) <= 1.1 * min(counts)
    with pytest.raises(ValueError, match="kind"):
        ch16.build_translator("lstm", len(sv), len(tv))


@pytest.mark.parametrize("kind", ch16.TRANSLATORS)
def test_translator_shapes_loss_and_greedy_decoding(data, kind):
    splits, sv, tv = data
    torch.manual_seed(0)
    model = ch16.build_translator(kind, len(sv), len(tv))
    s = splits["test"]
    src, lengths, tin, tout = s.src[:5], s.src_lengths[:5], s.tgt_in[:5], s.tgt_out[:5]
    logits = model(src, lengths, tin)
    assert logits.shape == (5, tin.shape[1], len(tv))
    loss = model.loss(src, lengths, tin, tout)
    assert torch.isfinite(loss) and abs(loss.item() - np.log(len(tv))) < 1.0
    out = ch16.translate(model, src, lengths, max_len=7)
    assert len(out) == 5 and all(len(o) <= 7 and Vocab.EOS not in o for o in out)


@pytest.mark.parametrize("kind", ["attention", "transformer"])
def test_padding_does_not_change_a_translation(data, kind):
    # one source alone and the same source padded by three more positions give the same logits
    splits, sv, tv = data
    torch.manual_seed(0)
    model = ch16.build_translator(kind, len(sv), len(tv)).eval()
    s = splits["test"]
    n = int(s.src_lengths[0])
    src, tin = s.src[:1, :n], s.tgt_in[:1, :6]
    padded = torch.cat([src, torch.zeros(1, 3, dtype=torch.long)], 1)
    with torch.no_grad():
        a = model(src, s.src_lengths[:1], tin)
        b = model(padded, s.src_lengths[:1], tin)
    assert torch.allclose(a, b, atol=1e-5)


def test_transformer_decoder_is_causal(data):
    # changing a later target token leaves the logits at earlier positions unchanged
    splits, sv, tv = data
    torch.manual_seed(0)
    model = ch16.build_translator("transformer", len(sv), len(tv)).eval()
    s = splits["test"]
    tin = s.tgt_in[:2, :8].clone()
    with torch.no_grad():
        a = model(s.src[:2], s.src_lengths[:2], tin)
        tin[:, 5] = 3
        b = model(s.src[:2], s.src_lengths[:2], tin)
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-5)
    assert not torch.allclose(a[:, 5:], b[:, 5:], atol=1e-5)


def test_attention_weights_sum_to_one_over_real_positions(data):
    splits, sv, tv = data
    torch.manual_seed(0)
    model = AttentionSeq2Seq(len(sv), len(tv), 16, 8)
    s = splits["longer"]
    alpha = model.attention_weights(s.src[:4], s.src_lengths[:4], s.tgt_in[:4])
    assert alpha.shape == (4, s.tgt_in.shape[1], s.src.shape[1])
    assert torch.allclose(alpha.sum(-1), torch.ones(4, s.tgt_in.shape[1]))
    for i, n in enumerate(s.src_lengths[:4].tolist()):
        assert float(alpha[i, :, n:].abs().sum()) == 0.0
    with pytest.raises(ValueError, match="src_lengths"):
        model.start(s.src[:4], None)


def test_sequential_steps_counts():
    assert sequential_steps("rnn", 20, 25, "train") == 45
    assert sequential_steps("rnn", 20, 25, "generate") == 45
    assert sequential_steps("transformer", 20, 25, "train", num_layers=2) == 4
    assert sequential_steps("transformer", 20, 25, "generate", num_layers=2) == 2 + 50
    with pytest.raises(ValueError, match="mode"):
        sequential_steps("rnn", 2, 2, "infer")
    with pytest.raises(ValueError, match="kind"):
        sequential_steps("lstm", 2, 2, "train")
    table = ch16.step_table(20, 25)
    assert [v["train"] for v in table.values()] == [45, 4]


def test_recurrent_step_count_matches_the_cell_calls(data):
    # count the attention decoder's cell calls and the encoder's time steps on a real forward
    splits, sv, tv = data
    model = AttentionSeq2Seq(len(sv), len(tv), 16, 8)
    calls = []
    model.cell.register_forward_hook(lambda *_: calls.append(1))
    s = splits["test"]
    n, T_out = int(s.src_lengths[0]), int((s.tgt_out[0] != -100).sum())
    model(s.src[:1, :n], s.src_lengths[:1], s.tgt_in[:1, :T_out])
    assert len(calls) + n == sequential_steps("rnn", n, T_out, "train")


def test_transformer_layer_applications_match_the_count(data):
    splits, sv, tv = data
    model = ch16.build_translator("transformer", len(sv), len(tv)).eval()
    calls = []
    for layer in list(model.encoder.layers) + list(model.decoder.layers):
        layer.register_forward_hook(lambda *_: calls.append(1))
    s = splits["test"]
    model(s.src[:1], s.src_lengths[:1], s.tgt_in[:1])
    assert len(calls) == sequential_steps("transformer", 9, 9, "train", num_layers=2)
    calls.clear()
    model.translate(s.src[:1], s.src_lengths[:1], max_len=6)
    assert len(calls) == sequential_steps("transformer", 9, 6, "generate", num_layers=2)


def test_sinusoidal_positions():
    P = sinusoidal_positions(50, 8)
    assert P.shape == (50, 8) and torch.allclose(P[0, 1::2], torch.ones(4))
    assert torch.allclose(P[:, 0], torch.sin(torch.arange(50.0)))
    with pytest.raises(ValueError):
        sinusoidal_positions(5, 7)


def test_diagonal_linear_rnn_scan_equals_the_loop_and_stays_stable():
    torch.manual_seed(0)
    layer = DiagonalLinearRNN(6, 5)
    u = torch.randn(3, 40, 6)
    y_scan = layer(u)
    layer.mode = "sequential"
    y_loop = layer(u)
    assert y_scan.shape == (3, 40, 6) and y_scan.dtype == torch.float32
    assert torch.allclose(y_scan, y_loop, atol=1e-5)
    with torch.no_grad():
        layer.nu_log.fill_(-10.0)  # modulus exp(-exp(-10)) = 0.99995: close to 1, below it
        layer.theta_log.fill_(3.0)
    assert (layer.eigenvalues().abs() < 1).all()
    layer2 = DiagonalLinearRNN(6, 200, r_min=0.5, r_max=0.6)
    r = layer2.eigenvalues().abs().detach()
    assert float(r.min()) >= 0.5 - 1e-6 and float(r.max()) <= 0.6 + 1e-6
    with pytest.raises(ValueError, match="r_min"):
        DiagonalLinearRNN(4, 4, r_min=0.9, r_max=1.0)
    with pytest.raises(ValueError, match="u"):
        layer(torch.randn(2, 3, 5))


def test_diagonal_linear_rnn_is_linear_in_its_inputs_over_time():
    torch.manual_seed(1)
    layer = DiagonalLinearRNN(4, 3)
    u, v = torch.randn(2, 15, 4), torch.randn(2, 15, 4)
    with torch.no_grad():
        assert torch.allclose(layer(u + 2 * v), layer(u) + 2 * layer(v), atol=1e-5)


@pytest.mark.parametrize("kind", ["lru", "mingru"])
def test_linear_rnn_regressor_shapes_gradients_and_errors(kind):
    model = LinearRNNRegressor(kind, d_model=8, num_layers=2, state_size=4, seed=0)
    x, y = torch.rand(5, 12, 2), torch.rand(5)
    assert model(x).shape == (5,)
    model.loss(x, y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.error(x, y) == pytest.approx(model.loss(x, y).item())
    clf = LinearRNNRegressor(kind, 8, 1, 4, input_size=1, outputs=2, seed=0)
    assert clf(torch.rand(3, 7, 1)).shape == (3, 2)
    with pytest.raises(ValueError, match="x"):
        model(torch.rand(5, 12, 3))
    with pytest.raises(TypeError, match="x"):
        model(torch.ones(5, 12, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="kind"):
        LinearRNNBlock("gru", 8, 4)
    with pytest.raises(ValueError, match="num_layers"):
        LinearRNNRegressor(kind, num_layers=0)


def test_sequence_models_and_parity_batches():
    for kind in ch16.SEQUENCE_MODELS:
        m = ch16.build_sequence_model(kind, seed=0)
        assert m(torch.rand(4, 10, 2)).shape == (4,)
        c = ch16.build_sequence_model(kind, input_size=1, outputs=2, seed=0)
        assert c(torch.rand(4, 10, 1)).shape == (4, 2)
    x, y = ch16.parity_batch(50, 9, seed=0)
    assert x.shape == (50, 9, 1) and set(x.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(y, x[..., 0].sum(1).long() % 2)
    with pytest.raises(ValueError, match="kind"):
        ch16.build_sequence_model("rnn")


def test_exact_by_length_groups_by_target_length():
    groups = ch16.exact_by_length([[1, 2], [3], [4, 5]], [[1, 2], [4], [4, 5]])
    assert groups == {1: (0, 1), 2: (2, 2)}
    with pytest.raises(ValueError, match="equal lengths"):
        ch16.exact_by_length([[1]], [])


def test_data_to_torch_round_trip():
    splits, _, _ = to_torch(number_translation_by_length(max_number=99, max_train_length=10))
    assert splits["train"].src.dtype == torch.long
