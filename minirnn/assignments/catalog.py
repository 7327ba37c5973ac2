"""The assignments: which sources they cut, which notebook and graded tests they ship, points.

Each question is one function (or a pair) the student writes; its points are split over the
graded tests listed with it. `chapters` maps every function that holds a solution region to the
chapter that explains it: the student's stub says ``raise NotImplementedError("f: see chapter N")``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One graded question: a title and (test function name, points) pairs.

    numpy_only: its tests run where torch cannot be imported, even in an assignment that ships
    torch (a NumPy backward question must not be answerable by torch's autograd).
    """

    title: str
    tests: tuple[tuple[str, int], ...]
    numpy_only: bool = False

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

    @property
    def numpy_only(self) -> bool:
        """Whether the assignment ships NumPy packages only (its children never see torch)."""
        return set(self.packages) <= {"numpy"}

    def numpy_only_tests(self) -> set[str]:
        """The graded tests whose child runs where torch cannot be imported."""
        return {name for q in self.questions if self.numpy_only or q.numpy_only
                for name, _ in q.tests}


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

A5 = Assignment(
    name="a5_dynamics",
    title="A5: gradient dynamics: Jacobians through time, spectra, clipping (NumPy)",
    packages=("numpy",),
    modules=("numpy/dynamics.py", "numpy/clip.py"),
    chapters={
        "rnn_step_jacobian": 10,
        "jacobian_product": 10,
        "spectrum": 10,
        "jacobian_norms_by_lag": 10,
        "predicted_vanishing_lag": 10,
        "clip_grad_norm": 11,
        "clip_grad_value": 11,
    },
    notebook="a5_dynamics.ipynb",
    graded="test_a5_dynamics.py",
    questions=(
        Question("the one-step Jacobian", (("test_rnn_step_jacobian", 10),)),
        Question("the Jacobian over k steps", (("test_jacobian_product", 10),)),
        Question("sigma_max and rho of Wh", (("test_spectrum", 10),)),
        Question("gradient norm against the lag", (("test_jacobian_norms_by_lag", 10),)),
        Question("written question: the lag where the norm vanishes",
                 (("test_predicted_vanishing_lag", 5),)),
        Question("global-norm clipping, in place, as torch does", (("test_clip_grad_norm", 10),)),
        Question("value clipping, in place", (("test_clip_grad_value", 5),)),
    ),
    hours="4-5 hours",
)

A7 = Assignment(
    name="a7_scan",
    title="A7: parallel scans and linear recurrences (NumPy)",
    packages=("numpy",),
    modules=("numpy/scan.py",),
    chapters={
        "linear_recurrence_loop": 16,
        "affine_combine": 15,
        "parallel_scan": 15,
        "linear_recurrence_scan": 15,
        "linear_recurrence_log": 15,
        "mingru_forward": 15,
    },
    notebook="a7_scan.ipynb",
    graded="test_a7_scan.py",
    questions=(
        Question("the recurrence by a loop", (("test_linear_recurrence_loop", 5),)),
        Question("the associative operator", (("test_affine_combine", 5),)),
        Question("a log-depth scan of any associative operator", (("test_parallel_scan", 20),)),
        Question("the recurrence by the scan (float64, float32 at T = 4096)",
                 (("test_linear_recurrence_scan", 10),)),
        Question("the recurrence in log space", (("test_linear_recurrence_log", 15),)),
        Question("minGRU on top", (("test_mingru_forward", 10),)),
    ),
    hours="4-5 hours",
)

A6 = Assignment(
    name="a6_bidirectional",
    title="A6: bidirectional layers over ragged batches (NumPy) and a drop-in GRU module (PyTorch)",
    packages=("numpy", "torch"),
    modules=("numpy/bidirectional.py", "torch/packing.py", "torch/cells.py"),
    chapters={
        "reverse_index": 13,
        "bidirectional_forward": 13,
        "bidirectional_backward": 13,
        "packed_to_padded": 13,
        "padded_to_packed": 13,
        "reverse_padded": 13,
        "gru_step": 14,
    },
    notebook="a6_bidirectional.ipynb",
    graded="test_a6_bidirectional.py",
    questions=(
        Question("reverse_index: each sequence reversed within its own length",
                 (("test_reverse_index", 5),), numpy_only=True),
        Question("bidirectional_forward over a ragged batch",
                 (("test_bidirectional_forward", 15),), numpy_only=True),
        Question("bidirectional_backward (gradient check)",
                 (("test_bidirectional_backward", 20),), numpy_only=True),
        Question("GRU module: state dict and outputs match torch.nn.GRU",
                 (("test_gru_module_matches_torch", 10),)),
        Question("GRU module on a PackedSequence (unsorted, bidirectional, two layers)",
                 (("test_gru_module_packed", 15),)),
        Question("GRU module: gradients match torch.nn.GRU's",
                 (("test_gru_module_gradients", 10),)),
    ),
    hours="5-6 hours",
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
                 (("test_embedding_backward_repeated_words", 10),),
                 numpy_only=True),
        Question("BPTT through tanh (gradient check)",
                 (("test_rnn_backward_gradient_check", 10),),
                 numpy_only=True),
        Question("softmax at large scores", (("test_softmax_large_scores", 10),),
                 numpy_only=True),
        Question("a padded batch's loss", (("test_sequence_loss_ignores_padding", 10),),
                 numpy_only=True),
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

ASSIGNMENTS: dict[str, Assignment] = {a.name: a for a in (A1, A2, A3, A4, A5, A6, A7, A8)}


def get(name: str) -> Assignment:
    """The assignment called `name`; a ValueError lists the known names otherwise."""
    if name not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {name!r}; known: {', '.join(ASSIGNMENTS)}")
    return ASSIGNMENTS[name]
