"""A5 (gradient dynamics, NumPy) judged in the grader: see verdicts.py for how a Case works.

Jacobians, spectra and lag norms are checked against products and decompositions written out
here; the clipping functions against torch.nn.utils.clip_grad_norm_ and clip_grad_value_, run
in this process (the child, a NumPy assignment, cannot import torch); the predicted vanishing
lag against matrix powers for short lags, and, for a spectral radius a hair below one, against
the spectrum: a lag of about 10^8 that no loop over k reaches within the time limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

DYNAMICS = "minirnn.numpy.dynamics"


def orthogonal(rng, H: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    return q * np.sign(np.diag(r))


def one_step(h_next: np.ndarray, Wh: np.ndarray) -> np.ndarray:
    """dh_t/dh_{t-1} for one state h_t (H,): entry (i, j) = (1 - h_t[i]^2) Wh[j, i]."""
    H = len(Wh)
    return np.array([[(1.0 - h_next[i] ** 2) * Wh[j, i] for j in range(H)] for i in range(H)])


def trajectory(Wh: np.ndarray, drive: np.ndarray, h0: np.ndarray) -> np.ndarray:
    states = [h0]
    for u in drive:
        states.append(np.tanh(np.einsum("j,ji->i", states[-1], Wh) + u))
    return np.stack(states)


def product(states: np.ndarray, Wh: np.ndarray, t: int, k: int) -> np.ndarray:
    """J_t J_{t-1} ... J_{t-k+1}, built from the oldest factor up."""
    out = np.eye(len(Wh))
    for s in range(t - k + 1, t + 1):
        out = one_step(states[s], Wh) @ out
    return out


def step_jacobian_case(rng) -> Case:
    case = Case()
    H = 5
    Wh = rng.normal(size=(H, H)) * 0.6
    h = np.tanh(rng.normal(size=(3, H)))
    case.call("J", DYNAMICS, "rnn_step_jacobian", h, Wh)

    def check(out):
        got = array(out["J"], "J", (3, H, H))
        want = np.stack([one_step(row, Wh) for row in h])
        expect(relative(got, want) < 1e-10, "J[n, i, j] must be d h_t[n, i] / d h_{t-1}[n, j] "
                                            "= (1 - h_t[n, i]^2) Wh[j, i]")
    case.check = check
    return case


def jacobian_product_case(rng) -> Case:
    case = Case()
    H, T = 6, 12
    Wh = rng.normal(size=(H, H)) * 0.7
    states = trajectory(Wh, rng.normal(size=(T, H)), rng.normal(size=H) * 0.3)
    pairs = [(T, int(rng.integers(3, 8))), (7, 7), (5, 0), (9, 1), (int(rng.integers(4, T)), 3)]
    for n, (t, k) in enumerate(pairs):
        case.call(f"p{n}", DYNAMICS, "jacobian_product", states, Wh, t, k)

    def check(out):
        for n, (t, k) in enumerate(pairs):
            got = array(out[f"p{n}"], f"dh_{t}/dh_{t - k}", (H, H))
            expect(scaled(got, product(states, Wh, t, k)) < 1e-10,
                   f"dh_{t}/dh_{t - k} is wrong (the newest Jacobian goes on the left)")
    case.check = check
    return case


def spectrum_matrices(rng) -> list[np.ndarray]:
    """A general matrix (complex eigenvalues), a scaled rotation, a symmetric one whose largest
    eigenvalue in modulus is negative, and a triangular one with sigma_max far above rho."""
    H = 6
    general = rng.normal(size=(H, H))
    angle = rng.uniform(0.3, 1.2)
    rotation = np.eye(H)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    rotation *= rng.uniform(0.8, 1.2)
    q = orthogonal(rng, H)
    values = rng.uniform(-0.9, 0.9, H)
    values[0] = -rng.uniform(1.2, 1.6)
    symmetric = (q * values) @ q.T
    triangular = np.triu(rng.normal(size=(H, H)) * 2.0, 1) + np.diag(rng.uniform(0.3, 0.6, H))
    return [general, rotation, symmetric, triangular]


def spectrum_case(rng) -> Case:
    case, matrices = Case(), spectrum_matrices(rng)
    for n, W in enumerate(matrices):
        case.call(f"s{n}", DYNAMICS, "spectrum", W)

    def check(out):
        for n, W in enumerate(matrices):
            got = out[f"s{n}"]
            expect(isinstance(got, (tuple, list)) and len(got) == 2,
                   "spectrum returns (sigma_max, rho)")
            sigma, rho = (float(array(v, name)) for v, name in zip(got, ("sigma_max", "rho")))
            want_sigma = float(np.sqrt(np.max(np.linalg.eigvalsh(W.T @ W))))
            want_rho = float(np.max(np.abs(np.linalg.eigvals(W))))
            expect(abs(sigma - want_sigma) < 1e-9 * want_sigma,
                   f"sigma_max of matrix {n}: {sigma:.6g}, expected {want_sigma:.6g}")
            expect(abs(rho - want_rho) < 1e-9 * want_rho,
                   f"rho of matrix {n}: {rho:.6g}, expected {want_rho:.6g} (the largest "
                   f"modulus of the eigenvalues, complex or negative ones included)")
    case.check = check
    return case


def lag_norms_case(rng) -> Case:
    case, H, T = Case(), 16, 40
    runs = []
    for n, sigma in enumerate((rng.uniform(0.6, 0.9), rng.uniform(1.1, 1.6))):
        Wh = sigma * orthogonal(rng, H) + rng.normal(size=(H, H)) * 0.05  # not normal
        drive = rng.normal(size=(T, H)) * rng.uniform(0.3, 1.0)
        h0 = rng.normal(size=H) * 0.2
        if n == 0:
            case.call("r0", DYNAMICS, "jacobian_norms_by_lag", Wh, drive, h0)
            runs.append(("r0", Wh, drive, h0))
        else:  # the default initial state: zeros
            case.call("r1", DYNAMICS, "jacobian_norms_by_lag", Wh, drive)
            runs.append(("r1", Wh, drive, np.zeros(H)))

    def check(out):
        for name, Wh, drive, h0 in runs:
            states = trajectory(Wh, drive, h0)
            want = np.array([np.linalg.norm(product(states, Wh, T, k), 2)
                             for k in range(1, T + 1)])
            got = array(out[name], "norms", (T,))
            expect(relative(got, want) < 1e-8, "norms[k - 1] must be ||dh_T/dh_{T-k}||_2, "
                                               "k = 1..T, along the driven tanh trajectory")
    case.check = check
    return case


def vanishing_lag_case(rng) -> Case:
    """Normal matrices: symmetric ones and multiples of orthogonal ones with rho in (0.5, 0.95)
    (lags checked against matrix powers), one with rho = 1 - ~1e-7 (a lag near 10^8: checked
    against the spectrum to one part in a million), one with rho > 1 (never: -1 for None)."""
    case, H = Case(), 8
    inputs, radii = {}, []
    for k in range(5):
        q = orthogonal(rng, H)
        rho = float(rng.uniform(0.5, 0.95)) if k < 3 else (
            1.0 - float(10 ** -rng.uniform(6.8, 7.2)) if k == 3 else float(rng.uniform(1.05, 1.3)))
        if k % 2 == 0:  # symmetric, the largest eigenvalue in modulus of either sign
            values = rng.uniform(-rho, rho, H) * 0.9
            values[int(rng.integers(H))] = rho * (1 if rng.random() < 0.5 else -1)
            inputs[f"W{k}"] = (q * values) @ q.T
        else:
            inputs[f"W{k}"] = rho * q
        radii.append(rho)
    thresholds = np.array([1e-6, 1e-4, 1e-8, 1e-6, 1e-6])
    case.program("lags", "vanishing_lags", thresholds=thresholds, **inputs)

    def check(out):
        got = array(out["lags"], "the lags", (5,))
        for k in range(3):  # short lags: the first power whose norm is below the threshold
            W, power, lag = inputs[f"W{k}"], np.eye(H), 0
            while np.linalg.norm(power, 2) >= thresholds[k]:
                power, lag = power @ W, lag + 1
            expect(got[k] == lag, f"matrix {k} (rho {radii[k]:.4f}, threshold "
                                  f"{thresholds[k]:g}): lag {got[k]:g}, expected {lag}")
        want = math.floor(math.log(thresholds[3]) / math.log(radii[3])) + 1
        expect(abs(got[3] - want) <= 1e-6 * want,
               f"rho = 1 - {1 - radii[3]:.2e}: lag {got[3]:g}, expected about {want}")
        expect(got[4] == -1, f"rho = {radii[4]:.3f} > 1: the norm never vanishes (None)")
    case.check = check
    return case


def torch_clip(grads: list[np.ndarray], limit: float, value: bool):
    """(torch's returned total or None, the gradients after) from torch.nn.utils."""
    import torch

    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype))
        p.grad = torch.from_numpy(g.copy())
        params.append(p)
    if value:
        returned = torch.nn.utils.clip_grad_value_(params, limit)
    else:
        returned = float(torch.nn.utils.clip_grad_norm_(params, limit))
    return returned, [p.grad.numpy() for p in params]


def clipping_case(rng, value: bool) -> Case:
    """Lists and dicts of gradients in float64 and float32, clipped by the student's function
    in the child and by torch here; for the norm, also gradients already under the limit."""
    case, runs = Case(), []
    setups = [(np.float64, 0, "over"), (np.float32, 1, "over")]
    if not value:
        setups.append((np.float64, 0, "under"))
    for n, (dtype, as_dict, kind) in enumerate(setups):
        shapes = [(int(rng.integers(2, 6)), int(rng.integers(2, 6))), (int(rng.integers(3, 9)),),
                  (2, 3, int(rng.integers(2, 5)))]
        grads = [(rng.normal(size=s) * rng.uniform(0.5, 3.0)).astype(dtype) for s in shapes]
        total = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads)))
        if value:
            limit = float(rng.uniform(0.3, 1.0))
        else:
            limit = total * (rng.uniform(0.2, 0.6) if kind == "over" else rng.uniform(1.5, 3))
        case.program(f"c{n}", "clipping", count=len(grads), as_dict=as_dict, value=int(value),
                     limit=limit, **{f"g{k}": g for k, g in enumerate(grads)})
        runs.append((f"c{n}", grads, limit, dtype))

    def check(out):
        for name, grads, limit, dtype in runs:
            want_returned, want = torch_clip(grads, limit, value)
            got = out[name]
            after = got.get("after")
            expect(isinstance(after, (list, tuple)) and len(after) == len(grads),
                   "the gradients did not come back")
            for k, (g, w) in enumerate(zip(after, want)):
                expect(isinstance(g, np.ndarray) and g.dtype == dtype,
                       f"gradient {k} must keep its dtype {np.dtype(dtype).name}")
                tolerance = 1e-12 if dtype == np.float64 else 1e-6
                expect(np.allclose(g, w, rtol=tolerance, atol=tolerance * float(np.abs(w).max())),
                       f"gradient {k} after clipping differs from torch's (was it changed in "
                       f"place?), by up to {float(np.max(np.abs(g - w))):.2e}")
            if value:
                expect(got.get("returned") is None, "clip_grad_value returns None, like torch")
            else:
                total = float(array(got.get("returned"), "the returned total norm"))
                expect(abs(total - want_returned) <= 1e-6 * want_returned,
                       f"returned {total:.6g}, torch returns the total norm before clipping, "
                       f"{want_returned:.6g}")
    case.check = check
    return case


CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_rnn_step_jacobian": step_jacobian_case,
    "test_jacobian_product": jacobian_product_case,
    "test_spectrum": spectrum_case,
    "test_jacobian_norms_by_lag": lag_norms_case,
    "test_predicted_vanishing_lag": vanishing_lag_case,
    "test_clip_grad_norm": lambda rng: clipping_case(rng, False),
    "test_clip_grad_value": lambda rng: clipping_case(rng, True),
}

# Last: verdicts.py imports this module at its end, for JUDGED; importing it first must find
# CASES already defined (the helpers below are only looked up when a case runs).
from minirnn.assignments.verdicts import Case, array, expect, relative, scaled  # noqa: E402
