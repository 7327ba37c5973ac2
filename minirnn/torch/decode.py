"""Decoding: greedy, sampling with temperature and top-k, and beam search.

Every function drives a ``step`` function, so one implementation serves every model:

    step(tokens, state) -> (logits, next_state)    tokens (B,), logits (B, V)

A state is None, a tensor, or a tuple of them (nested), with the batch on dim 1 as in torch.nn's
``h`` of shape (num_layers, B, H); ``select_state`` picks batch rows out of it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Step = Callable[[torch.Tensor, object], tuple[torch.Tensor, object]]


def select_state(state, index: torch.Tensor):
    """Rows ``index`` (K,) of every tensor in the state, along dim 1 (the batch)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.index_select(1, index)
    return tuple(select_state(s, index) for s in state)


def _check_start(start: torch.Tensor) -> None:
    if not isinstance(start, torch.Tensor) or start.dtype != torch.long or start.dim() != 1:
        raise ValueError("start must be a LongTensor of shape (B,), the first input token of each"
                         f" sequence; got {getattr(start, 'shape', type(start))}")


def _check_length(length: int) -> None:
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")


def filter_top_k(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Keep the k largest logits of each row (B, V); the others become -inf."""
    if top_k is None or top_k >= logits.shape[-1]:
        return logits
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    # BEGIN SOLUTION
    kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
    # END SOLUTION


def _generate(step: Step, start: torch.Tensor, state, length: int, pick, eos: int | None
              ) -> torch.Tensor:
    _check_start(start)
    _check_length(length)
    tokens, out = start, []
    done = torch.zeros_like(start, dtype=torch.bool)
    for _ in range(length):
        logits, state = step(tokens, state)
        tokens = pick(logits)
        if eos is not None:  # a finished sequence keeps emitting eos
            tokens = tokens.masked_fill(done, eos)
            done = done | (tokens == eos)
        out.append(tokens)
        if eos is not None and bool(done.all()):
            out.extend([tokens] * (length - len(out)))
            break
    return torch.stack(out, dim=1)


@torch.no_grad()
def greedy(step: Step, start: torch.Tensor, state, length: int, eos: int | None = None
           ) -> torch.Tensor:
    """The most likely token at every step: ids (B, length). After ``eos``, eos repeats."""
    return _generate(step, start, state, length, lambda logits: logits.argmax(-1), eos)


@torch.no_grad()
def sample(step: Step, start: torch.Tensor, state, length: int, temperature: float = 1.0,
           top_k: int | None = None, generator: torch.Generator | None = None,
           eos: int | None = None) -> torch.Tensor:
    """Sample from softmax(logits / temperature), restricted to the top_k tokens if given:
    ids (B, length). Lower temperature is more conservative, higher more varied."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 (use greedy for 0), got {temperature}")

    # BEGIN SOLUTION
    def pick(logits: torch.Tensor) -> torch.Tensor:
        probs = F.softmax(filter_top_k(logits / temperature, top_k), dim=-1)
        return torch.multinomial(probs, 1, generator=generator)[:, 0]

    return _generate(step, start, state, length, pick, eos)
    # END SOLUTION


@torch.no_grad()
def beam_search(step: Step, start: torch.Tensor, state, length: int, beam_width: int,
                eos: int | None = None) -> tuple[list[int], float]:
    """Keep the ``beam_width`` most likely partial sequences at every step.

    start (1,) and a state of batch 1; returns (ids of the best sequence, its log-probability).
    The ids have ``length`` entries (eos repeated after it ends, as ``greedy`` gives), so width 1
    gives exactly greedy's result.
    """
    _check_start(start)
    _check_length(length)
    if start.shape[0] != 1:
        raise ValueError(f"beam_search decodes one sequence: start must have shape (1,), "
                         f"got {tuple(start.shape)}")
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    tokens = start
    seqs = start.new_zeros(1, 0)
    scores = torch.zeros(1)
    done = torch.zeros(1, dtype=torch.bool)
    for _ in range(length):
        logits, state = step(tokens, state)
        # BEGIN SOLUTION
        logp = F.log_softmax(logits.float(), dim=-1).cpu()
        if eos is not None and bool(done.any()):
            # a finished beam may only add eos, at no cost
            logp[done] = float("-inf")
            logp[done, eos] = 0.0
        vocab = logp.shape[-1]
        total = (scores[:, None] + logp).flatten()
        scores, flat = torch.topk(total, min(beam_width, total.numel()))
        beam, tokens = flat // vocab, flat % vocab
        seqs = torch.cat([seqs[beam], tokens[:, None]], dim=1)
        if eos is not None:
            done = done[beam] | (tokens == eos)
        tokens = tokens.to(start.device)
        state = select_state(state, beam.to(start.device))
        # END SOLUTION
        if eos is not None and bool(done.all()):
            break
    best = seqs[0].tolist()
    best += [eos] * (length - len(best)) if eos is not None else []
    return best, float(scores[0])


def until_eos(ids: list[int], eos: int) -> list[int]:
    """The ids before the first ``eos`` (all of them when there is none)."""
    return ids[: ids.index(eos)] if eos in ids else ids


@torch.no_grad()
def decode_one(step: Step, start: torch.Tensor, state, length: int, beam_width: int,
               eos: int) -> list[int]:
    """One sequence (start (1,), a state of batch 1): greedy for beam_width 1, beam search
    otherwise; its ids before ``eos``."""
    if beam_width == 1:
        ids = greedy(step, start, state, length, eos=eos)[0].tolist()
    else:
        ids, _ = beam_search(step, start, state, length, beam_width, eos=eos)
    return until_eos(ids, eos)


@torch.no_grad()
def sequence_log_prob(step: Step, start: torch.Tensor, state, ids: list[int]) -> float:
    """log P(ids | start, state) for one sequence (start of shape (1,))."""
    _check_start(start)
    log_prob, tokens = 0.0, start
    for i in ids:
        logits, state = step(tokens, state)
        log_prob += float(F.log_softmax(logits.float(), dim=-1)[0, i])
        tokens = torch.tensor([i], device=start.device)
    return log_prob
