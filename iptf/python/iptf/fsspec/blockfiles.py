"""Copying bytes out of the blockstore's block files, on more than one core for large reads.

kubo keeps each block in its own file, so a large read is many small ones: an open, a pread and
a close per 256 KiB. Those system calls release the GIL, so a read of several MiB is split
between the calling thread and a few helper threads and runs near what one thread reading one
local file reaches. A forked process (a DataLoader worker) starts with no helpers and makes its own.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, NamedTuple

_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC
# Below this a read stays on the calling thread: handing work to a helper costs tens of µs.
SPLIT_AT = 2 << 20
# Memory bandwidth, not cores, bounds a copy: beyond four threads nothing is gained.
_MAX_THREADS = 4


class Piece(NamedTuple):
    """Bytes of one block file (from `offset` in it) for one part of the reader's buffer."""

    file: str
    offset: int
    out: memoryview


def pread_into(path: str, offset: int, out: memoryview) -> bool:
    """Fill out from a block file at offset; False when it cannot (e.g. the block was collected)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return False
    try:
        got = os.preadv(fd, (out,), offset)
        while got < len(out):  # short reads of a regular file are rare
            n = os.preadv(fd, (out[got:],), offset + got)
            if n <= 0:
                return False
            got += n
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _copy(pieces: list[Piece], first: int, stop: int) -> list[int]:
    """Copy pieces[first:stop]; the indices of those the block files could not give."""
    return [i for i in range(first, stop) if not pread_into(*pieces[i])]


class _Helpers:
    """The process's helper threads, made on first use and again in a forked child."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.threads = max(1, min(os.cpu_count() or 1, _MAX_THREADS))
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        # The parent's threads do not exist in a child; its pool would take work and never run it.
        self._lock = threading.Lock()
        self._pool = None

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="iptf-blockfiles")
            return self._pool


_helpers = _Helpers()


def spread(work: Callable[[int, int], list[int]], count: int, total: int) -> list[int]:
    """Run work(first, stop) over items [0, count) that hold `total` bytes: on this thread
    alone below SPLIT_AT bytes, else in contiguous parts shared with the helpers (each thread
    walks its part in order). Returns the parts' results joined in order."""
    parts = min(_helpers.threads, count, total // (SPLIT_AT // 2) or 1)
    if parts < 2 or total < SPLIT_AT:
        return work(0, count)
    bounds = [count * k // parts for k in range(parts + 1)]
    pool = _helpers.pool()
    futures: list[Future[list[int]]] = [pool.submit(work, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    out = work(bounds[0], bounds[1])
    for f in futures:
        out += f.result()
    return out


def copy_pieces(pieces: list[Piece]) -> list[int]:
    """Copy every piece into its buffer; returns the indices of pieces whose file failed, in order."""
    return spread(lambda first, stop: _copy(pieces, first, stop), len(pieces), sum(len(p.out) for p in pieces))
