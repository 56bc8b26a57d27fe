"""Test data: deterministic bytes."""

from __future__ import annotations

import random


def random_bytes(n: int, seed: int) -> bytes:
    """Deterministic pseudo-random bytes."""
    rng = random.Random(seed)
    piece = 16 << 20
    return b"".join(rng.randbytes(min(piece, n - i)) for i in range(0, n, piece))
