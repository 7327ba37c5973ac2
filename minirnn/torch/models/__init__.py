"""The course's task models, one per input/output architecture of the lecture, one file per task.

    Classifier          one-to-one      x (N, D)              -> class (N,)           classify.py
    CaptioningModel     one-to-many     image (N, 3, 32, 32)  -> words (N, T)         captioning.py
    SequenceClassifier  many-to-one     x (N, T, D) or (N, T) -> class or value (N,)  classify.py
    Seq2Seq             many-to-many    ids (N, S)            -> ids (N, T)           seq2seq.py
    SequenceTagger      synced m-to-m   x (N, T, D) or (N, T) -> tag (N, T)           classify.py
    CharLM              stateful m-to-m ids (N, T)            -> next ids (N, T)      charlm.py

All are batch-first, built on ``recurrent_layer`` (layers.py; ``backend="minirnn"``, the course's
RNN/LSTM/GRU, by default, or ``backend="torch"``), and each has a ``loss`` and a way to decode.
States follow torch.nn: ``h`` of shape (num_layers * directions, N, H), or ``(h, c)`` for an LSTM.
Every name is importable from here: ``from minirnn.torch.models import CharLM``.
"""

from minirnn.torch.models.captioning import CaptioningModel, ShapesEncoder, pretrain_encoder
from minirnn.torch.models.charlm import CharLM
from minirnn.torch.models.classify import Classifier, SequenceClassifier, SequenceTagger
from minirnn.torch.models.layers import (
    BACKENDS,
    CELLS,
    SequenceEncoder,
    State,
    check_features,
    check_ids,
    detach_state,
    recurrent_layer,
    run_layer,
    token_cross_entropy,
)
from minirnn.torch.models.seq2seq import Seq2Seq

__all__ = [
    "BACKENDS",
    "CELLS",
    "CaptioningModel",
    "CharLM",
    "Classifier",
    "Seq2Seq",
    "SequenceClassifier",
    "SequenceEncoder",
    "SequenceTagger",
    "ShapesEncoder",
    "State",
    "check_features",
    "check_ids",
    "detach_state",
    "pretrain_encoder",
    "recurrent_layer",
    "run_layer",
    "token_cross_entropy",
]
