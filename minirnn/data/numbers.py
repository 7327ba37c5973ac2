"""Number words from one language to another with ``num2words``: German "einundzwanzig" to
English "twenty-one", a character-level translation task that needs reordering.

The split is by number: no number of the test set appears in training.
`number_translation_by_length` also holds out every number whose English words are longer than a
limit (chapter 16).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minirnn.data.rng import TorchRandom
from minirnn.data.tokens import IGNORE_INDEX, Vocab, pad_batch


@dataclass
class TranslationSplit:
    """One split, int64 arrays. src: (N, S) padded source ids, src_lengths: (N,), tgt_in: (N, T)
    ``<bos>`` + target ids, tgt_out: (N, T) target ids + ``<eos>`` (padding is IGNORE_INDEX),
    numbers: (N,). ``to_torch(split)`` gives the same split with tensors."""

    numbers: np.ndarray
    src: np.ndarray
    src_lengths: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray

    def __len__(self) -> int:
        return len(self.numbers)


def number_words(numbers: list[int], lang: str) -> list[str]:
    from num2words import num2words

    return [num2words(n, lang=lang) for n in numbers]


def number_translation(
    max_number: int = 999,
    src_lang: str = "de",
    tgt_lang: str = "en",
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[dict[str, TranslationSplit], Vocab, Vocab]:
    """The numbers 0..max_number as words, split by number into train/val/test.

    Returns ``(splits, src_vocab, tgt_vocab)`` with splits keyed "train", "val", "test".
    """
    if max_number < 10:
        raise ValueError(f"max_number must be >= 10, got {max_number}")
    numbers = list(range(max_number + 1))
    src_words, tgt_words = number_words(numbers, src_lang), number_words(numbers, tgt_lang)
    src_vocab = Vocab("".join(src_words))
    tgt_vocab = Vocab("".join(tgt_words))
    order = TorchRandom(seed).randperm(len(numbers)).tolist()
    n_test, n_val = int(len(numbers) * test_fraction), int(len(numbers) * val_fraction)
    parts = {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }
    splits = {name: _encode(idx, src_words, tgt_words, src_vocab, tgt_vocab)
              for name, idx in parts.items()}
    return splits, src_vocab, tgt_vocab


def _encode(idx: list[int], src_words: list[str], tgt_words: list[str], src_vocab: Vocab,
            tgt_vocab: Vocab) -> TranslationSplit:
    """The numbers ``idx`` (sorted here) as one padded split."""
    idx = sorted(idx)
    src, src_lengths = pad_batch([src_vocab.encode(src_words[i]) for i in idx], Vocab.PAD)
    tgt = [tgt_vocab.encode(tgt_words[i]) for i in idx]
    tgt_in, _ = pad_batch([[Vocab.BOS] + t for t in tgt], Vocab.PAD)
    tgt_out, _ = pad_batch([t + [Vocab.EOS] for t in tgt], IGNORE_INDEX)
    return TranslationSplit(np.array(idx, dtype=np.int64), src, src_lengths, tgt_in, tgt_out)


def number_translation_by_length(
    max_number: int = 999,
    max_train_length: int = 28,
    test_fraction: float = 0.15,
    src_lang: str = "de",
    tgt_lang: str = "en",
    seed: int = 0,
) -> tuple[dict[str, TranslationSplit], Vocab, Vocab]:
    """The numbers 0..max_number as words, split by the target's length in characters.

    "longer": every number whose target is longer than ``max_train_length`` characters (none of
    them is trained on); the others are split at random by number into "train" and "test"
    (``test_fraction`` of them), so "test" has the training lengths and no training number.
    Returns ``(splits, src_vocab, tgt_vocab)``; the vocabularies cover all the words.
    """
    if max_number < 10:
        raise ValueError(f"max_number must be >= 10, got {max_number}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    numbers = list(range(max_number + 1))
    src_words, tgt_words = number_words(numbers, src_lang), number_words(numbers, tgt_lang)
    longest = max(map(len, tgt_words))
    if not 0 < max_train_length < longest:
        raise ValueError(f"max_train_length: expected 1..{longest - 1} (the longest target has "
                         f"{longest} characters), got {max_train_length}")
    src_vocab, tgt_vocab = Vocab("".join(src_words)), Vocab("".join(tgt_words))
    short = [n for n in numbers if len(tgt_words[n]) <= max_train_length]
    longer = [n for n in numbers if len(tgt_words[n]) > max_train_length]
    order = TorchRandom(seed).randperm(len(short)).tolist()
    n_test = int(len(short) * test_fraction)
    parts = {"train": [short[i] for i in order[n_test:]],
             "test": [short[i] for i in order[:n_test]], "longer": longer}
    splits = {name: _encode(idx, src_words, tgt_words, src_vocab, tgt_vocab)
              for name, idx in parts.items()}
    return splits, src_vocab, tgt_vocab
