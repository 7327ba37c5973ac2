"""Datasets of the course, none downloaded: each is shipped with an installed package or generated
from a seed. One small file per dataset.

Everything here is NumPy (int64 ids, float32 features) and importing it never imports torch;
``to_torch(obj)`` turns the arrays inside a result (a tuple, a dataclass...) into tensors.
"""

from minirnn.data.names import encode_names, load_names, names_split, names_vocab
from minirnn.data.numbers import (
    TranslationSplit,
    number_translation,
    number_translation_by_length,
)
from minirnn.data.rng import TorchRandom
from minirnn.data.shapes import ShapesData, caption_vocab, make_scenes, make_shapes
from minirnn.data.synthetic import adding_problem, copy_task
from minirnn.data.tensors import to_torch
from minirnn.data.text import (
    CharVocab,
    TBPTTBatcher,
    TextFileError,
    load_corpus,
    load_text,
    split_text,
)
from minirnn.data.tokens import IGNORE_INDEX, Vocab, pad_batch
from minirnn.data.video import DigitVideos, bitmap_split, digit_videos, moving_digits

__all__ = [
    "IGNORE_INDEX",
    "CharVocab",
    "DigitVideos",
    "ShapesData",
    "TBPTTBatcher",
    "TextFileError",
    "TorchRandom",
    "TranslationSplit",
    "Vocab",
    "adding_problem",
    "bitmap_split",
    "caption_vocab",
    "copy_task",
    "digit_videos",
    "encode_names",
    "load_corpus",
    "load_names",
    "load_text",
    "make_scenes",
    "make_shapes",
    "moving_digits",
    "names_split",
    "names_vocab",
    "number_translation",
    "number_translation_by_length",
    "pad_batch",
    "split_text",
    "to_torch",
]
