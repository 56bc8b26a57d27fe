"""Measurements every benchmark can compare against: the machine's own ceilings."""

from __future__ import annotations

import hashlib
import time


def sha256_mb_per_s(data: bytes, rounds: int = 3) -> float:
    """Best single-core sha256 throughput over `data`, in MB/s (the import ceiling)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - start)
    return len(data) / best / 1e6
