"""A token vocabulary with padding, start and end tokens, and padding of ragged batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

IGNORE_INDEX = -100  # targets with this value carry no loss (torch's cross_entropy default)


class Vocab:
    """Tokens (characters or words) to ids and back. Ids 0, 1, 2 are ``<pad>``, ``<bos>``,
    ``<eos>``; the given tokens follow in sorted order."""

    PAD, BOS, EOS = 0, 1, 2
    SPECIALS = ("<pad>", "<bos>", "<eos>")

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = list(self.SPECIALS) + sorted(set(tokens) - set(self.SPECIALS))
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> list[int]:
        missing = [t for t in tokens if t not in self.index]
        if missing:
            raise ValueError(f"tokens outside the vocabulary: {missing[:10]}")
        ids = [self.index[t] for t in tokens]
        return [self.BOS] * bos + ids + [self.EOS] * eos

    def decode(self, ids: Iterable[int], strip: bool = True) -> list[str]:
        """Ids to tokens; with ``strip``, stop at ``<eos>`` and drop ``<pad>``/``<bos>``."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise IndexError(f"id {i} is outside the vocabulary range [0, {len(self.tokens)})")
            if strip and i == self.EOS:
                break
            if strip and i in (self.PAD, self.BOS):
                continue
            out.append(self.tokens[i])
        return out


def pad_batch(seqs: Sequence[Sequence[int]], value: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad a list of N id lists to an int64 array (N, T_max); also return the lengths, (N,)."""
    if len(seqs) == 0:
        raise ValueError("seqs must not be empty")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.full((len(seqs), int(lengths.max())), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = list(s)
    return out, lengths
