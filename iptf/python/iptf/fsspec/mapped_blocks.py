"""Block files of a file read again, kept mapped so that reading it again copies from memory.

A read through block files costs an open, a pread and a close per 256 KiB block; for a
page-cached 512 MiB file that is a quarter of the read (measured here: 0.62-0.78 of one local
file's reads, against 0.9-1.1 from mappings kept between opens). Mapping a block costs more than
reading it once (an open, a mapping and, later, an unmapping), so only files opened again are
mapped (their map is held by known_maps, and the views go with it), as their blocks are read.
The copies are made with memmove through ctypes, which lets go of the GIL, so a large read is
shared between threads as block-file reads are (blockfiles.spread).

Block files are written once under their hash and removed whole, never rewritten in place, so a
mapping always holds the block's bytes, even after the block was collected (its disk space is
then freed when the mapping goes). What a process keeps mapped is bounded (MAPPED_BYTES); past
that, blocks are read from their files as before.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
from typing import TYPE_CHECKING, NamedTuple

from .blockfiles import spread

if TYPE_CHECKING:
    from .reader import FileMap

# Enough for the files a training loop reads epoch after epoch in most processes; at most this
# much disk space stays taken by collected blocks while a process keeps them mapped.
MAPPED_BYTES = 1 << 30
# A process may hold about 65,000 mappings in all (Linux's vm.max_map_count), its allocator's
# among them: small blocks (a folder of small files) stop being mapped long before that.
MAX_MAPPINGS = 1 << 14

_libc = ctypes.CDLL(None)  # the C library's mmap and munmap, as the process has them
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int64)
_libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_MAP_FAILED = ctypes.c_void_p(-1).value
# Page tables filled when the mapping is made (Linux), rather than by a fault per 64 KiB.
_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)


class _Budget:
    """Bytes, and mappings, this process may still map."""

    def __init__(self, total: int, mappings: int = MAX_MAPPINGS) -> None:
        self._total = self._left = total
        self._mappings = mappings
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if n > self._left or self._mappings == 0:
                return False
            self._left -= n
            self._mappings -= 1
            return True

    def give(self, n: int, mappings: int = 1) -> None:
        with self._lock:
            self._left += n
            self._mappings += mappings

    def used(self) -> int:
        return self._total - self._left


_budget = _Budget(MAPPED_BYTES)


def mapped_bytes() -> int:
    """How many bytes of block files this process keeps mapped."""
    return _budget.used()


class _Mapping:
    """A read-only mapping of a whole block file, unmapped when the last reference to it goes:
    a copy holds one while it runs, so a mapping dropped meanwhile outlives the copy."""

    __slots__ = ("address", "size")

    def __init__(self, address: int, size: int) -> None:
        self.address, self.size = address, size

    def __del__(self, _munmap=_libc.munmap) -> None:  # bound now: at exit the module may be gone
        _munmap(self.address, self.size)


def _map(path: str) -> _Mapping | None:
    """A mapping of a whole block file; None if it cannot be mapped (gone, empty)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        address = _libc.mmap(None, size, mmap.PROT_READ, _FLAGS, fd, 0)
        return None if address in (None, _MAP_FAILED) else _Mapping(address, size)
    except OSError:
        return None
    finally:
        os.close(fd)


class _Copy(NamedTuple):
    """One block's part of a read: take bytes from src (in mapping) to out's offset dst."""

    mapping: _Mapping
    src: int
    dst: int
    take: int


class BlockViews:
    """The mapped block files of one file, by span; made empty, filled as its blocks are read."""

    def __init__(self, file_map: FileMap) -> None:
        self.map = file_map
        self._maps: list[_Mapping | None] = [None] * len(file_map.spans)
        self._bytes = 0
        self._lock = threading.Lock()
        self._released = False

    def _mapping(self, i: int) -> _Mapping | None:
        span = self.map.spans[i]
        # Counted by the block's bytes (its file holds a few more for dag-pb's fields).
        if self._released or not _budget.take(span.length):
            return None
        made = _map(span.file)  # outside the lock: a fork meanwhile must not leave it held
        with self._lock:
            if made is not None and not self._released and self._maps[i] is None:
                self._maps[i] = made
                self._bytes += span.length
                return made
            kept = self._maps[i] if not self._released else None
        _budget.give(span.length)  # not mapped, or mapped by another thread first
        return kept

    def read_into(self, offset: int, out: memoryview) -> int:
        """Copy the file's bytes at offset into out from the blocks' mappings, made as needed;
        stops at the end of the file or at a block it cannot map (the reader reads on from
        the block files). Returns how many bytes it copied."""
        m, maps = self.map, self._maps
        n = min(len(out), max(m.size - offset, 0))
        copies: list[_Copy] = []
        done = 0
        i = m.index(offset) if n else 0
        while done < n:
            span_offset, length, _, _, _, file_offset = m.spans[i]  # unpacked once: this runs per block
            in_span = offset + done - span_offset
            take = min(n - done, length - in_span)
            start = file_offset + in_span
            mapping = maps[i] or self._mapping(i)
            if mapping is None or start + take > mapping.size:
                break
            copies.append(_Copy(mapping, mapping.address + start, done, take))
            done += take
            i += 1
        if done:
            base = ctypes.addressof(ctypes.c_char.from_buffer(out))

            def copy(first: int, stop: int) -> list[int]:
                for c in copies[first:stop]:
                    ctypes.memmove(base + c.dst, c.src, c.take)
                return []

            spread(copy, len(copies), done)
        return done

    def release(self) -> None:
        """Drop the mappings (each goes once no read is copying from it) and give back their bytes."""
        with self._lock:
            self._released = True
            mappings = sum(m is not None for m in self._maps)
            self._maps = [None] * len(self._maps)
            size, self._bytes = self._bytes, 0
        _budget.give(size, mappings)
