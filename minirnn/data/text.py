"""Character-level text: the default corpus, user files, a vocabulary, the truncated-BPTT batcher.

The default corpus is NumPy 2.4.6's docstrings (BSD-licensed), gathered once by
``tools/make_corpus.py`` and shipped gzipped, so it is the same bytes on every Python and platform.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

CORPUS_PATH = Path(__file__).with_name("numpy_docstrings.txt.gz")
CORPUS_SHA256 = "b8042e2f9ebe7631606481e28dd166b29b42864a0353f65f0252406dddd186cb"  # of the text
CORPUS_BYTES = 1223440


class TextFileError(ValueError):
    """A text file that cannot be used: missing, empty or not UTF-8. The message is one line."""


def load_corpus() -> str:
    """The default corpus as a string (about 1.2 M characters), checked against its SHA-256."""
    data = gzip.decompress(CORPUS_PATH.read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    if digest != CORPUS_SHA256 or len(data) != CORPUS_BYTES:
        raise RuntimeError(f"corpus {CORPUS_PATH} is damaged: sha256 {digest}, {len(data)} bytes")
    return data.decode("utf-8")


def load_text(path: str | Path) -> str:
    """Read a UTF-8 text file; a missing, empty or non-UTF-8 file raises ``TextFileError``."""
    path = Path(path)
    if not path.is_file():
        raise TextFileError(f"text file {str(path)!r} does not exist or is not a file")
    data = path.read_bytes()
    if not data:
        raise TextFileError(f"text file {str(path)!r} is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TextFileError(
            f"text file {str(path)!r} is not UTF-8: "
            f"byte {data[err.start]:#04x} at offset {err.start}"
        ) from None


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """Split into (train, validation): validation is the last ``val_fraction`` of the text."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    cut = int(round(len(text) * (1.0 - val_fraction)))
    if cut < 2 or len(text) - cut < 2:
        raise ValueError(f"text of {len(text)} characters is too short to split at {val_fraction}")
    return text[:cut], text[cut:]


class CharVocab:
    """A character vocabulary: ``encode`` text to ids, ``decode`` ids to text.

    ``unknown`` says what happens to a character that is not in the vocabulary:
    ``"error"`` raises a ValueError naming it, ``"skip"`` drops it, ``"replace"`` maps it to
    ``unk_char`` (which is then part of the vocabulary, as the last id if it was not already in).
    """

    POLICIES = ("error", "skip", "replace")

    def __init__(self, chars: str, unknown: str = "error", unk_char: str = "\ufffd") -> None:
        if unknown not in self.POLICIES:
            raise ValueError(f"unknown must be one of {self.POLICIES}, got {unknown!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("chars must not repeat a character")
        if unknown == "replace" and unk_char not in chars:
            chars = chars + unk_char
        if not chars:
            raise ValueError("chars must not be empty")
        self.chars = chars  # a plain string: this is what checkpoints store
        self.unknown = unknown
        self.unk_char = unk_char
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str, unknown: str = "error", unk_char: str = "\ufffd") -> CharVocab:
        """The sorted set of characters of ``text``."""
        return cls("".join(sorted(set(text))), unknown=unknown, unk_char=unk_char)

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self.index

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters, unknown={self.unknown!r})"

    def unknown_chars(self, text: str) -> list[str]:
        """The characters of ``text`` outside the vocabulary, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def encode(self, text: str) -> np.ndarray:
        """Text of length L to int64 ids, shape (L,) (shorter with ``unknown="skip"``)."""
        index = self.index
        if self.unknown == "error":
            missing = self.unknown_chars(text)
            if missing:
                raise ValueError(
                    f"text has {len(missing)} character(s) outside the vocabulary: "
                    f"{''.join(missing[:10])!r}"
                )
            ids = [index[c] for c in text]
        elif self.unknown == "skip":
            ids = [index[c] for c in text if c in index]
        else:
            unk = index[self.unk_char]
            ids = [index.get(c, unk) for c in text]
        return np.array(ids, dtype=np.int64)

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """Ids, shape (L,), back to text; an array or a tensor (anything with ``shape`` and
        ``tolist``), or a list."""
        if hasattr(ids, "shape"):
            if len(ids.shape) != 1:
                raise ValueError(f"ids must have shape (L,), got {tuple(ids.shape)}")
            ids = ids.tolist()
        for i in ids:
            if not 0 <= i < len(self.chars):
                raise IndexError(f"id {i} is outside the vocabulary range [0, {len(self.chars)})")
        return "".join(self.chars[i] for i in ids)


class TBPTTBatcher:
    """Stateful batches for truncated backpropagation through time.

    The id sequence is cut into ``batch_size`` contiguous streams, one per batch row; each call to
    ``next_batch`` returns the next ``seq_len`` characters of every stream, so row b of one batch
    continues where row b of the previous batch stopped and the hidden state can be carried over.

    With ``rank``/``world_size`` (several processes) each process reads its own streams:
    the text is cut into ``batch_size * world_size`` streams and this process takes its share.
    """

    def __init__(
        self,
        ids: np.ndarray,
        batch_size: int,
        seq_len: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not isinstance(ids, np.ndarray) or ids.ndim != 1 or ids.dtype != np.int64:
            got = f"{ids.dtype} {ids.shape}" if isinstance(ids, np.ndarray) else type(ids).__name__
            raise ValueError(f"ids must be an int64 array of shape (L,), got {got}")
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"batch_size and seq_len must be >= 1, got {batch_size}, {seq_len}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        n_streams = batch_size * world_size
        stream_len = (len(ids) - 1) // n_streams  # -1: every input needs its next character
        if stream_len < seq_len:
            raise ValueError(
                f"text of {len(ids)} ids is too short for {n_streams} streams of seq_len {seq_len}"
            )
        # BEGIN SOLUTION
        # streams[b, t] is the t-th id of stream b; targets are the same shifted by one.
        rows = np.arange(n_streams)[rank * batch_size : (rank + 1) * batch_size]
        starts = rows * stream_len
        offsets = np.arange(stream_len + 1)
        self.streams = ids[starts[:, None] + offsets[None, :]]  # (batch_size, stream_len + 1)
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.batches_per_epoch = stream_len // seq_len
        # END SOLUTION
        self.position = 0  # batches served so far (over all epochs)

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Return ``(x, y, new_epoch)``: inputs and targets, int64 of shape (batch_size, seq_len),
        and whether the streams just wrapped to their start (the carried state must then be
        reset). ``to_torch(batcher.next_batch())`` gives tensors."""
        # BEGIN SOLUTION
        i = self.position % self.batches_per_epoch
        t = i * self.seq_len
        x = self.streams[:, t : t + self.seq_len]
        y = self.streams[:, t + 1 : t + 1 + self.seq_len]
        self.position += 1
        return x, y, i == 0
        # END SOLUTION

    @property
    def epoch(self) -> int:
        return self.position // self.batches_per_epoch

    def state_dict(self) -> dict[str, int]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position = int(state["position"])
