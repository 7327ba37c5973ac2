"""CharLM, the stateful many-to-many model: ids (N, T) -> logits of the next ids (N, T, V)."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from minirnn.torch import decode
from minirnn.torch.models.layers import State, check_ids, recurrent_layer, token_cross_entropy


class CharLM(nn.Module):
    """A character language model: embedding, recurrent layer(s), output head. Stateful: pass the
    state a call returns into the next call to carry it across chunks (truncated BPTT)."""

    def __init__(self, vocab_size: int, embed_size: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0,
                 backend: str = "minirnn", device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.vocab_size = vocab_size
        # everything needed to build the same model again: CharLM.from_config(model.config)
        self.config = dict(vocab_size=vocab_size, embed_size=embed_size, hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, dropout=dropout, backend=backend)
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = recurrent_layer(cell, embed_size, hidden_size, num_layers, dropout=dropout,
                                   backend=backend)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.to(device)

    @classmethod
    def from_config(cls, config: dict, device: str | torch.device = "cpu") -> CharLM:
        """A new model built like the one whose ``config`` this is (untrained: load its state
        dict next). ``config`` may hold more keys, such as a run's training settings; only the
        model's own are used. Checkpoints written before ``backend`` was named so say ``impl``."""
        config = dict(config)
        if "impl" in config and "backend" not in config:
            config["backend"] = config.pop("impl")
        names = inspect.signature(cls).parameters.keys() - {"device"}
        return cls(**{k: v for k, v in config.items() if k in names}, device=device)

    def forward(self, x: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """x (N, T) ids -> logits (N, T, V) and the state after the last step."""
        check_ids("x", x, self.vocab_size)
        out, state = self.rnn(self.embed(x), state)
        return self.head(self.drop(out)), state

    def loss(self, x: torch.Tensor, y: torch.Tensor, state: State | None = None
             ) -> tuple[torch.Tensor, State]:
        """Mean cross-entropy (nats per character) of targets y (N, T); IGNORE_INDEX is skipped."""
        logits, state = self(x, state)
        return token_cross_entropy(logits, y), state

    def step(self, tokens: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """tokens (B,) -> logits (B, V) for the next character, and the next state."""
        logits, state = self(tokens[:, None], state)
        return logits[:, 0], state

    @torch.no_grad()
    def generate(self, prime: torch.Tensor, length: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None,
                 eos: int | None = None) -> torch.Tensor:
        """Read prime (P,) ids, then sample ``length`` more; returns (length,) ids.
        ``temperature=0`` decodes greedily."""
        check_ids("prime", prime, self.vocab_size, rank=1)
        if len(prime) == 0:
            raise ValueError("prime must hold at least one id")
        was_training = self.training
        self.eval()
        state = None
        if len(prime) > 1:
            _, state = self(prime[None, :-1], None)
        start = prime[-1:]
        if temperature == 0:
            out = decode.greedy(self.step, start, state, length, eos=eos)
        else:
            out = decode.sample(self.step, start, state, length, temperature=temperature,
                                top_k=top_k, generator=generator, eos=eos)
        self.train(was_training)
        return out[0]
