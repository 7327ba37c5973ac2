"""Training: one ``Trainer`` for every model, with truncated BPTT for the stateful char-LM.

- Batches come from a ``TBPTTBatcher`` (stateful: the hidden state is carried from one chunk of
  k steps to the next and detached in between, reset when the streams wrap) or from
  ``RandomBatches`` over tensors (each batch goes to ``model.loss(*batch)``).
- Gradients are clipped by norm (``clip_norm``) or elementwise by value (``clip_value``).
- The optimizer and learning-rate schedule are chosen by name; the history keeps the loss,
  gradient norm (before clipping) and learning rate of every step, for plots.
- ``state_dict``/``load_state_dict`` hold everything a resumed run needs (model, optimizer, RNG,
  batch position, carried state, history), so a run stopped and resumed equals one that was not.
- ``fit(after_step=...)`` calls a function between two whole steps, which may stop the loop:
  the place for periodic saves and for stopping on a signal (``python -m minirnn charlm train``).
- ``FreshBatches`` draws a new batch at every step from a function of the step number;
  ``random_windows`` cuts (input, next-token target) windows at random places of a text.
- A tqdm bar only where a person watches a terminal (stderr is a TTY) or when asked
  (``progress=True``); otherwise ``log_every`` prints a few plain summary lines.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from minirnn.data import to_torch
from minirnn.data.text import TBPTTBatcher
from minirnn.torch.models import detach_state, token_cross_entropy

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "linear", "step")


def seed_everything(seed: int) -> None:
    """Seed torch's global generator (initialisation, dropout) for a reproducible run."""
    torch.manual_seed(seed)


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0
                   ) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def schedule_factor(name: str, progress: float, warmup: float = 0.0) -> float:
    """The learning-rate multiplier at ``progress`` in [0, 1] of the run.

    cosine: from 1 down to 0.1; linear: from 1 down to 0.1; step: 1, then 0.3 after half and 0.1
    after three quarters; constant: 1. A linear warm-up over the first ``warmup`` fraction.
    """
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return max(progress / warmup, 1e-3)
    if name == "cosine":
        return 0.1 + 0.45 * (1 + math.cos(math.pi * progress))
    if name == "linear":
        return 1.0 - 0.9 * progress
    if name == "step":
        return 1.0 if progress < 0.5 else 0.3 if progress < 0.75 else 0.1
    return 1.0


class RandomBatches:
    """Shuffled minibatches over tensors that share their first dimension N; reproducible (the
    order of epoch e comes from seed + e) and resumable (``state_dict`` is two integers)."""

    def __init__(self, *tensors: torch.Tensor, batch_size: int, seed: int = 0) -> None:
        if not tensors:
            raise ValueError("give at least one tensor")
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise ValueError(f"tensor {i} has {t.shape[0]} rows, tensor 0 has {n}")
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be in [1, {n}], got {batch_size}")
        self.tensors, self.batch_size, self.seed = tensors, batch_size, seed
        self.epoch, self.position = 0, 0
        self._order = self._shuffle()

    def _shuffle(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(self.tensors[0].shape[0], generator=g)

    def next_batch(self) -> tuple[torch.Tensor, ...]:
        if self.position + self.batch_size > len(self._order):  # drop the ragged end
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._shuffle()
        idx = self._order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return tuple(t[idx] for t in self.tensors)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._shuffle()


class FreshBatches:
    """A new batch at every step from ``make_batch(step)`` (step = 0, 1, 2, ...), for tasks drawn
    on the fly (the adding problem, random windows of a text): ``make_batch`` returns a tuple of
    tensors for ``model.loss(*batch)``. Resumable when ``make_batch`` depends on the step only."""

    def __init__(self, make_batch: Callable[[int], tuple[torch.Tensor, ...]]) -> None:
        if not callable(make_batch):
            raise TypeError(f"make_batch must be callable, got {type(make_batch).__name__}")
        self.make_batch, self.step = make_batch, 0

    def next_batch(self) -> tuple[torch.Tensor, ...]:
        batch = self.make_batch(self.step)
        self.step += 1
        return tuple(batch)

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step = int(state["step"])


def random_windows(ids: torch.Tensor | np.ndarray, batch: int, T: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` windows of a 1-D id sequence (tensor or NumPy array, as minirnn.data returns)
    at random starts: inputs x = ids[s : s + T] and next-token targets y = ids[s + 1 : s + T + 1],
    each a (batch, T) tensor. The starts are drawn from ``generator``, so a seeded generator gives
    the same windows again."""
    if isinstance(ids, np.ndarray):
        ids = torch.from_numpy(ids)
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1:
        raise ValueError(f"ids: expected a 1-D tensor, got "
                         f"{tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids)}")
    if not 1 <= T <= len(ids) - 2:
        raise ValueError(f"T: expected 1 <= T <= len(ids) - 2 = {len(ids) - 2}, got {T}")
    if batch < 1:
        raise ValueError(f"batch: expected >= 1, got {batch}")
    starts = torch.randint(len(ids) - T - 1, (batch,), generator=generator).tolist()
    x = torch.stack([ids[s : s + T] for s in starts])
    y = torch.stack([ids[s + 1 : s + T + 1] for s in starts])
    return x, y


def _progress_bar(enabled: bool | None, total: int | None):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm  # the plain terminal bar, never tqdm.notebook

    return tqdm(total=total, file=sys.stderr, dynamic_ncols=True, leave=True)


def _move(batch, device):
    return tuple(t.to(device) if isinstance(t, torch.Tensor) else t for t in batch)


class Trainer:
    """Train ``model`` on batches from ``data`` (a TBPTTBatcher or anything with ``next_batch``).

    ``model`` may be wrapped in DistributedDataParallel; with a TBPTTBatcher it is called as
    ``model(x, state) -> (logits, state)``, otherwise ``model.loss(*batch)`` gives the loss.
    """

    def __init__(
        self,
        model: nn.Module,
        data,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        schedule: str = "constant",
        warmup: float = 0.0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        progress: bool | None = None,
        log_every: int = 0,
        log: Callable[[str], None] = print,
    ) -> None:
        if clip_norm is not None and clip_norm <= 0:
            raise ValueError(f"clip_norm must be > 0, got {clip_norm}")
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be > 0, got {clip_value}")
        if not hasattr(data, "next_batch"):
            raise TypeError(f"data must have next_batch(), got {type(data).__name__}")
        schedule_factor(schedule, 0.0)  # validates the name
        self.model, self.data = model, data
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(optimizer, self.params, lr, weight_decay)
        self.base_lr, self.schedule, self.warmup = lr, schedule, warmup
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.progress, self.log_every, self.log = progress, log_every, log
        self.device = next(model.parameters()).device
        self.stateful = isinstance(data, TBPTTBatcher)
        self.state = None  # the carried hidden state (stateful training)
        self.step_count = 0
        self.history: dict[str, list[float]] = {"loss": [], "grad_norm": [], "lr": []}

    # -- one step ------------------------------------------------------------------------------
    def _loss(self) -> torch.Tensor:
        if self.stateful:
            x, y, new_epoch = to_torch(self.data.next_batch())  # the batcher's are NumPy
            x, y = x.to(self.device), y.to(self.device)
            if new_epoch:
                self.state = None  # the streams restarted: the old context does not apply
            logits, state = self.model(x, self.state)
            self.state = detach_state(state)  # truncated BPTT: no gradient across chunks
            return token_cross_entropy(logits, y)
        out = self.model.loss(*_move(to_torch(self.data.next_batch()), self.device))
        return out[0] if isinstance(out, tuple) else out

    def train_step(self, progress_fraction: float) -> float:
        self.model.train()
        lr = self.base_lr * schedule_factor(self.schedule, progress_fraction, self.warmup)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss = self._loss()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip_norm)
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.params, self.clip_value)
        self.optimizer.step()
        self.step_count += 1
        value = loss.item()
        self.history["loss"].append(value)
        self.history["grad_norm"].append(float(norm))
        self.history["lr"].append(lr)
        return value

    # -- the loop ------------------------------------------------------------------------------
    def fit(self, steps: int | None = None, time_budget: float | None = None,
            total_steps: int | None = None,
            after_step: Callable[[Trainer], bool] | None = None,
            clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
        """Train for ``steps`` more steps, or until ``time_budget`` seconds have passed (the
        first that comes). The schedule runs over ``total_steps`` (default: this call's end),
        or over the time budget. Returns the history.

        ``after_step(trainer)`` is called after every step; returning True stops the loop there.
        It is the place for periodic saves and for stopping on a signal: it runs between two
        whole steps, so a run saved there and resumed continues exactly. ``clock`` gives the
        seconds for the time budget (several processes pass one they agree on, so they stop at
        the same step with the same learning rate)."""
        if steps is None and time_budget is None:
            raise ValueError("give steps or time_budget")
        if steps is not None and steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        end = self.step_count + steps if steps is not None else None
        total = total_steps or end
        start = clock()
        bar = _progress_bar(self.progress, steps)
        first_step = self.step_count
        try:
            while end is None or self.step_count < end:
                elapsed = clock() - start
                if time_budget is not None and elapsed >= time_budget:
                    break
                fraction = self.step_count / total if total else elapsed / time_budget
                if total and time_budget is not None:
                    fraction = max(fraction, elapsed / time_budget)
                loss = self.train_step(fraction)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
                elif self.log_every and self.step_count % self.log_every == 0:
                    recent = self.history["loss"][-self.log_every :]
                    self.log(f"step {self.step_count}: loss {sum(recent) / len(recent):.4f}")
                if after_step is not None and after_step(self):
                    break
        finally:  # also when after_step raises
            if bar is not None:
                bar.close()
        self.last_fit_steps = self.step_count - first_step
        self.last_fit_seconds = clock() - start
        return self.history

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Tensors and plain Python values only (loadable with ``weights_only=True``)."""
        model = self.model.module if hasattr(self.model, "module") else self.model
        state = self.state
        if state is not None and not isinstance(state, torch.Tensor):
            state = list(state)
        return {
            "model": model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "data": self.data.state_dict() if hasattr(self.data, "state_dict") else {},
            "carried_state": state,
            "step": self.step_count,
            "history": {k: list(v) for k, v in self.history.items()},
        }

    def load_state_dict(self, checkpoint: dict) -> None:
        model = self.model.module if hasattr(self.model, "module") else self.model
        model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        torch.set_rng_state(checkpoint["torch_rng"])
        if hasattr(self.data, "load_state_dict"):
            self.data.load_state_dict(checkpoint["data"])
        state = checkpoint["carried_state"]
        if isinstance(state, list):
            state = tuple(s.to(self.device) for s in state)
        elif state is not None:
            state = state.to(self.device)
        self.state = state
        self.step_count = int(checkpoint["step"])
        self.history = {k: list(v) for k, v in checkpoint["history"].items()}


@torch.no_grad()
def evaluate_charlm(model: nn.Module, ids: np.ndarray | torch.Tensor, streams: int = 32,
                    chunk: int = 256) -> float:
    """Bits per character of ``model`` on ids (L,) (``CharVocab.encode``'s int64 array, or a
    LongTensor): the text is read as ``streams`` parallel streams (each starting from a zero
    state) in chunks of ``chunk`` steps, the state carried."""
    ids = torch.as_tensor(ids)
    if ids.dim() != 1 or len(ids) < 2:
        raise ValueError(f"ids must have shape (L,) with L >= 2, got {tuple(ids.shape)}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    streams = max(1, min(streams, (len(ids) - 1) // chunk))
    length = (len(ids) - 1) // streams
    rows = torch.arange(streams)[:, None] * length + torch.arange(length + 1)[None]
    data = ids[rows].to(device)  # (streams, length + 1)
    total, count, state = 0.0, 0, None
    for t in range(0, length, chunk):
        x, y = data[:, t : min(t + chunk, length)], data[:, t + 1 : min(t + chunk, length) + 1]
        logits, state = model(x, state)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                       reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return total / count / math.log(2)
