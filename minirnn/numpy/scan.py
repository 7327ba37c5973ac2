"""Linear recurrences h_t = a_t * h_{t-1} + b_t (elementwise), by a loop and by a parallel scan.

Each step is an affine map h -> a_t h + b_t. Composing two of them gives another one, and
composition is associative, so the states h_1..h_T are the prefix compositions of the steps
applied to h_0: an inclusive *scan*, computable in ceil(log2 T) rounds of elementwise work
instead of T dependent steps (chapter 15; the linear recurrences of chapter 16 are the same
scan). minGRU (Feng et al. 2024) has gates that read only the input, so its recurrence is of
this form, with positive coefficients when the candidate is made positive: then the whole scan
can run in log space, where nothing underflows.

- `linear_recurrence_loop`: the reference, one step at a time;
- `affine_combine`: the associative operator of the scan, on batches of pairs;
- `parallel_scan`: an inclusive Hillis-Steele scan over the time axis for ANY associative
  operator, returning how many rounds (calls of the operator) and pair combinations it used;
- `linear_recurrence_scan`: the recurrence through `parallel_scan`;
- `linear_recurrence_log`: the recurrence in log space (log a, log b, log h0 -> log h);
- `mingru_forward`: a minGRU layer on top of them.

Arrays are batch-first: a, b (N, T, H), h0 (N, H), as in minirnn.torch.mingru.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Elements = tuple[np.ndarray, ...]


def _check_ab(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None, name: str = "h0",
              fill: float = 0.0) -> np.ndarray:
    """Validate a, b (N, T, H) and h0 (N, H); return h0 (filled with `fill` when None)."""
    for label, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{label}: expected a floating numpy array, got "
                            f"{getattr(x, 'dtype', type(x).__name__)}")
    if a.ndim != 3 or a.shape != b.shape or a.shape[1] < 1:
        raise ValueError(f"a, b: expected equal shapes (N, T, H) with T >= 1, got {a.shape} "
                         f"and {b.shape}")
    N, _, H = a.shape
    if h0 is None:
        return np.full((N, H), fill, dtype=np.result_type(a, b))
    if not isinstance(h0, np.ndarray) or h0.shape != (N, H):
        raise ValueError(f"{name}: expected shape ({N}, {H}), got "
                         f"{getattr(h0, 'shape', type(h0).__name__)}")
    return h0.astype(np.result_type(a, b), copy=False)


def linear_recurrence_loop(a: np.ndarray, b: np.ndarray,
                           h0: np.ndarray | None = None) -> np.ndarray:
    """h_t = a_t * h_{t-1} + b_t for t = 1..T, one step at a time (T dependent steps).

    a, b: (N, T, H); h0: (N, H), zeros by default. Returns h (N, T, H) in the inputs' dtype.
    """
    h = _check_ab(a, b, h0)
    # BEGIN SOLUTION
    states = np.empty(a.shape, dtype=h.dtype)
    for step in range(a.shape[1]):  # each step needs the one before: T dependent updates
        h = a[:, step] * h + b[:, step]
        states[:, step] = h
    return states
    # END SOLUTION


def affine_combine(earlier: tuple[np.ndarray, np.ndarray], later: tuple[np.ndarray, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Compose two batches of affine maps h -> a h + b: first `earlier` = (a, b), then
    `later` = (a', b'). Returns (A, B) with a' (a h + b) + b' = A h + B. Elementwise: the
    arrays have any one shape, each entry a separate map. The operator is associative but not
    commutative (the order of the steps matters)."""
    # BEGIN SOLUTION
    a_first, b_first = earlier
    a_then, b_then = later
    return a_first * a_then, a_then * b_first + b_then
    # END SOLUTION


def parallel_scan(elems: Elements, combine: Callable[[Elements, Elements], Elements]
                  ) -> tuple[Elements, dict[str, int]]:
    """Inclusive scan over axis 1 (time) of `elems` with an associative `combine`.

    Inputs:
    - elems: a tuple of arrays, each (N, T, ...) with the same N and T: element t of the
      sequence is (x[:, t] for x in elems).
    - combine(earlier, later): tuples of arrays of one shape (N, m, ...) -> the tuple for
      "earlier, then later", position by position. It must be called on whole batches of
      positions: one call is one round of parallel work.

    Returns (prefixes, counts): prefixes[j][:, t] is component j of
    elem_0 . elem_1 . ... . elem_t (in that order), and counts = {"rounds": calls of combine,
    "combines": pair combinations in all (the sum of m over the calls)}. A log-depth scan uses
    at most 2 ceil(log2 T) rounds; this one (Hillis-Steele) uses ceil(log2 T) rounds and about
    T log2 T combinations, where the loop would use T - 1 of each.
    """
    if not isinstance(elems, tuple) or not elems:
        raise TypeError(f"elems: expected a non-empty tuple of arrays, got "
                        f"{type(elems).__name__}")
    if any(not isinstance(x, np.ndarray) or x.ndim < 2 or x.shape[:2] != elems[0].shape[:2]
           for x in elems):
        raise ValueError(f"elems: expected arrays (N, T, ...) of one N and T, got "
                         f"{[getattr(x, 'shape', None) for x in elems]}")
    # BEGIN SOLUTION
    T = elems[0].shape[1]
    running, rounds, pairs, offset = tuple(elems), 0, 0, 1
    while offset < T:
        # position t >= offset takes in the prefix ending at t - offset: after this round it
        # holds the composition of the 2 * offset steps ending at t (or all steps up to t)
        earlier = tuple(x[:, :T - offset] for x in running)
        later = tuple(x[:, offset:] for x in running)
        joined = combine(earlier, later)
        rounds, pairs = rounds + 1, pairs + (T - offset)
        running = tuple(np.concatenate([x[:, :offset], y], axis=1)
                        for x, y in zip(running, joined))
        offset *= 2
    return running, {"rounds": rounds, "combines": pairs}
    # END SOLUTION


def linear_recurrence_scan(a: np.ndarray, b: np.ndarray,
                           h0: np.ndarray | None = None) -> np.ndarray:
    """The same h (N, T, H) as `linear_recurrence_loop`, computed with `parallel_scan` over
    the pairs (a_t, b_t) and `affine_combine`: the prefix map (A_t, B_t) sends h0 to h_t."""
    h0 = _check_ab(a, b, h0)
    # BEGIN SOLUTION
    (A, B), _ = parallel_scan((a, b), affine_combine)
    return A * h0[:, None] + B
    # END SOLUTION


def linear_recurrence_log(log_a: np.ndarray, log_b: np.ndarray,
                          log_h0: np.ndarray | None = None) -> np.ndarray:
    """The recurrence for positive coefficients, entirely in log space:

        log h_t = log(exp(log a_t + log h_{t-1}) + exp(log b_t)) = logaddexp(log a_t + log h_{t-1},
                                                                            log b_t)

    Inputs: log_a, log_b (N, T, H); log_h0 (N, H), -inf (h0 = 0) by default. Returns log h
    (N, T, H) in the inputs' dtype. Values whose exponentials underflow or overflow (log b
    around -1000, say) must come out right: never leave log space.
    """
    log_h0 = _check_ab(log_a, log_b, log_h0, "log_h0", fill=-np.inf)
    # BEGIN SOLUTION
    def compose_logs(earlier, later):  # affine_combine with every quantity a logarithm
        la, lb = earlier
        la_then, lb_then = later
        return la + la_then, np.logaddexp(la_then + lb, lb_then)

    (log_A, log_B), _ = parallel_scan((log_a, log_b), compose_logs)
    return np.logaddexp(log_A + log_h0[:, None], log_B)
    # END SOLUTION


def g_positive(n: np.ndarray) -> np.ndarray:
    """minGRU's positive candidate g(n) = n + 1/2 for n >= 0, sigmoid(n) below (continuous)."""
    return np.where(n >= 0, n + 0.5, 1.0 / (1.0 + np.exp(-np.minimum(n, 0.0))))


def mingru_forward(x: np.ndarray, Wz: np.ndarray, bz: np.ndarray, Wn: np.ndarray,
                   bn: np.ndarray, h0: np.ndarray | None = None,
                   log_space: bool = False) -> np.ndarray:
    """A minGRU layer: z_t = sigmoid(x_t Wz + bz), n_t = x_t Wn + bn and

        h_t = (1 - z_t) * h_{t-1} + z_t * n_t,

    a linear recurrence with a_t = 1 - z_t and b_t = z_t * n_t, run by `linear_recurrence_scan`.
    With log_space=True the candidate is g_positive(n_t) (Feng et al.'s log-space minGRU), h0
    must be positive, and the recurrence runs in `linear_recurrence_log` on
    log a_t = -softplus(k_t), log b_t = -softplus(-k_t) + log g(n_t), with k_t = x_t Wz + bz.

    x (N, T, D); Wz, Wn (D, H); bz, bn (H,); h0 (N, H) (zeros, or ones in log space, by
    default). Returns h (N, T, H).
    """
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        raise ValueError(f"x: expected shape (N, T, D), got {getattr(x, 'shape', type(x))}")
    D = x.shape[2]
    if Wz.shape != Wn.shape or Wz.ndim != 2 or Wz.shape[0] != D:
        raise ValueError(f"Wz, Wn: expected equal shapes ({D}, H), got {Wz.shape}, {Wn.shape}")
    H = Wz.shape[1]
    if bz.shape != (H,) or bn.shape != (H,):
        raise ValueError(f"bz, bn: expected shape ({H},), got {bz.shape}, {bn.shape}")
    if log_space and h0 is not None and np.any(h0 <= 0):
        raise ValueError("h0: the log-space minGRU needs a positive initial state")
    # BEGIN SOLUTION
    k = x @ Wz + bz  # (N, T, H) gate pre-activation
    n = x @ Wn + bn  # (N, T, H) candidate, no h inside: the recurrence stays linear
    if not log_space:
        z = 1.0 / (1.0 + np.exp(-k))
        return linear_recurrence_scan(1.0 - z, z * n, h0)
    start = np.ones((x.shape[0], H)) if h0 is None else h0
    # log(1 - sigmoid(k)) = -softplus(k) and log sigmoid(k) = -softplus(-k), both stable
    log_keep = -np.logaddexp(0.0, k)
    log_take = -np.logaddexp(0.0, -k) + np.log(g_positive(n))
    return np.exp(linear_recurrence_log(log_keep, log_take, np.log(start)))
    # END SOLUTION
