import gzip
import hashlib

import numpy as np
import pytest

from minirnn.data import (
    CharVocab,
    TBPTTBatcher,
    TextFileError,
    load_corpus,
    load_text,
    split_text,
)
from minirnn.data.text import CORPUS_PATH


def test_corpus_checksum_and_size():
    data = gzip.decompress(CORPUS_PATH.read_bytes())
    assert len(data) == 1223440
    assert hashlib.sha256(data).hexdigest() == (
        "b8042e2f9ebe7631606481e28dd166b29b42864a0353f65f0252406dddd186cb"
    )
    assert CORPUS_PATH.stat().st_size < 600_000
    text = load_corpus()
    assert text.startswith("numpy.")
    assert len(text) == 1223306


def test_load_text_errors(tmp_path):
    with pytest.raises(TextFileError, match="does not exist"):
        load_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(TextFileError, match="is empty"):
        load_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(TextFileError, match="not UTF-8: byte 0xe9 at offset 3"):
        load_text(tmp_path / "latin1.txt")
    (tmp_path / "ok.txt").write_text("héllo\n", encoding="utf-8")
    assert load_text(tmp_path / "ok.txt") == "héllo\n"


def test_split_is_last_ten_percent():
    text = "".join(chr(97 + i % 26) for i in range(1000))
    train, val = split_text(text)
    assert train + val == text and len(val) == 100
    with pytest.raises(ValueError, match="val_fraction"):
        split_text(text, 1.5)
    with pytest.raises(ValueError, match="too short"):
        split_text("abc")


def test_char_vocab_round_trip_and_unknown_policies():
    vocab = CharVocab.from_text("hello world")
    assert vocab.chars == " dehlorw" and len(vocab) == 8
    assert vocab.decode(vocab.encode("hold")) == "hold"
    with pytest.raises(ValueError, match="outside the vocabulary: 'xz'"):
        vocab.encode("oxoz")
    skip = CharVocab(vocab.chars, unknown="skip")
    assert skip.decode(skip.encode("oxoz")) == "oo"
    rep = CharVocab(vocab.chars, unknown="replace", unk_char="?")
    assert len(rep) == 9 and rep.decode(rep.encode("oxo")) == "o?o"
    with pytest.raises(ValueError, match="unknown must be"):
        CharVocab("ab", unknown="ignore")
    with pytest.raises(IndexError, match="outside the vocabulary range"):
        vocab.decode([8])
    with pytest.raises(ValueError, match="must not repeat"):
        CharVocab("aab")


def test_batcher_streams_continue_between_batches():
    ids = np.arange(101, dtype=np.int64)
    batcher = TBPTTBatcher(ids, batch_size=4, seq_len=5)
    # 100 inputs cut into 4 streams of 25: stream b starts at 25 b
    x0, y0, new0 = batcher.next_batch()
    x1, y1, new1 = batcher.next_batch()
    assert x0.shape == (4, 5) and x0.dtype == np.int64 and new0 and not new1
    assert np.array_equal(x0[:, 0], [0, 25, 50, 75])
    assert np.array_equal(y0, x0 + 1)
    assert np.array_equal(x1[:, 0], x0[:, -1] + 1)  # row b continues where it stopped
    for _ in range(3):
        batcher.next_batch()
    x5, _, new5 = batcher.next_batch()  # 5 batches per epoch: the 6th wraps
    assert new5 and np.array_equal(x5, x0) and batcher.epoch == 1
    state = batcher.state_dict()
    again = TBPTTBatcher(ids, batch_size=4, seq_len=5)
    again.load_state_dict(state)
    assert np.array_equal(again.next_batch()[0], batcher.next_batch()[0])


def test_batcher_ranks_take_disjoint_streams():
    ids = np.arange(201, dtype=np.int64)
    a = TBPTTBatcher(ids, 2, 5, rank=0, world_size=2).next_batch()[0]
    b = TBPTTBatcher(ids, 2, 5, rank=1, world_size=2).next_batch()[0]
    assert np.array_equal(np.concatenate([a, b])[:, 0], [0, 50, 100, 150])


def test_batcher_bad_input():
    with pytest.raises(ValueError, match=r"int64 array of shape \(L,\), got float64"):
        TBPTTBatcher(np.zeros(10), 2, 2)
    with pytest.raises(ValueError, match="got list"):
        TBPTTBatcher([1, 2, 3], 1, 1)
    with pytest.raises(ValueError, match="too short"):
        TBPTTBatcher(np.arange(10, dtype=np.int64), 4, 5)
    with pytest.raises(ValueError, match="rank"):
        TBPTTBatcher(np.arange(100, dtype=np.int64), 2, 2, rank=2, world_size=2)
