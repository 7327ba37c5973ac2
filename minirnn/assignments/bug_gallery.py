"""The bug gallery (assignment A8, book/bug_gallery.md): both versions of each planted function.

`planted(module)` is the handout's version of a ``minirnn.debugging`` module (each solution
region replaced by its bug region, as build.py cuts it), `fixed(module)` the reference;
`measure()` runs the practitioner's check of every bug on both and returns the numbers the book
page quotes (experiments/bug_gallery.py writes them to minirnn/results/bug_gallery.json).
"""

from __future__ import annotations

import importlib
import types

from minirnn.assignments import build
from minirnn.assignments.verdicts_a8 import rnn_params  # the grader's test weights

MODULES = ("layers", "loops")


def _load(name: str, solution: bool) -> types.ModuleType:
    if name not in MODULES:
        raise ValueError(f"name: expected one of {MODULES}, got {name!r}")
    path = build.PACKAGE_ROOT / "debugging" / f"{name}.py"
    text = path.read_text(encoding="utf-8")
    chapters = {function: 0 for function, _ in build.solution_regions(text, str(path))}
    module = types.ModuleType(f"minirnn.debugging.{name}_{'fixed' if solution else 'planted'}")
    module.__file__ = str(path)
    where = str(path) if solution else f"{path} (as handed out)"
    code = compile(build.cut_solutions(text, chapters, solution, str(path)), where, "exec")
    exec(code, module.__dict__)  # noqa: S102 - the package's own source, cut
    return module


def planted(name: str) -> types.ModuleType:
    """The handout's minirnn.debugging.<name>, with its planted bugs."""
    return _load(name, solution=False)


def fixed(name: str) -> types.ModuleType:
    """minirnn.debugging.<name> as the package has it (the bugs fixed)."""
    return importlib.import_module(f"minirnn.debugging.{name}")


def _symptoms(layers: types.ModuleType, loops: types.ModuleType, seed: int) -> dict[str, float]:
    """Each bug's symptom, measured on one version of the two modules (the numbers the page
    quotes): the practitioner's check of each function, on small float64 inputs."""
    import numpy as np
    import torch

    from minirnn.assignments import verdicts, verdicts_a8
    from minirnn.debugging.meters import LiveSavedBytes

    rng, out = np.random.default_rng(seed), {}
    # 1. embedding: gradient check on a batch where one word occurs three times
    W, ids, dout = rng.normal(size=(5, 3)), np.array([[1, 1, 2], [4, 1, 0]]), rng.normal(
        size=(2, 3, 3))
    want = verdicts.numeric_gradient(lambda: W[ids], W, dout)
    out["embedding"] = verdicts.scaled(layers.embedding_backward(dout, ids, 5), want)
    # 2. BPTT: gradient check of dWh
    x, h0 = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 4)) * 0.5
    Wx, Wh, b = rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4)
    up = rng.normal(size=(2, 6, 4))
    _, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    want = verdicts.numeric_gradient(lambda: verdicts.sequence(x, h0, Wx, Wh, b), Wh, up)
    out["bptt"] = verdicts.scaled(layers.rnn_backward(up, cache)[3], want)
    # 3. softmax: how many probabilities are not finite at scores near 1000
    with np.errstate(over="ignore", invalid="ignore"):
        probs = layers.softmax(rng.normal(size=(4, 10)) + 1000.0)
    out["softmax"] = int(np.sum(~np.isfinite(probs)))
    # 4. padding: how much the loss moves when only the padding's scores change
    scores, targets = rng.normal(size=(2, 4, 3)), rng.integers(0, 3, size=(2, 4))
    mask = np.array([[True] * 4, [True, True, False, False]])
    moved = layers.sequence_loss(np.where(mask[..., None], scores, 5.0), targets, mask)[0]
    out["padding"] = abs(moved - layers.sequence_loss(scores, targets, mask)[0])
    # 5. truncated BPTT: live saved bytes after the last of 8 chunks / after the first
    p = rnn_params(rng, 3, 8, head=True)
    with LiveSavedBytes() as meter:
        loops.tbptt_gradients(p, rng.normal(size=(2, 32, 3)), rng.normal(size=(2, 32)), 4,
                              on_chunk=meter.record)
    out["tbptt_first"], out["tbptt_last"] = meter.history[0], meter.history[-1]
    # 6. independent sequences: a sequence's final state alone vs after another one
    p = rnn_params(rng, 2, 3)
    first, second = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    out["leak"] = float(np.abs(loops.encode_each(p, [second])[0]
                               - loops.encode_each(p, [first, second])[1]).max())
    # 7. gate order: torch's LSTM with the loaded weights vs the CS231n LSTM
    D, H = 2, 3
    Wx, Wh, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    x = rng.normal(size=(2, 4, D))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    lstm.load_state_dict({k: torch.from_numpy(v)
                          for k, v in loops.lstm_from_cs231n(Wx, Wh, b).items()})
    with torch.no_grad():
        got = lstm(torch.from_numpy(x))[0].numpy()
    out["gates"] = float(np.abs(got - verdicts_a8.lstm_cs231n(x, Wx, Wh, b)).max())
    # 8. batch_first: the final states' first axis for N = 3 sequences of T = 5 steps
    out["batch_rows"] = int(loops.final_states(rnn_params(rng, 2, 4),
                                               rng.normal(size=(3, 5, 2))).shape[0])
    # 9. clipping: the update's norm over its bound lr * max_norm
    p = rnn_params(rng, 3, 5, head=True)
    new, _ = loops.clipped_sgd_step(p, rng.normal(size=(2, 6, 3)),
                                    rng.normal(size=(2, 6)) * 20, lr=0.1, max_norm=1.0)
    out["clip"] = float(np.sqrt(sum(np.sum((new[k] - p[k]) ** 2) for k in p))) / 0.1
    # 10. bidirectional: how far the backward half moves when only the first token changes
    p, x = rnn_params(rng, 2, 3, reverse=True), rng.normal(size=(2, 5, 2))
    changed = x.copy()
    changed[:, 0] += 1.0
    out["bidirectional"] = float(np.abs(loops.bidirectional_summary(p, changed)[:, 3:]
                                        - loops.bidirectional_summary(p, x)[:, 3:]).max())
    return {k: float(v) for k, v in out.items()}


def measure(seed: int = 0) -> dict[str, dict[str, float]]:
    """{"planted": symptoms of the handout, "fixed": symptoms of the reference} (see
    _symptoms), on the same inputs."""
    import torch

    torch.set_num_threads(1)
    return {"seed": seed,
            "planted": _symptoms(planted("layers"), planted("loops"), seed),
            "fixed": _symptoms(fixed("layers"), fixed("loops"), seed)}


# The gallery: (key, bug, symptom measured, check that catches it, chapter notebook).
GALLERY = (
    ("embedding", "embedding backward with `dW[ids] += dout`: a word that occurs k times gets "
     "one gradient, not k", "gradient check, largest error / largest entry",
     "gradient check on a batch with repeated words", "06_embeddings"),
    ("bptt", "BPTT carries dL/dh, not dL/da, to the step before (tanh' skipped)",
     "gradient check of dW_h, largest error / largest entry", "gradient check", "07_bptt"),
    ("softmax", "softmax without the largest score subtracted",
     "probabilities that are not finite (of 40) at scores near 1000",
     "values at large scores are finite", "04_unrolling_and_loss"),
    ("padding", "padding counted in the loss (no mask)",
     "change of the loss when only the padding's scores change",
     "the loss is unchanged by the padding", "04_unrolling_and_loss"),
    ("tbptt", "state not detached between truncated-BPTT chunks, the error silenced with "
     "`retain_graph=True`", "live saved bytes after chunk 1 and after chunk 8",
     "a memory count per chunk stays flat", "08_truncated_bptt"),
    ("leak", "state carried from one independent sequence into the next",
     "change of a sequence's final state when another sequence precedes it",
     "parity: each sequence as if alone", "03_vanilla_rnn"),
    ("gates", "LSTM weights loaded in CS231n's gate order i, f, o, g into torch's i, f, g, o",
     "largest difference between torch's states and the original's",
     "parity test against torch", "12_lstm"),
    ("batch_rows", "batch-major input into an `nn.RNN` without `batch_first=True`",
     "rows of the final states for N = 3 sequences of T = 5 steps",
     "shape assert with N != T", "03_vanilla_rnn"),
    ("clip", "gradients clipped after `optimizer.step()`",
     "the update's norm over its bound lr * max_norm", "the update's norm is bounded",
     "11_gradient_clipping"),
    ("bidirectional", "`output[:, -1]` of a bidirectional layer as the sequence's summary",
     "largest change of the backward half when only the first token changes",
     "parity with each direction's final state", "13_bidirectional"),
)


def _number(key: str, results: dict, which: str) -> str:
    r = results[which]
    if key == "tbptt":
        return f"{int(r['tbptt_first'])} -> {int(r['tbptt_last'])}"
    value = r[key]
    if key in ("softmax", "batch_rows"):
        return str(int(value))
    if key == "clip":
        return f"{value:.2f}"
    if value == 0:
        return "0"
    return "< 1e-8" if value < 1e-8 else f"{value:.1e}"  # rounding's size: any CPU prints this


def table(results: dict) -> str:
    """The page's table (markdown) from `measure`'s results: every number on the page."""
    rows = ["| bug | symptom | planted | fixed | the check that catches it | chapter |",
            "|---|---|---|---|---|---|"]
    for key, bug, symptom, check, chapter in GALLERY:
        rows.append(f"| {bug} | {symptom} | {_number(key, results, 'planted')} | "
                    f"{_number(key, results, 'fixed')} | {check} | "
                    f"{{doc}}`../notebooks/{chapter}` |")
    return "\n".join(rows) + "\n"


def check_claims(results: dict) -> None:
    """Raise AssertionError unless every planted bug shows its symptom and every fix clears it,
    as the page says: the directions of the table, with margins far past its rounding."""
    bug, fix = results["planted"], results["fixed"]
    for key in ("embedding", "bptt", "gates"):  # checks that fail / pass by orders of magnitude
        assert bug[key] > 1e-2 and fix[key] < 1e-8, key
    assert bug["softmax"] > 0 and fix["softmax"] == 0, "softmax"
    assert bug["padding"] > 1e-2 and fix["padding"] == 0, "padding"
    assert bug["leak"] > 1e-2 and fix["leak"] == 0, "leak"
    assert bug["tbptt_last"] > 2 * bug["tbptt_first"], "tbptt: the planted bug's memory grows"
    assert fix["tbptt_last"] <= fix["tbptt_first"], "tbptt: the fix's memory stays flat"
    assert bug["batch_rows"] != 3 and fix["batch_rows"] == 3, "batch_rows"
    assert bug["clip"] > 2 and fix["clip"] <= 1 + 1e-6, "clip"
    assert bug["bidirectional"] == 0 and fix["bidirectional"] > 1e-2, "bidirectional"
