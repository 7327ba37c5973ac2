"""Random draws identical to torch's CPU generator, written with NumPy.

The datasets were first written with ``torch.Generator().manual_seed(seed)``, and the chapters'
stored numbers (and the results shipped with the package, trained on those datasets) depend on
its exact draws. torch's CPU generator is the 32-bit Mersenne Twister (MT19937) seeded like
NumPy's legacy ``RandomState(seed)``; from its 32-bit words torch makes

- ``rand``: a float32 in [0, 1), the low 24 bits of one word times 2**-24;
- ``randint(low, high)``: ``low + word % (high - low)`` (for ranges below 2**32);
- ``randperm(n)``: a Fisher-Yates shuffle that swaps position i with ``i + word % (n - i)``.

``TorchRandom(seed)`` does the same with the same words in the same order, so the data layer
gives the same arrays without importing torch. ``tests/test_data_rng.py`` pins it to torch.
"""

from __future__ import annotations

import numpy as np

_FLOAT32_BITS = 24  # float32's significand: rand keeps this many low bits of a word


class TorchRandom:
    """The draws of ``torch.Generator().manual_seed(seed)``: ``rand``, ``randint``, ``randperm``."""

    def __init__(self, seed: int) -> None:
        # torch keeps the low 32 bits of the seed, as init_genrand does
        self.bits = np.random.MT19937()
        self.bits.state = np.random.RandomState(seed & 0xFFFFFFFF).get_state(legacy=False)

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` 32-bit words, shape (n,), as uint64."""
        return self.bits.random_raw(n) if n > 0 else np.zeros(0, dtype=np.uint64)

    def rand(self, *shape: int) -> np.ndarray:
        """Uniform float32 in [0, 1), like ``torch.rand(*shape, generator=g)``."""
        low_bits = self.words(int(np.prod(shape))) & ((1 << _FLOAT32_BITS) - 1)
        return (low_bits * 2.0**-_FLOAT32_BITS).astype(np.float32).reshape(shape)

    def randint(self, low: int, high: int | None = None, size: tuple[int, ...] = ()
                ) -> np.ndarray:
        """Integers in [low, high) as int64, like ``torch.randint(low, high, size, generator=g)``;
        ``randint(high, size=...)`` starts at 0."""
        if high is None:
            low, high = 0, low
        span = high - low
        if not 0 < span < 2**32:
            raise ValueError(f"high - low must be in [1, 2**32), got {span}")
        size = (size,) if isinstance(size, int) else tuple(size)
        return (self.words(int(np.prod(size))) % span).astype(np.int64).reshape(size) + low

    def randperm(self, n: int) -> np.ndarray:
        """A permutation of 0..n-1 as int64, shape (n,), like ``torch.randperm(n, generator=g)``."""
        perm = np.arange(n, dtype=np.int64)
        words = self.words(n - 1).tolist()
        for i in range(n - 1):
            j = i + words[i] % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
        return perm
