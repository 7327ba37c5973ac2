"""Chapter 9's package logic: the scene captions, held-out test images that are never training
images, scoring by position (as written and aligned), batched greedy decoding, teacher-forced
accuracy, beam search of width 1, and loading stored decoders."""

from __future__ import annotations

import pytest
import torch

from minirnn.chapters import ch09_image_captioning as cap
from minirnn.data import make_scenes, make_shapes, to_torch
from minirnn.data.shapes import COLOURS, SHAPES, seen_captions, seen_images
from minirnn.data.tokens import Vocab
from minirnn.torch.models import ShapesEncoder


@pytest.fixture(scope="module")
def small():
    task = cap.caption_task("scene", n_train=64, n_test=12)
    torch.manual_seed(0)
    return task, ShapesEncoder().eval()


def test_scene_captions_name_objects_in_reading_order():
    data, vocab = to_torch(make_scenes(20, objects=3, seed=4))
    colours = list(COLOURS)
    for cells, caption in zip(data.cells.tolist(), data.captions):
        named = [(c - 1) // len(SHAPES) for c in cells if c], [(c - 1) % len(SHAPES)
                                                               for c in cells if c]
        words = [w for i, (k, s) in enumerate(zip(*named))
                 for w in (colours[k], SHAPES[s])]
        assert caption == " ".join(words) and len(words) == 6
    assert data.captions_in.shape == data.captions_out.shape == (20, 7)
    assert (data.captions_in[:, 0] == Vocab.BOS).all()
    assert (data.captions_out[:, 6] == Vocab.EOS).all()
    again, _ = to_torch(make_scenes(20, objects=3, seed=4))
    assert again.captions == data.captions and torch.equal(again.images, data.images)
    assert len(vocab) == len(cap.caption_task("two_shapes", 8, 8).vocab)


def test_scene_and_task_errors():
    with pytest.raises(ValueError, match="objects must be in"):
        make_scenes(3, objects=10)
    with pytest.raises(ValueError, match="n must be >= 1"):
        make_scenes(0)
    with pytest.raises(ValueError, match="name must be one of"):
        cap.caption_task("three")
    encoder = ShapesEncoder()
    with pytest.raises(ValueError, match="condition must be one of"):
        cap.build_captioner("h1", "rnn", 15, encoder)
    with pytest.raises(ValueError, match="cell must be one of"):
        cap.build_captioner("h0", "gru", 15, encoder)


def test_one_loop_draws_both_datasets_with_the_same_random_stream():
    # a scene of two objects is a two-shape image: the same cells, colours and shapes
    shapes, _ = make_shapes(30, seed=5)
    scenes, _ = make_scenes(30, objects=2, seed=5)
    assert (shapes.images == scenes.images).all() and (shapes.cells == scenes.cells).all()
    for two, scene in zip(shapes.captions, scenes.captions):
        words = two.split()
        assert scene.split() == words[1:3] + words[-2:]


@pytest.mark.parametrize("name", cap.TASKS)
def test_held_out_images_are_never_training_images(name):
    task = cap.caption_task(name, n_train=3000, n_test=500)
    assert len(task.test) == 500
    assert not seen_images(task.test, task.train).any()
    cap.check_held_out(task)
    assert task.overlap["test_seen_images"] == 0
    assert task.overlap["test_seen_captions"] == seen_captions(task.test, task.train).sum()
    unseen = cap.unseen_caption_subset(task)
    assert not seen_captions(unseen, task.train).any()
    assert len(unseen) == 500 - task.overlap["test_seen_captions"]
    # a plain second draw does repeat training images, which is why they are skipped
    assert task.overlap["plain_seen_images"] > 0
    # and the check can fail: plant one training image in the test set
    planted = cap.CaptionTask(task.name, task.train, cap.subset(task.test, range(500)),
                              task.vocab, task.overlap)
    planted.test.images[7] = task.train.images[123]
    with pytest.raises(AssertionError, match="1 of 500 test images"):
        cap.check_held_out(planted)


def test_caption_task_refuses_a_test_set_larger_than_the_unseen_images():
    # three objects in one of 9 cells each: with 9 objects every image has all 9 cells filled,
    # and 12**9 colourings leave room; with 1 object there are only 9 * 12 = 108 images
    with pytest.raises(ValueError, match="test images are unseen in training"):
        cap.caption_task("scene", n_train=2000, n_test=50, objects=1)


def test_position_accuracy_counts_eos_and_missing_tokens():
    targets = [[5, 6, 7], [5, 6]]
    predicted = [[5, 9, 7], [5, 6, 7]]
    # positions: 0 both right; 1 one of two; 2 first right (7), second expects eos and gets 7;
    # 3 only the first reaches it: eos expected, eos given
    assert cap.position_accuracy(predicted, targets) == [1.0, 0.5, 0.5, 1.0]
    assert cap.position_accuracy([[5]], [[5, 6]]) == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="predicted has 1 captions, targets 2"):
        cap.position_accuracy([[5]], targets)


@pytest.mark.parametrize("condition", cap.CONDITIONS)
def test_batched_greedy_equals_one_image_at_a_time_and_beam_width_one(small, condition):
    task, encoder = small
    torch.manual_seed(3)
    model = cap.build_captioner(condition, "lstm", len(task.vocab), encoder, 8, 4).eval()
    images = task.test.images[:5]
    batched = cap.greedy_captions(model, images)
    one_by_one = [cap.greedy_captions(model, im[None])[0] for im in images]
    assert batched == one_by_one
    if condition != "attention":
        assert batched == model.caption(images)
    for im, ids in zip(images, batched):
        beam_ids, score = cap.beam_caption(model, im, beam_width=1)
        assert beam_ids == ids
        ended = len(ids) < 12  # greedy stopped with <eos> before the maximum length
        assert score == pytest.approx(cap.caption_log_prob(model, im, ids, eos=ended), abs=1e-5)


def test_teacher_forced_first_position_equals_free_running(small):
    task, encoder = small
    torch.manual_seed(4)
    model = cap.build_captioner("every_step", "rnn", len(task.vocab), encoder, 8, 4)
    scores = cap.evaluate_captioner(model, task.test)
    # before the first word both read <bos> and the image: the same prediction
    assert scores["teacher_forced_by_position"][0] == scores["by_position"][0]
    assert len(scores["by_position"]) == len(scores["teacher_forced_by_position"]) == 7
    assert 0 <= scores["exact"] <= scores["token_accuracy"] <= 1


def test_grid_and_stored_weights_round_trip(small):
    task, encoder = small
    runs, models = cap.run_grid(task, encoder, ("h0", "attention"), ("rnn",), (0,), steps=3,
                                hidden_size=8, log=lambda line: None)
    assert [(r["condition"], r["cell"], r["seed"]) for r in runs] == [
        ("h0", "rnn", 0), ("attention", "rnn", 0)]
    weights = {"encoder": encoder.state_dict()}
    weights |= {k: cap.decoder_weights(m) for k, m in models.items()}
    assert not any(k.startswith("encoder.") for k in weights["rnn/h0"])
    _, loaded = cap.load_captioners(weights, len(task.vocab))
    for key, model in models.items():
        assert cap.greedy_captions(loaded[key], task.test.images) == cap.greedy_captions(
            model, task.test.images)
    table = cap.summarise(runs, "exact")
    assert set(table) == {("scene", "rnn", "h0"), ("scene", "rnn", "attention")}


def test_standardised_encoder_scales_v_and_keeps_the_classifier(small):
    task, encoder = small
    standard = cap.StandardisedEncoder.fit(encoder, task.train.images)
    v = standard.features(task.train.images)
    assert torch.allclose(v.mean(0), torch.zeros(128), atol=1e-4)
    assert torch.allclose(encoder(task.test.images), standard(task.test.images))
    assert torch.equal(encoder.feature_map(task.test.images),
                       standard.feature_map(task.test.images))
    assert not any(p.requires_grad for p in standard.parameters())
    weights = {"encoder": standard.state_dict()}
    loaded, _ = cap.load_captioners(weights, len(task.vocab))
    assert isinstance(loaded, cap.StandardisedEncoder)
    assert torch.equal(loaded.features(task.test.images), standard.features(task.test.images))


def test_h0_saturation_needs_the_h0_condition(small):
    task, encoder = small
    model = cap.build_captioner("every_step", "rnn", len(task.vocab), encoder)
    with pytest.raises(ValueError, match="condition='h0'"):
        cap.h0_saturation(model, task.test.images)
