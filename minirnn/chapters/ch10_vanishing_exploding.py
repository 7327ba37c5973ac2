"""Chapter 10: Vanishing and exploding gradients, measured through Jacobians and spectra.

Model (row vectors, course notation): h_t = phi(h_{t-1} Wh + u_t) with phi = tanh or the
identity, where u_t = x_t Wx + b is the input drive of step t. The one-step Jacobian is

    dh_t/dh_{t-1} = diag(phi'(a_t)) Wh^T           (entry (i, j) = d h_{t,i} / d h_{t-1,j})

and dh_t/dh_{t-k} is the product of k of them. Everything below measures that product.

- `orthogonal`: a random orthogonal matrix (QR of a Gaussian, signs fixed), to build
  W = sigma * Q whose singular values all equal sigma;
- `spectrum`: the largest singular value sigma_max and the spectral radius rho of a matrix;
- `power_norms`: ||W^k||_2 for a list of k (the linear recurrence without inputs);
- `jacobian_norms`: ||dh_k/dh_0||_2 for k = 1..T along a driven trajectory, plus the factors
  phi'(a_t) met on the way;
- `sigma_sweep`: `jacobian_norms` at lag T for W = sigma * Q over sigmas and input scales;
- `crossing_sigma`: where that lag-T norm crosses 1 (log-linear interpolation);
- `torch_default_whh`: the recurrent matrix torch.nn.RNN draws by default (uniform in
  [-1/sqrt(H), 1/sqrt(H)]), as our Wh (its transpose);
- `top_lyapunov`: (1/k) log ||dh_k/dh_0||_2 along a long trajectory, whose limit is the top
  Lyapunov exponent of the product of varying Jacobians (rescaled as it goes, so it never
  underflows);
- `tanh_can_grow_example`: a 2 x 2 W_h and a drive for which the tanh RNN's two-step Jacobian
  is larger than the linear one's (which is exactly 0);
- `check_claims`: the chapter's claims, asserted on its measurements.
"""

from __future__ import annotations

import numpy as np

from minirnn.data.text import CharVocab, load_corpus
from minirnn.numpy import (
    rnn_backward,
    rnn_forward,
    rnn_states,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_forward,
)
from minirnn.numpy.lags import lag_decomposition
from minirnn.numpy.models import MaskedCharRNN

NONLINEARITIES = ("tanh", "linear")


def orthogonal(H: int, seed: int = 0) -> np.ndarray:
    """A random (H, H) orthogonal matrix, uniform over the orthogonal group (QR with sign fix)."""
    if not isinstance(H, int | np.integer) or H < 1:
        raise ValueError(f"H: expected a positive integer, got {H!r}")
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    return q * np.sign(np.diag(r))  # without the sign fix QR is not uniform


def _square(name: str, W: np.ndarray) -> None:
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name}: expected a square 2-D array (H, H), got "
                         f"{getattr(W, 'shape', type(W).__name__)}")


def _checked_run(Wh: np.ndarray, drive: np.ndarray, nonlinearity: str,
                 h0: np.ndarray | None) -> tuple[int, np.ndarray]:
    """(H, the initial state) of a driven run, after checking its inputs: Wh (H, H),
    drive (T, H), h0 (H,) or None for zeros."""
    _square("Wh", Wh)
    H = Wh.shape[0]
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected one of {NONLINEARITIES}, got {nonlinearity!r}")
    if not isinstance(drive, np.ndarray) or drive.ndim != 2 or drive.shape[1] != H:
        raise ValueError(f"drive: expected shape (T, {H}), got "
                         f"{getattr(drive, 'shape', type(drive).__name__)}")
    h = np.zeros(H) if h0 is None else np.asarray(h0, dtype=float)
    if h.shape != (H,):
        raise ValueError(f"h0: expected shape ({H},), got {h.shape}")
    return H, h


def char_windows(chars: int = 150_000, length: int = 64
                 ) -> tuple[np.ndarray, np.ndarray, CharVocab]:
    """The character model's training data for section 10.5: the first `chars` characters of
    the course's corpus cut into windows of `length`; (x (n, length), y = x shifted by one,
    the vocabulary)."""
    text = load_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text[:chars])
    n = (len(ids) - 1) // length
    return (ids[: n * length].reshape(n, length), ids[1: n * length + 1].reshape(n, length),
            vocab)


def char_rnn_measurements(model: MaskedCharRNN, held_x: np.ndarray, held_y: np.ndarray,
                          long_ids: np.ndarray) -> dict:
    """Section 10.5's measurements of a character RNN (minirnn.numpy.models.MaskedCharRNN).

    held_x, held_y (N, T) held-out windows; long_ids (L,) a long text the model never trained
    on. Returns {"spectrum": of W_h, "norms": (T,) geometric mean over the windows of
    ||dh_k/dh_0||, "deriv": every tanh'(a_t) of the windows, "by_lag": (T,) norm of dL/dW_h's
    part at each lag (chapter 7's decomposition), "dWh_check": whether those parts add up to
    the model's own dW_h, "lyapunov": (L,) running estimate (1/k) log ||dh_k/dh_0|| along
    long_ids}."""
    p = model.params
    emb, _ = word_embedding_forward(held_x, p["W_embed"])
    drive = emb @ p["Wx"] + p["b"]  # (N, T, H)
    runs = [jacobian_norms(p["Wh"], drive[n]) for n in range(len(held_x))]
    _, grads = model.loss(held_x, held_y)
    h, cache = rnn_forward(emb, np.zeros((len(held_x), model.H)), p["Wx"], p["Wh"], p["b"])
    # partial dL_t/dh_t through the output layer (as in chapter 7)
    scores, affine_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
    dh = temporal_affine_backward(temporal_softmax_loss(scores, held_y)[1], affine_cache)[0]
    long_emb, _ = word_embedding_forward(long_ids[None], p["W_embed"])
    return {"spectrum": spectrum(p["Wh"]),
            "norms": np.exp(np.mean([np.log(r["norms"]) for r in runs], axis=0)),
            "deriv": np.concatenate([r["deriv"].ravel() for r in runs]),
            "by_lag": np.linalg.norm(lag_decomposition(rnn_states(cache), p["Wh"], dh)
                                     ["by_lag"], axis=(1, 2)),
            "dWh_check": np.allclose(rnn_backward(dh, cache)[3], grads["Wh"], atol=1e-10),
            "lyapunov": top_lyapunov(p["Wh"], long_emb[0] @ p["Wx"] + p["b"])}


def spectrum(W: np.ndarray) -> dict[str, float]:
    """{"sigma_max": largest singular value, "rho": spectral radius max |eigenvalue|} of W (H, H).

    For a normal matrix (W W^T = W^T W) the two are equal; in general rho <= sigma_max.
    """
    _square("W", W)
    return {"sigma_max": float(np.linalg.norm(W, 2)),
            "rho": float(np.max(np.abs(np.linalg.eigvals(W))))}


def power_norms(W: np.ndarray, ks: list[int] | np.ndarray) -> np.ndarray:
    """||W^k||_2 (largest singular value of the k-th power) for each k in ks; W (H, H)."""
    _square("W", W)
    ks = np.asarray(ks)
    if ks.ndim != 1 or np.any(ks < 0):
        raise ValueError(f"ks: expected a 1-D list of non-negative integers, got {ks}")
    out = np.empty(len(ks))
    for n, k in enumerate(ks):
        out[n] = np.linalg.norm(np.linalg.matrix_power(W, int(k)), 2)
    return out


def jacobian_norms(Wh: np.ndarray, drive: np.ndarray, nonlinearity: str = "tanh",
                   h0: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run h_t = phi(h_{t-1} Wh + u_t) and measure ||dh_k/dh_0||_2 for k = 1..T.

    Inputs:
    - Wh: (H, H) recurrent weights (row convention: the state multiplies from the left).
    - drive: (T, H) the input term u_t = x_t Wx + b of each step.
    - nonlinearity: "tanh" or "linear".
    - h0: (H,) initial state, zeros by default.

    Returns {"norms": (T,) with norms[k - 1] = ||dh_k/dh_0||_2 (largest singular value),
    "step_norms": (T,) ||dh_k/dh_{k-1}||_2 of each single step, "deriv": (T, H) the factors
    phi'(a_t), "states": (T + 1, H) h_0..h_T}.
    """
    H, h = _checked_run(Wh, drive, nonlinearity, h0)
    T = drive.shape[0]
    states, deriv = [h], np.empty((T, H))
    norms, step_norms = np.empty(T), np.empty(T)
    product = np.eye(H)  # dh_0/dh_0
    for t in range(T):
        a = h @ Wh + drive[t]
        h = np.tanh(a) if nonlinearity == "tanh" else a
        deriv[t] = 1.0 - h ** 2 if nonlinearity == "tanh" else 1.0
        step = deriv[t][:, None] * Wh.T  # diag(phi'(a_t)) Wh^T
        product = step @ product  # dh_t/dh_0 = (dh_t/dh_{t-1}) (dh_{t-1}/dh_0)
        norms[t] = np.linalg.norm(product, 2)
        step_norms[t] = np.linalg.norm(step, 2)
        states.append(h)
    return {"norms": norms, "step_norms": step_norms, "deriv": deriv,
            "states": np.stack(states)}


def sigma_sweep(sigmas: list[float], H: int = 64, T: int = 60, input_std: float = 1.0,
                nonlinearity: str = "tanh", seeds: tuple[int, ...] = (0, 1, 2)
                ) -> np.ndarray:
    """Jacobian norms by lag for W = sigma * Q (Q random orthogonal), averaged in log space.

    The drive u_t is Gaussian with standard deviation input_std per unit (unit-variance inputs
    through an input layer that keeps the variance). Returns (len(sigmas), T): the geometric
    mean over seeds of ||dh_k/dh_0||_2 for k = 1..T.
    """
    if input_std < 0:
        raise ValueError(f"input_std: expected >= 0, got {input_std}")
    out = np.zeros((len(sigmas), T))
    for seed in seeds:
        Q = orthogonal(H, seed)
        drive = np.random.default_rng(1000 + seed).normal(0.0, input_std, (T, H))
        for n, sigma in enumerate(sigmas):
            out[n] += np.log(jacobian_norms(sigma * Q, drive, nonlinearity)["norms"])
    return np.exp(out / len(seeds))


def crossing_sigma(sigmas: np.ndarray, norms_at_T: np.ndarray) -> float:
    """The sigma where the lag-T norm crosses 1, by linear interpolation of log(norm).

    sigmas: (S,) increasing; norms_at_T: (S,) positive. Returns nan if it never crosses.
    """
    sigmas, logs = np.asarray(sigmas, float), np.log(np.asarray(norms_at_T, float))
    if sigmas.shape != logs.shape or sigmas.ndim != 1:
        raise ValueError(f"sigmas and norms_at_T: expected equal 1-D shapes, got "
                         f"{sigmas.shape} and {logs.shape}")
    for n in range(len(sigmas) - 1):
        if logs[n] < 0 <= logs[n + 1]:
            return float(sigmas[n] + (sigmas[n + 1] - sigmas[n]) * -logs[n]
                         / (logs[n + 1] - logs[n]))
    return float("nan")


def torch_default_whh(H: int, seed: int = 0) -> np.ndarray:
    """Our Wh (H, H) as torch.nn.RNN initialises it: weight_hh_l0 ~ U(-1/sqrt(H), 1/sqrt(H)),
    transposed. Drawn by torch.nn itself, on purpose, so that it is exactly torch's default."""
    import torch  # here only: the rest of the chapter is NumPy

    from minirnn.convert import from_torch

    torch.manual_seed(seed)
    (_, Wh, _), = from_torch(torch.nn.RNN(1, H))
    return Wh


def top_lyapunov(Wh: np.ndarray, drive: np.ndarray, nonlinearity: str = "tanh",
                 h0: np.ndarray | None = None) -> np.ndarray:
    """Run h_t = phi(h_{t-1} Wh + u_t) and return (T,) with entry k - 1 = (1/k) log
    ||dh_k/dh_0||_2 (natural log, per step).

    Its limit for large k is the top Lyapunov exponent lambda_1 of the product of the varying
    Jacobians diag(phi'(a_t)) Wh^T: a gradient across k steps scales like exp(lambda_1 k).
    The product is divided by its norm after every step (the norm is homogeneous, so the
    logarithms add up exactly), so a product of 1e-1000 is measured without underflow.
    Wh (H, H), drive (T, H), h0 (H,) as in `jacobian_norms`.
    """
    H, h = _checked_run(Wh, drive, nonlinearity, h0)
    T = drive.shape[0]
    product, log_norm, out = np.eye(H), 0.0, np.empty(T)
    for t in range(T):
        h = np.tanh(h @ Wh + drive[t]) if nonlinearity == "tanh" else h @ Wh + drive[t]
        deriv = 1.0 - h ** 2 if nonlinearity == "tanh" else np.ones(H)
        product = (deriv[:, None] * Wh.T) @ product
        size = np.linalg.norm(product, 2)
        log_norm += np.log(size)
        product /= size
        out[t] = log_norm / (t + 1)
    return out


def tanh_can_grow_example() -> dict[str, np.ndarray]:
    """A counterexample to "the tanh can only make the product smaller".

    Wh^T = [[1, -1], [1, -1]] is nilpotent: (Wh^T)^2 = 0, so the linear RNN's two-step Jacobian
    is 0. The drive makes h_1 = (0, sqrt(1/2)) (so tanh'(a_1) = (1, 1/2)) and h_2 = 0 (tanh' = 1):
    the tanh RNN's two-step Jacobian is Wh^T diag(1, 1/2) Wh^T = [[1/2, -1/2], [1/2, -1/2]],
    of norm 1. Returns {"Wh": (2, 2), "drive": (2, 2)}.
    """
    Wh = np.array([[1.0, 1.0], [-1.0, -1.0]])  # our Wh; its transpose is [[1, -1], [1, -1]]
    h1 = np.array([0.0, np.sqrt(0.5)])
    drive = np.stack([np.arctanh(h1), -h1 @ Wh])  # a_1 = u_1; a_2 = h_1 Wh + u_2 = 0
    return {"Wh": Wh, "drive": drive}


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements m; raises AssertionError naming the claim.

    Keys: "bound" {"norms", "chain", "sigma"} (section 10.2, a W_h with sigma_max < 1);
    "jordan" {"k": ks, "norms": ||W^k||} for [[0.9, 2], [0, 0.9]]; "grow" {"tanh", "linear"}
    two-step Jacobian norms of `tanh_can_grow_example`; "default" {"rate", "rho"};
    "crossing" {1.0: sigma, 0.1: sigma}; "lyapunov": list of {"seed", "steps", "lambda",
    "rho", "sigma_max", "median_deriv"} (trained character RNNs), each lambda the top exponent.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 10 claim fails: {text}")

    b = m["bound"]
    k = np.arange(1, len(b["norms"]) + 1)
    claim(np.all(b["norms"] <= b["chain"] * (1 + 1e-9))
          and np.all(b["chain"] <= b["sigma"] ** k * (1 + 1e-9)),
          "||dh_k/dh_0|| <= prod ||J|| <= sigma_max^k at every k")
    ks, norms = np.asarray(m["jordan"]["k"]), np.asarray(m["jordan"]["norms"])
    ratio = norms / (ks * 0.9 ** ks)
    claim(np.all(np.abs(ratio[ks >= 100] / (2 / 0.9) - 1) < 0.02),
          "for the Jordan block ||W^k|| / (k 0.9^k) tends to 2 / 0.9 (it grows like k rho^k)")
    claim(round(float(norms[list(ks).index(100)] / 0.9 ** 100)) == 222,
          "||W^100|| is 222 rho^100, not a constant times rho^100")
    claim(m["grow"]["linear"] < 1e-12 and m["grow"]["tanh"] > 0.99,
          "the tanh's two-step Jacobian (norm 1) is larger than the linear one (0)")
    claim(abs(m["default"]["rate"] - m["default"]["rho"]) < 0.05,
          "torch's default: the linear rate per step is rho")
    claim(1.65 < m["crossing"][1.0] < 1.95 and 1.0 < m["crossing"][0.1] < 1.2,
          "the tanh crossing is near 1.8 for inputs of std 1 and near 1.1 for std 0.1")
    runs = m["lyapunov"]
    claim(len({r["seed"] for r in runs}) >= 3, "the Lyapunov exponents cover 3 seeds or more")
    trained = [r for r in runs if r["steps"] > 0]
    claim(all(r["lambda"] < -0.1 for r in runs),
          "every character RNN, trained or not, has a top Lyapunov exponent below -0.1 per step")
    claim(all(r["rho"] > 1.2 and r["median_deriv"] < 0.1 for r in trained),
          "every trained character RNN has rho > 1.2 and a median tanh' below 0.1")
    for seed in {r["seed"] for r in runs}:
        lams = [r["lambda"] for r in sorted(runs, key=lambda r: r["steps"]) if r["seed"] == seed]
        claim(all(a < b for a, b in zip(lams, lams[1:])),
              f"seed {seed}: training raises the top Lyapunov exponent (the vanishing slows)")
