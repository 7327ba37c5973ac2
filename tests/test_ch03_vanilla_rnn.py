"""minirnn.chapters.ch03_vanilla_rnn: the motif task, the two taggers, accuracy by position, PCA."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.chapters import ch03_vanilla_rnn as sharing
from minirnn.numpy import eval_numerical_gradient, rel_error
from minirnn.numpy.train import count_params


def test_motif_task_places_one_pair_at_allowed_starts():
    tokens, labels, starts = sharing.motif_task(200, T=10, positions=[2, 5], V=6, seed=0)
    assert tokens.shape == (200, 10) and tokens.dtype == np.int64
    assert set(np.unique(starts)) == {2, 5}
    assert np.array_equal(labels, np.arange(200) % 2 == 0)
    rows = np.arange(200)
    assert np.array_equal(tokens[rows, starts], np.where(labels == 1, 0, 1))
    assert np.array_equal(tokens[rows, starts + 1], np.where(labels == 1, 1, 0))
    assert np.all((tokens == 0).sum(axis=1) == 1) and np.all((tokens == 1).sum(axis=1) == 1)


def test_motif_tags_mark_the_step_that_completes_a_then_b():
    tokens = np.array([[2, 0, 1, 3, 1, 0], [1, 0, 2, 0, 1, 1]])
    expected = np.array([[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0]])
    assert np.array_equal(sharing.motif_tags(tokens), expected)


@pytest.mark.parametrize("kwargs, message", [
    (dict(T=1, positions=[0]), "T: expected at least 2"),
    (dict(T=5, positions=[4]), r"positions: expected start positions in \[0, 3\]"),
    (dict(T=5, positions=[]), "positions: expected a non-empty 1-D integer array"),
    (dict(T=5, positions=[0], V=2), "V: expected at least 3"),
])
def test_motif_task_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sharing.motif_task(4, **kwargs)


def test_motif_tags_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"tokens: expected shape \(N, T\)"):
        sharing.motif_tags(np.zeros(5, dtype=np.int64))


@pytest.mark.parametrize("make", [
    lambda: sharing.RNNTagger(V=4, H=3, seed=1),
    lambda: sharing.FlatMLPTagger(T=5, V=4, H=3, seed=1),
])
def test_tagger_gradients_match_numeric(make):
    model = make()
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 4, size=(3, 5))
    tags = rng.integers(0, 2, size=(3, 5))
    _, grads = model.loss(tokens, tags)
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(tokens, tags)[0], value)
        assert rel_error(grads[name], numeric) < 1e-6, name
    assert model.predict(tokens).shape == (3, 5)


def test_tagger_parameter_counts():
    assert count_params(sharing.RNNTagger(V=6, H=16)) == 6 * 16 + 16 * 16 + 16 + 16 * 2 + 2
    mlp_counts = [count_params(sharing.FlatMLPTagger(T=T, V=6, H=16)) for T in (10, 20)]
    assert mlp_counts[1] - mlp_counts[0] == 10 * 6 * 16 + 16 * 2 * 10 + 2 * 10


class _AlwaysNo:
    def predict(self, tokens):
        return np.zeros(np.shape(tokens), dtype=np.int64)


class _Oracle:
    def predict(self, tokens):
        return sharing.motif_tags(tokens)


def test_accuracy_by_position_is_half_for_a_silent_model_and_one_for_the_oracle():
    assert np.all(sharing.accuracy_by_position(_AlwaysNo(), T=8, n=40) == 0.5)
    assert np.all(sharing.accuracy_by_position(_Oracle(), T=8, n=40) == 1.0)
    assert sharing.accuracy_by_position(_Oracle(), T=8, n=40).shape == (7,)


def test_project_2d_finds_the_dominant_directions():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(500, 2)) * [5.0, 2.0]
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0][:2]
    states = latent @ basis + 0.01 * rng.normal(size=(500, 6))
    points, explained = sharing.project_2d(states.reshape(50, 10, 6))
    assert points.shape == (50, 10, 2)
    assert explained[0] > explained[1] > 0.1 and explained.sum() > 0.99
    assert abs(abs(np.corrcoef(points.reshape(-1, 2)[:, 0], latent[:, 0])[0, 1]) - 1) < 1e-3
    with pytest.raises(ValueError, match=r"states: expected shape \(..., H\) with H >= 2"):
        sharing.project_2d(np.zeros((4, 1)))


def test_swap_pair_exchanges_a_and_b_and_keeps_fillers():
    tokens = np.array([[2, 0, 1, 5], [1, 0, 3, 3]])
    assert np.array_equal(sharing.swap_pair(tokens), [[2, 1, 0, 5], [0, 1, 3, 3]])
    # the twin fires exactly where the original's "B A" was, and not where its "A B" was
    assert np.array_equal(sharing.motif_tags(tokens), [[0, 0, 1, 0], [0, 0, 0, 0]])
    twin_tags = sharing.motif_tags(sharing.swap_pair(tokens))
    assert np.array_equal(twin_tags, [[0, 0, 0, 0], [0, 1, 0, 0]])


def test_fire_probability_is_the_softmax_of_the_tagger_scores():
    model = sharing.RNNTagger(V=6, H=4, seed=3)
    tokens = np.random.default_rng(0).integers(0, 6, size=(3, 7))
    scores = model.scores(tokens)
    expected = np.exp(scores[..., 1]) / np.exp(scores).sum(axis=-1)
    p = sharing.fire_probability(model, tokens)
    assert p.shape == (3, 7) and np.allclose(p, expected, atol=1e-12, rtol=0)


def test_plots_draw_the_chapter_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = {"a": np.linspace(0.5, 1, 19), "b": np.full(19, 0.5)}
    fig = sharing.plot_accuracy_by_position(acc, np.arange(6))
    assert len(fig.axes[0].lines) == 3  # two models and the chance line
    plt.close(fig)
    rng = np.random.default_rng(0)
    fig = sharing.plot_state_paths(rng.normal(size=(2, 20, 16)), rng.normal(size=(5, 20, 16)), 12)
    assert len(fig.axes) == 3  # the difference image, its colour bar, the projection
    plt.close(fig)
