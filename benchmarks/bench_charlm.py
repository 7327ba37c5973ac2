"""Char-LM quality in a fixed time: ``charlm train --time-budget 60`` against min-char-rnn.

Both train for the same wall-clock budget on the same split of the default corpus (NumPy's
docstrings; the last 10% held out) and are scored in bits per character on the held-out part.

- ours: ``python -m minirnn charlm train`` with its defaults (one LSTM layer of 256 units,
  torch.nn's fused kernel, minibatches of 32 streams x 64 steps, Adam with a cosine-decaying
  rate), scored by ``charlm eval`` (32 parallel streams, the state carried across chunks);
- the recipe: min-char-rnn as described (vanilla RNN, hidden 100, unroll 25, Adagrad lr 0.1,
  gradients clipped elementwise to +-5, batch of one, weights randn * 0.01), written here in NumPy
  from that description, scored by reading the held-out text once, one character at a time.

Target: ours / recipe <= 0.65. Run: ``python benchmarks/bench_charlm.py [--budget 60]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

# --threads N (default 2) must be known before NumPy loads its BLAS, so it is read here.
THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "2"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, THREADS)  # NumPy's BLAS reads these when it is first imported
# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine two spinning threads
# wait on each other and a training step took 2 s instead of 0.14 s (measured at load 6.5).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from minirnn.cli import load_run, main  # noqa: E402
from minirnn.data import CharVocab, load_corpus, split_text, to_torch  # noqa: E402
from minirnn.torch.train import evaluate_charlm  # noqa: E402


class MinCharRNN:
    """min-char-rnn's recipe in NumPy, column vectors as in its description: h = tanh(Wxh x +
    Whh h + bh), y = Why h + by, one sequence of ``unroll`` characters per update."""

    def __init__(self, vocab_size: int, hidden: int = 100, lr: float = 0.1, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.Wxh = rng.standard_normal((hidden, vocab_size)) * 0.01
        self.Whh = rng.standard_normal((hidden, hidden)) * 0.01
        self.Why = rng.standard_normal((vocab_size, hidden)) * 0.01
        self.bh, self.by = np.zeros(hidden), np.zeros(vocab_size)
        self.params = [self.Wxh, self.Whh, self.Why, self.bh, self.by]
        self.memory = [np.zeros_like(p) for p in self.params]  # Adagrad's sums of squares
        self.lr, self.hidden = lr, hidden

    def update(self, xs: np.ndarray, ys: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward over the chunk, backpropagate through it, one Adagrad step; returns the summed
        loss (nats) and the last hidden state."""
        T = len(xs)
        hs, ps = np.empty((T + 1, self.hidden)), []
        hs[-1] = h  # hs[t - 1] of t = 0 is the carried state
        loss = 0.0
        for t in range(T):
            hs[t] = np.tanh(self.Wxh[:, xs[t]] + self.Whh @ hs[t - 1] + self.bh)
            logits = self.Why @ hs[t] + self.by
            e = np.exp(logits - logits.max())
            ps.append(e / e.sum())
            loss -= math.log(ps[-1][ys[t]])
        grads = [np.zeros_like(p) for p in self.params]
        dWxh, dWhh, dWhy, dbh, dby = grads
        dh_next = np.zeros(self.hidden)
        for t in reversed(range(T)):
            dy = ps[t].copy()
            dy[ys[t]] -= 1.0
            dWhy += np.outer(dy, hs[t])
            dby += dy
            draw = (1.0 - hs[t] ** 2) * (self.Why.T @ dy + dh_next)
            dbh += draw
            dWxh[:, xs[t]] += draw
            dWhh += np.outer(draw, hs[t - 1])
            dh_next = self.Whh.T @ draw
        for p, g, m in zip(self.params, grads, self.memory):
            np.clip(g, -5, 5, out=g)
            m += g * g
            p -= self.lr * g / np.sqrt(m + 1e-8)
        return loss, hs[T - 1].copy()

    def train(self, ids: np.ndarray, budget: float, unroll: int = 25) -> int:
        start, p, h, updates = time.perf_counter(), 0, np.zeros(self.hidden), 0
        while time.perf_counter() - start < budget:
            if p + unroll + 1 > len(ids):
                p, h = 0, np.zeros(self.hidden)
            _, h = self.update(ids[p : p + unroll], ids[p + 1 : p + unroll + 1], h)
            p += unroll
            updates += 1
        return updates

    def bits_per_char(self, ids: np.ndarray) -> float:
        h, nll = np.zeros(self.hidden), 0.0
        for t in range(len(ids) - 1):
            h = np.tanh(self.Wxh[:, ids[t]] + self.Whh @ h + self.bh)
            logits = self.Why @ h + self.by
            top = logits.max()
            nll += top + math.log(np.exp(logits - top).sum()) - logits[ids[t + 1]]
        return nll / (len(ids) - 1) / math.log(2)

    def sample(self, first: int, n: int, rng: np.random.Generator) -> list[int]:
        h, x, out = np.zeros(self.hidden), first, []
        for _ in range(n):
            h = np.tanh(self.Wxh[:, x] + self.Whh @ h + self.bh)
            logits = self.Why @ h + self.by
            p = np.exp(logits - logits.max())
            x = int(rng.choice(len(p), p=p / p.sum()))
            out.append(x)
        return out


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of training each")
    parser.add_argument("--skip-recipe", action="store_true")
    parser.add_argument("--threads", default="2", help="threads for torch and NumPy alike")
    parser.add_argument("train_args", nargs="*", help="extra arguments for charlm train")
    args = parser.parse_args()
    torch.set_num_threads(int(THREADS))
    text = load_corpus()
    train_text, held_out = split_text(text)
    vocab = CharVocab.from_text(text)
    print(f"corpus: {len(text)} characters, {len(vocab)} distinct; held out: last "
          f"{len(held_out)}; {THREADS} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; "
          f"load average {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        main(["charlm", "train", "--time-budget", str(args.budget), "--out", out,
              "--no-progress", "--save-every", "0", *args.train_args])
        ours_time = time.perf_counter() - start
        ckpt, model, _ = load_run(out)
        ours_steps = ckpt["trainer"]["step"]
        ours_bpc = evaluate_charlm(model, vocab.encode(held_out))
        g = torch.Generator().manual_seed(0)
        ours_sample = vocab.decode(model.generate(to_torch(vocab.encode("\n")), 300, generator=g))
    cfg = ckpt["config"]
    ours_chars = ours_steps * cfg["batch_size"] * cfg["seq_len"]

    rows = [("minirnn charlm (" + f"{cfg['cell']} {cfg['hidden_size']}, {cfg['backend']})",
             ours_steps, ours_chars, ours_time, ours_bpc)]
    if not args.skip_recipe:
        ids = np.array(vocab.encode(train_text).tolist())
        recipe = MinCharRNN(len(vocab))
        start = time.perf_counter()
        updates = recipe.train(ids, args.budget)
        recipe_time = time.perf_counter() - start
        recipe_bpc = recipe.bits_per_char(np.array(vocab.encode(held_out).tolist()))
        recipe_sample = vocab.decode(recipe.sample(vocab.index["\n"], 300,
                                                   np.random.default_rng(0)))
        rows.append(("min-char-rnn recipe (rnn 100, NumPy)", updates, updates * 25, recipe_time,
                     recipe_bpc))

    print(f"\n{'model':44s} {'updates':>8s} {'chars seen':>11s} {'train s':>8s} {'bpc':>7s}")
    for name, steps, chars, seconds, bpc in rows:
        print(f"{name:44s} {steps:8d} {chars:11d} {seconds:8.1f} {bpc:7.3f}")
    if len(rows) == 2:
        ratio = rows[0][4] / rows[1][4]
        verdict = "meets" if ratio <= 0.65 else "misses"
        print(f"\nratio ours / recipe: {ratio:.3f} ({verdict} the target <= 0.65); "
              f"load average now {os.getloadavg()[0]:.2f}")
    print("\n--- sample, ours ---\n" + ours_sample)
    if len(rows) == 2:
        print("\n--- sample, recipe ---\n" + recipe_sample)


if __name__ == "__main__":
    sys.exit(main_bench())
