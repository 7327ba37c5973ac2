import hashlib

import numpy as np
import pytest

from minirnn.data import (
    IGNORE_INDEX,
    Vocab,
    adding_problem,
    copy_task,
    encode_names,
    load_names,
    make_shapes,
    moving_digits,
    names_split,
    names_vocab,
    number_translation,
)


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def test_names():
    names = load_names()
    assert len(names) == 5163 and names == sorted(names) and "emma" in names
    train, val = names_split(seed=0)
    assert len(val) == 516 and not set(train) & set(val)
    assert names_split(seed=0) == (train, val)
    x, y = encode_names(["ab", "c"], names_vocab())
    assert x.dtype == y.dtype == np.int64
    assert np.array_equal(x, [[0, 1, 2], [0, 3, 0]])
    assert np.array_equal(y, [[1, 2, 0], [3, 0, IGNORE_INDEX]])


def test_number_translation_split_by_number():
    splits, src_vocab, tgt_vocab = number_translation(max_number=999, seed=0)
    sets = {k: set(s.numbers.tolist()) for k, s in splits.items()}
    assert sum(len(s) for s in sets.values()) == 1000
    assert not sets["train"] & sets["test"] and not sets["val"] & sets["test"]
    train = splits["train"]
    i = train.numbers.tolist().index(21)
    assert "".join(src_vocab.decode(train.src[i])) == "einundzwanzig"
    assert "".join(tgt_vocab.decode(train.tgt_out[i][train.tgt_out[i] >= 0])) == "twenty-one"
    assert train.tgt_in[i, 0] == Vocab.BOS
    assert train.src_lengths[i] == len("einundzwanzig")
    again, _, _ = number_translation(max_number=999, seed=0)
    assert np.array_equal(again["test"].numbers, splits["test"].numbers)


def test_shapes_deterministic_and_captions_match_cells():
    data, vocab = make_shapes(50, seed=3)
    assert data.images.shape == (50, 3, 32, 32) and data.cells.shape == (50, 9)
    assert data.images.dtype == np.float32 and data.captions_in.dtype == np.int64
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert ((data.cells > 0).sum(1) == 2).all()  # exactly two shapes per image
    assert digest(data.images, data.captions_in) == digest(*_shapes_again())
    for caption, row_in, row_out in zip(data.captions, data.captions_in, data.captions_out):
        words = caption.split()
        assert words[0] == "a" and words[3] in ("left", "right", "above", "below")
        assert vocab.decode(row_in) == words
        assert vocab.decode(row_out[row_out >= 0]) == words


def _shapes_again():
    data, _ = make_shapes(50, seed=3)
    return data.images, data.captions_in


def test_moving_digits():
    videos, digit, position = moving_digits(20, frames=7, seed=1)
    assert videos.shape == (20, 7, 16, 16) and digit.shape == (20,) and position.shape == (20, 7)
    assert set(np.unique(position).tolist()) <= {0, 1, 2} and 0 <= digit.min() <= digit.max() <= 9
    assert videos.dtype == np.float32 and digit.dtype == position.dtype == np.int64
    # the digit's ink moves: consecutive frames differ, and its mass is conserved
    assert not np.array_equal(videos[:, 0], videos[:, 1])
    assert np.allclose(videos.sum((2, 3))[:, 0], videos.sum((2, 3))[:, -1])
    again = moving_digits(20, frames=7, seed=1)
    assert digest(videos, digit, position) == digest(*again)
    with pytest.raises(ValueError, match="frames"):
        moving_digits(2, frames=0)


def test_adding_problem():
    x, y = adding_problem(500, 40, seed=0)
    assert x.shape == (500, 40, 2) and y.shape == (500,)
    assert x.dtype == y.dtype == np.float32
    markers = x[..., 1]
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :20].sum(1) == 1).all()
    assert np.allclose((x[..., 0] * markers).sum(1), y)
    assert abs(((y - y.mean()) ** 2).mean().item() - 1 / 6) < 0.03  # the mean predictor's MSE
    assert np.array_equal(adding_problem(500, 40, seed=0)[0], x)
    with pytest.raises(ValueError, match="length"):
        adding_problem(1, 1)


def test_copy_task():
    x, y = copy_task(10, delay=6, n_symbols=4, copy_len=3, seed=0)
    assert x.shape == y.shape == (10, 13) and x.dtype == y.dtype == np.int64
    assert np.array_equal(y[:, -3:], x[:, :3]) and (x[:, 9] == 5).all()
    assert (y[:, :10] == IGNORE_INDEX).all() and (x[:, 3:9] == 0).all()
    with pytest.raises(ValueError, match="n_symbols"):
        copy_task(1, delay=2, n_symbols=1)


def test_digit_videos_heading_and_bitmap_split():
    from minirnn.data import bitmap_split, digit_videos

    train, test = bitmap_split(n_test=397, seed=0)
    assert len(train) + len(test) == 1797 and not set(train.tolist()) & set(test.tolist())
    v = digit_videos(50, frames=6, seed=2, bitmaps=test)
    assert set(v.bitmap.tolist()) <= set(test.tolist())
    assert v.heading.shape == (50, 6) and set(np.unique(v.heading).tolist()) <= {0, 1, 2, 3}
    # between two frames with no horizontal bounce, the ink moves the way the heading says
    left = (v.videos.sum(2) > 0).argmax(-1)  # (n, frames) first inked column
    moved = np.diff(left, axis=1)
    right = v.heading >= 2
    steady = right[:, 1:] == right[:, :-1]
    assert steady.sum() > 100
    assert np.array_equal(moved[steady] > 0, right[:, 1:][steady])
    # the plain form is the same videos with all the bitmaps
    plain = moving_digits(20, frames=4, seed=3)
    full = digit_videos(20, frames=4, seed=3)
    assert np.array_equal(plain[0], full.videos) and np.array_equal(plain[1], full.digit)
    with pytest.raises(ValueError, match="bitmaps"):
        digit_videos(2, bitmaps=np.array([5000]))
    with pytest.raises(ValueError, match="n_test"):
        bitmap_split(n_test=0)
