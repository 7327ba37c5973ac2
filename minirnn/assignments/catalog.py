"""The assignments: which sources they cut, which notebook and graded tests they ship, points.

Each question is one function (or a pair) the student writes; its points are split over the
graded tests listed with it. `chapters` maps every function that holds a solution region to the
chapter that explains it: the student's stub says ``raise NotImplementedError("f: see chapter N")``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One graded question: a title and (test function name, points) pairs."""

    title: str
    tests: tuple[tuple[str, int], ...]

    @property
    def points(self) -> int:
        return sum(points for _, points in self.tests)


@dataclass(frozen=True)
class Assignment:
    """One assignment.

    - name: folder and zip name, e.g. "a1_rnn".
    - title: one line for the README and the grade report.
    - packages: the ``minirnn`` subpackages copied into the student folder (whole, with every
      solution region in them cut).
    - modules: the files, relative to ``minirnn/``, whose solution regions this assignment asks
      for (listed in the README).
    - chapters: function name -> chapter that explains it.
    - notebook: file under ``minirnn/assignments/notebooks/``.
    - graded: file under ``minirnn/assignments/graded/`` holding the graded tests.
    - questions: what is graded, with points.
    - hours: rough working time for a student who has read the chapters.
    - needs: distributions the grader needs beyond what the packages imply (torch for a
      package of its own that imports torch, as A8's minirnn/debugging does).
    """

    name: str
    title: str
    packages: tuple[str, ...]
    modules: tuple[str, ...]
    chapters: dict[str, int]
    notebook: str
    graded: str
    questions: tuple[Question, ...]
    hours: str
    needs: tuple[str, ...] = ()

    @property
    def uses_torch(self) -> bool:
        return "torch" in self.packages or "torch" in self.needs

    @property
    def points(self) -> int:
        return sum(q.points for q in self.questions)

    @property
    def tests(self) -> list[str]:
        return [name for q in self.questions for name, _ in q.tests]


A1 = Assignment(
    name="a1_rnn",
    title="A1: vanilla RNN layers and backpropagation through time in NumPy",
    packages=("numpy",),
    modules=("numpy/rnn.py", "numpy/layers.py"),
    chapters={
        "rnn_step_forward": 3,
        "rnn_step_backward": 7,
        "rnn_forward": 4,
        "rnn_backward": 7,
        "word_embedding_forward": 6,
        "word_embedding_backward": 6,
        "temporal_affine_forward": 4,
        "temporal_affine_backward": 4,
        "temporal_softmax_loss": 4,
    },
    notebook="a1_rnn.ipynb",
    graded="test_a1_rnn.py",
    questions=(
        Question("rnn_step_forward", (("test_rnn_step_forward", 5),)),
        Question("rnn_step_backward (gradient check)", (("test_rnn_step_backward", 10),)),
        Question("rnn_forward", (("test_rnn_forward", 10),)),
        Question("rnn_backward: BPTT (gradient check)", (("test_rnn_backward", 15),)),
        Question("word embedding forward and backward",
                 (("test_word_embedding_forward", 5), ("test_word_embedding_backward", 5))),
        Question("temporal affine forward and backward", (("test_temporal_affine", 5),)),
        Question("temporal softmax loss (value, mask, gradient)",
                 (("test_temporal_softmax_loss", 10),)),
        Question("a tiny language model's loss falls under gradient descent",
                 (("test_tiny_language_model_learns", 5),)),
    ),
    hours="6-8 hours",
)

A2 = Assignment(
    name="a2_gated",
    title="A2: LSTM and GRU in NumPy",
    packages=("numpy",),
    modules=("numpy/lstm.py", "numpy/gru.py"),
    chapters={
        "lstm_step_forward": 12,
        "lstm_step_backward": 12,
        "lstm_forward": 12,
        "lstm_backward": 12,
        "gru_step_forward": 14,
        "gru_step_backward": 14,
        "gru_forward": 14,
        "gru_backward": 14,
    },
    notebook="a2_gated.ipynb",
    graded="test_a2_gated.py",
    questions=(
        Question("lstm_step_forward", (("test_lstm_step_forward", 10),)),
        Question("lstm_step_backward (gradient check)", (("test_lstm_step_backward", 15),)),
        Question("lstm_forward and lstm_backward", (("test_lstm_forward", 5),
                                                     ("test_lstm_backward", 10))),
        Question("gru_step_forward", (("test_gru_step_forward", 10),)),
        Question("gru_step_backward (gradient check)", (("test_gru_step_backward", 15),)),
        Question("gru_forward and gru_backward", (("test_gru_forward", 5),
                                                   ("test_gru_backward", 10))),
    ),
    hours="6-8 hours",
)

A3 = Assignment(
    name="a3_captioning",
    title="A3: image captioning in PyTorch: where the image vector enters",
    packages=("torch", "data"),
    modules=("torch/models/captioning.py",),
    chapters={
        "CaptioningModel.start": 9,
        "CaptioningModel._inputs": 9,
    },
    notebook="a3_captioning.ipynb",
    graded="test_a3_captioning.py",
    questions=(
        Question("v as the initial hidden state", (("test_v_as_initial_state", 10),)),
        Question("v as the first input", (("test_v_as_first_input", 10),)),
        Question("v at every step", (("test_v_at_every_step", 10),)),
        Question("greedy decoding uses the same conditioning",
                 (("test_decoding_uses_the_same_conditioning", 5),)),
        Question("a small model learns to caption four images",
                 (("test_a_small_model_learns_to_caption", 10),)),
    ),
    hours="3-4 hours",
)

A4 = Assignment(
    name="a4_charlm",
    title="A4: character language model: truncated BPTT, sampling, beam search",
    packages=("torch", "data"),
    modules=("data/text.py", "torch/decode.py"),
    chapters={
        "TBPTTBatcher.__init__": 8,
        "TBPTTBatcher.next_batch": 8,
        "filter_top_k": 5,
        "sample": 5,
        "beam_search": 9,
    },
    notebook="a4_charlm.ipynb",
    graded="test_a4_charlm.py",
    questions=(
        Question("truncated-BPTT batches continue their streams",
                 (("test_tbptt_batches_continue_their_streams", 15),)),
        Question("top-k filter", (("test_filter_top_k", 5),)),
        Question("sampling with temperature and top-k",
                 (("test_sampling_follows_softmax_over_temperature", 10),
                  ("test_sampling_with_top_k", 5))),
        Question("beam search", (("test_beam_search_finds_what_greedy_misses", 15),)),
    ),
    hours="4-5 hours",
)

A8 = Assignment(
    name="a8_debugging",
    title="A8: debugging RNNs: ten bugs real RNN code has had",
    packages=("debugging",),
    modules=("debugging/layers.py", "debugging/loops.py"),
    chapters={
        "embedding_backward": 6,
        "rnn_backward": 7,
        "softmax": 4,
        "sequence_loss": 4,
        "tbptt_gradients": 8,
        "encode_each": 3,
        "lstm_from_cs231n": 12,
        "final_states": 3,
        "clipped_sgd_step": 11,
        "bidirectional_summary": 13,
    },
    notebook="a8_debugging.ipynb",
    graded="test_a8_debugging.py",
    questions=(
        Question("embedding backward: a word that occurs twice (gradient check)",
                 (("test_embedding_backward_repeated_words", 10),)),
        Question("BPTT through tanh (gradient check)", (("test_rnn_backward_gradient_check", 10),)),
        Question("softmax at large scores", (("test_softmax_large_scores", 10),)),
        Question("a padded batch's loss", (("test_sequence_loss_ignores_padding", 10),)),
        Question("truncated BPTT: memory per chunk and gradients",
                 (("test_tbptt_memory_stays_flat", 10),)),
        Question("independent sequences (parity)", (("test_independent_sequences", 10),)),
        Question("LSTM weights from a CS231n checkpoint (parity with torch)",
                 (("test_lstm_weights_match_torch", 10),)),
        Question("batch-major input (shape assert with N != T)",
                 (("test_final_states_batch_first", 10),)),
        Question("gradient clipping (the update is bounded)",
                 (("test_clipping_bounds_the_update", 10),)),
        Question("a bidirectional layer's summary (parity)", (("test_bidirectional_summary", 10),)),
    ),
    hours="4-6 hours",
    needs=("torch",),
)

ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (A1, A2, A3, A4, A8)}


def get(name: str) -> Assignment:
    """The assignment called `name`; a ValueError lists the known names otherwise."""
    if name not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {name!r}; known: {', '.join(ASSIGNMENTS)}")
    return ASSIGNMENTS[name]
