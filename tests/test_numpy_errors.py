"""Bad input to minirnn.numpy fails early with a message that names the argument and says
what was expected and what arrived."""

from __future__ import annotations

import re

import numpy as np
import pytest

from minirnn.numpy import (
    SGD,
    Adam,
    CaptioningRNN,
    CharRNN,
    bidirectional_forward,
    clip_grad_norm,
    clip_grad_value,
    gru_forward,
    gru_step_forward,
    last_hidden,
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    multilayer_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

N, T, D, H = 4, 5, 8, 16


def z(*shape: int, dtype: type = np.float64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def rnn_args() -> dict:
    return dict(x=z(N, T, D), h0=z(N, H), Wx=z(D, H), Wh=z(H, H), b=z(H))


def raises(exc: type, *fragments: str):  # noqa: ANN201 (pytest context manager)
    """pytest.raises whose message must contain every fragment, in order."""
    return pytest.raises(exc, match=".*".join(re.escape(f) for f in fragments))


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


def test_mismatched_feature_size_names_both_arrays() -> None:
    args = rnn_args() | dict(x=z(4, 5, 7))
    with raises(ValueError, "x: expected shape (N, T, D) with D=8 to match Wx (8, 16), "
                            "got (4, 5, 7)"):
        rnn_forward(**args)


def test_wrong_rank() -> None:
    with raises(ValueError, "x: expected a 3-d array of shape (N, T, D), got shape (4, 8)"):
        rnn_forward(**(rnn_args() | dict(x=z(N, D))))
    with raises(ValueError, "b: expected a 1-d array of shape (H)", "(16, 1)"):
        rnn_forward(**(rnn_args() | dict(b=z(H, 1))))


@pytest.mark.parametrize("name, bad, fragment", [
    ("h0", z(N + 1, H), "h0: expected shape (N, H) with N=4 to match x"),
    ("h0", z(N, H + 1), "h0: expected shape (N, H) with H=16 to match Wx"),
    ("Wh", z(H, H + 1), "Wh: expected shape (H, H) with H=16 to match Wx"),
    ("b", z(H - 1), "b: expected shape (H) with H=16 to match Wx"),
])
def test_rnn_mismatched_shapes(name: str, bad: np.ndarray, fragment: str) -> None:
    with raises(ValueError, fragment):
        rnn_forward(**(rnn_args() | {name: bad}))


def test_step_shapes() -> None:
    with raises(ValueError, "prev_h: expected shape (N, H) with N=4 to match x"):
        rnn_step_forward(z(N, D), z(N + 2, H), z(D, H), z(H, H), z(H))
    with raises(ValueError, "prev_c: expected shape (N, H) with H=16"):
        lstm_step_forward(z(N, D), z(N, H), z(N, 3), z(D, 4 * H), z(H, 4 * H), z(4 * H))


def test_gate_widths_must_match() -> None:
    with raises(ValueError, "Wx: expected shape (D, 4H) with the size of axis 4H divisible by 4"):
        lstm_forward(z(N, T, D), z(N, H), z(D, 10), z(H, 4 * H), z(4 * H))
    with raises(ValueError, "Wh: expected shape (H, 4H) with H=16 to match Wx"):
        lstm_forward(z(N, T, D), z(N, H), z(D, 4 * H), z(H, 3 * H), z(4 * H))
    with raises(ValueError, "bh: expected shape (3H) with H=16 to match Wx"):
        gru_forward(z(N, T, D), z(N, H), z(D, 3 * H), z(H, 3 * H), z(3 * H), z(3 * H + 3))
    with raises(ValueError, "Wx: expected shape (D, 3H)"):
        gru_step_forward(z(N, D), z(N, H), z(D, 3 * H + 1), z(H, 3 * H), z(3 * H), z(3 * H))


def test_backward_gradient_shape() -> None:
    _, cache = rnn_forward(**rnn_args())
    with raises(ValueError, "dh: expected shape (N, T, H) with T=5 to match h"):
        rnn_backward(z(N, T + 1, H), cache)
    _, cache = lstm_forward(z(N, T, D), z(N, H), z(D, 4 * H), z(H, 4 * H), z(4 * H))
    with raises(ValueError, "dh: expected a 3-d array"):
        lstm_backward(z(N, H), cache)
    _, cache = rnn_step_forward(z(N, D), z(N, H), z(D, H), z(H, H), z(H))
    with raises(ValueError, "dnext_h: expected shape (N, H) with H=16"):
        rnn_step_backward(z(N, H + 1), cache)


# ---------------------------------------------------------------------------------------------
# Types, dtypes, values
# ---------------------------------------------------------------------------------------------


def test_not_an_array() -> None:
    with raises(TypeError, "x: expected a numpy array of shape (N, T, D), got list"):
        rnn_forward(**(rnn_args() | dict(x=[[[0.0] * D] * T] * N)))


def test_integer_data_is_rejected() -> None:
    with raises(TypeError, "x: expected a floating dtype", "got int64"):
        rnn_forward(**(rnn_args() | dict(x=z(N, T, D, dtype=np.int64))))


def test_mixed_dtypes_are_rejected_not_upcast() -> None:
    with raises(TypeError, "h0: expected dtype float32 to match x, got float64"):
        args = {k: v.astype(np.float32) for k, v in rnn_args().items()}
        rnn_forward(**(args | dict(h0=z(N, H))))


@pytest.mark.parametrize("name", ["x", "h0", "Wx", "Wh", "b"])
def test_nan_in_any_input(name: str) -> None:
    args = rnn_args()
    args[name] = args[name].copy()
    args[name].flat[1] = np.nan
    with raises(ValueError, f"{name}: expected finite values, got NaN"):
        rnn_forward(**args)


def test_inf_in_gradient() -> None:
    _, cache = rnn_forward(**rnn_args())
    dh = z(N, T, H)
    dh[0, 0, 0] = np.inf
    with raises(ValueError, "dh: expected finite values, got inf"):
        rnn_backward(dh, cache)


def test_bad_nonlinearity() -> None:
    with raises(ValueError, "nonlinearity: expected 'tanh' or 'relu', got 'sigmoid'"):
        rnn_forward(**rnn_args(), nonlinearity="sigmoid")


@pytest.mark.parametrize("lengths, exc, fragment", [
    ([5, 5, 5], ValueError, "lengths: expected shape (N,) with N=4 to match x, got (3,)"),
    ([5, 0, 3, 2], ValueError, "lengths: expected values in [1, T] with T=5, got range [0, 5]"),
    ([5, 6, 3, 2], ValueError, "lengths: expected values in [1, T] with T=5, got range [2, 6]"),
    ([5.0, 1.0, 3.0, 2.0], TypeError, "lengths: expected integers, got dtype float64"),
])
def test_bad_lengths(lengths: list, exc: type, fragment: str) -> None:
    with raises(exc, fragment):
        rnn_forward(**rnn_args(), lengths=lengths)
    with raises(exc, fragment.replace("to match x", "to match h")):
        last_hidden(z(N, T, H), lengths)


# ---------------------------------------------------------------------------------------------
# Token ids, embedding, affine, loss
# ---------------------------------------------------------------------------------------------


def test_token_ids_must_be_integers() -> None:
    with raises(TypeError, "x: expected integer token ids, got dtype float64"):
        word_embedding_forward(np.array([[0.0, 1.0]]), z(5, 3))


def test_token_ids_out_of_range() -> None:
    with raises(IndexError, "x: expected token ids in [0, V) with V=5, got range [0, 5]"):
        word_embedding_forward(np.array([[0, 5]]), z(5, 3))
    with raises(IndexError, "x: expected token ids in [0, V) with V=5, got range [-1, 2]"):
        word_embedding_forward(np.array([[-1, 2]]), z(5, 3))


def test_embedding_backward_shape() -> None:
    _, cache = word_embedding_forward(np.array([[0, 1]]), z(5, 3))
    with raises(ValueError, "dout: expected shape (N, T, D) with D=3 to match the forward pass"):
        word_embedding_backward(z(1, 2, 4), cache)


def test_temporal_affine_shapes() -> None:
    with raises(ValueError, "x: expected shape (N, T, D) with D=4 to match w (4, 6)"):
        temporal_affine_forward(z(2, 3, 5), z(4, 6), z(6))
    _, cache = temporal_affine_forward(z(2, 3, 4), z(4, 6), z(6))
    with raises(ValueError, "dout: expected shape (N, T, M) with M=6"):
        temporal_affine_backward(z(2, 3, 5), cache)


def test_softmax_loss_bad_targets_and_mask() -> None:
    with raises(IndexError, "y: expected token ids in [0, V) with V=4"):
        temporal_softmax_loss(z(2, 3, 4), np.full((2, 3), 4))
    with raises(ValueError, "y: expected shape (N, T) with T=3 to match x"):
        temporal_softmax_loss(z(2, 3, 4), np.zeros((2, 2), dtype=np.int64))
    with raises(TypeError, "mask: expected dtype bool, got int64"):
        temporal_softmax_loss(z(2, 3, 4), np.zeros((2, 3), dtype=np.int64),
                              np.ones((2, 3), dtype=np.int64))
    with raises(ValueError, "mask: expected shape (N, T) with N=2 to match x"):
        temporal_softmax_loss(z(2, 3, 4), np.zeros((2, 3), dtype=np.int64),
                              np.ones((3, 3), dtype=bool))


# ---------------------------------------------------------------------------------------------
# Bidirectional / stacked, optimizers, clipping, models
# ---------------------------------------------------------------------------------------------


def test_bidirectional_and_multilayer_arguments() -> None:
    p = (z(D, H), z(H, H), z(H))
    with raises(ValueError, "h0: expected shape (2, N, H)", "got (1, 4, 16)"):
        bidirectional_forward(z(N, T, D), z(1, N, H), p, p, cell="rnn")
    with raises(ValueError, "cell: expected one of", "got 'lstmm'"):
        bidirectional_forward(z(N, T, D), z(2, N, H), p, p, cell="lstmm")
    with raises(ValueError, "params: expected a positive multiple of 2"):
        multilayer_forward(z(N, T, D), z(3, N, H), [p, p, p], cell="rnn", bidirectional=True)
    with raises(ValueError, "h0: expected shape (K, N, H) with K=2 to match params"):
        multilayer_forward(z(N, T, D), z(1, N, H), [p, (z(H, H), z(H, H), z(H))], cell="rnn")


def test_optimizer_arguments() -> None:
    with raises(ValueError, "lr: expected a positive learning rate, got 0"):
        SGD(0)
    opt = Adam(1e-3)
    with raises(ValueError, "grads: expected the keys of params ['w'], got ['v']"):
        opt.step({"w": z(3)}, {"v": z(3)})
    with raises(ValueError, "grads['w']: expected shape (3,) to match params, got (4,)"):
        opt.step({"w": z(3)}, {"w": z(4)})


def test_clip_arguments() -> None:
    with raises(ValueError, "max_norm: expected a positive number, got -1"):
        clip_grad_norm({"w": z(3)}, -1)
    with raises(ValueError, "clip: expected a positive number, got 0"):
        clip_grad_value({"w": z(3)}, 0)
    with raises(TypeError, "grads: expected floating numpy arrays"):
        clip_grad_norm([np.arange(3)], 1.0)


def test_model_arguments() -> None:
    with raises(ValueError, "cell: expected one of ['gru', 'lstm', 'rnn'], got 'transformer'"):
        CharRNN(10, cell="transformer")
    model = CharRNN(10, hidden_size=8)
    with raises(IndexError, "x: expected token ids in [0, V) with V=10"):
        model.loss(np.array([[1, 10]]), np.array([[1, 2]]))
    with raises(ValueError, "y: expected shape (1, 2) to match x, got (1, 3)"):
        model.loss(np.array([[1, 2]]), np.array([[1, 2, 3]]))
    with raises(ValueError, "temperature: expected a number >= 0, got -1"):
        model.sample(0, 5, temperature=-1)
    with raises(ValueError, "word_to_idx: expected the special token <END>"):
        CaptioningRNN({"<NULL>": 0, "<START>": 1, "cat": 2}, input_dim=4)
    cap = CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3}, input_dim=4,
                        wordvec_dim=3, hidden_dim=5)
    with raises(ValueError, "features: expected shape (N, F) with F=4 to match the model's "
                            "input_dim, got (2, 5)"):
        cap.loss(z(2, 5, dtype=np.float32), np.array([[1, 3, 2], [1, 3, 2]]))
    with raises(TypeError, "features: expected dtype float32 to match W_proj, got float64"):
        cap.sample(z(2, 4))


def test_check_gradients_arguments() -> None:
    from minirnn.numpy import check_gradients

    def backward_missing_db(dnext_h: np.ndarray, cache: tuple) -> tuple:
        return rnn_step_backward(dnext_h, cache)[:4]

    inputs = dict(x=z(2, 3), prev_h=z(2, 4), Wx=z(3, 4), Wh=z(4, 4), b=z(4))
    with raises(ValueError, "backward: expected 5 gradients (x, prev_h, Wx, Wh, b), got 4"):
        check_gradients(rnn_step_forward, backward_missing_db, inputs)


def test_fast_true_without_the_fast_package_says_so(monkeypatch) -> None:
    import sys

    from minirnn.numpy import bidirectional_forward

    # what an assignment's copy of minirnn.numpy looks like: no fast package beside it
    for name in [m for m in sys.modules if m.startswith("minirnn.numpy.fast")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "minirnn.numpy.fast", None)
    x, h0 = z(2, 3, 4), z(2, 2, 5)
    params = (z(4, 5), z(5, 5), z(5))
    with raises(ValueError, "fast=True: this copy of minirnn.numpy has no fast package"):
        bidirectional_forward(x, h0, params, params, cell="rnn", fast=True)
