"""Writing an iptf://repo/root/ file: a staging file in the repo, handed to the node on close.

The same protocol as the TensorFlow plugin: bytes go to a file in <repo>/staging/ (a spare the
node kept from an earlier import, overwritten in place, when there is one); opening creates
or truncates the target at once, so a missing parent or a directory there fails the open;
close hands the file to the node, which imports it in the background exactly as `iptf add`
would (same CID) and records the write in the reflog; every later operation on the path, from
any process, waits for it. `sync()` imports before it returns.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ..client import node as current_node
from . import calls


SPARE_PREFIX = "spare-"  # the node's spares: imported staging files kept for reuse
_BUFFER = 1 << 20


def _claim_spare(directory: Path, path: str) -> int | None:
    """Rename a spare over path and open it for writing from its start; None if none is left."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in names:
        if not name.startswith(SPARE_PREFIX):
            continue
        try:
            os.rename(directory / name, path)  # fails when another writer took it first
        except OSError:
            continue
        # Its old bytes beyond what is written stay: only the first `size` bytes are imported.
        return os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    return None


class IptfWriteFile(io.RawIOBase):
    """A file being written under iptf://repo/root/ (or a command to an iptf://meta/ path)."""

    def __init__(self, uri: str, append: bool = False) -> None:
        super().__init__()
        self.name = uri
        staging = current_node().repo / "staging"
        staging.mkdir(mode=0o700, exist_ok=True)
        fd, self._path = tempfile.mkstemp(prefix="write-", dir=staging)
        spare = _claim_spare(staging, self._path)
        if spare is not None:
            os.close(fd)
            fd = spare
        self._fd: int | None = fd
        self._size = 0
        self._buffer = bytearray()
        self._handed_over = False
        self._dirty = False
        try:
            if not (append and self._copy_current()):
                # Create (or truncate) now, which also reports a missing parent or a directory.
                # Not a write for the reflog: close records the file's final content.
                self._dirty = True
                self._import(nolog=True)
            self._dirty = True
        except BaseException:
            self._discard()
            raise

    def _copy_current(self) -> bool:
        """Start from the file's current content; False if there is none."""
        from .reader import BlockReader

        try:
            src = BlockReader.open(self.name)
        except FileNotFoundError:
            return False
        chunk = bytearray(_BUFFER)
        view = memoryview(chunk)
        while True:
            n = src.readinto(view)
            if n == 0:
                return True
            self._write_all(view[:n])
            self._size += n

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        if self._fd is None:
            raise ValueError("I/O operation on closed file")
        view = memoryview(data).cast("B")
        n = len(view)
        if n == 0:
            return 0
        self._dirty = True
        self._size += n
        if len(self._buffer) + n <= _BUFFER:
            self._buffer += view
            return n
        self._flush_buffer()
        if n >= _BUFFER:
            self._write_all(view)
        else:
            self._buffer += view
        return n

    def flush(self) -> None:
        """Move buffered bytes to the staging file. As with fsspec's other writers, others
        see the content once the file is closed (or synced)."""
        if self._fd is not None:
            self._flush_buffer()

    def sync(self) -> None:
        """Put the content written so far at the path before returning (as TensorFlow's sync)."""
        if self._fd is None:
            raise ValueError("I/O operation on closed file")
        self._flush_buffer()
        if self._dirty:
            self._import(nolog=False)
            self._dirty = False

    def close(self) -> None:
        """Hand the file to the node, which puts it in the tree in the background."""
        if self.closed:
            return
        try:
            if self._fd is not None:
                self._flush_buffer()
                if self._dirty:
                    written = calls.write(self.name, self._path, self._size, queue=True)
                    self._handed_over = written.queued
        finally:
            self._discard()
            super().close()

    def _import(self, nolog: bool) -> None:
        """Import the staged bytes now (iptf/write without the queue); nolog: not in the reflog."""
        calls.write(self.name, self._path, self._size, nolog=nolog)

    def _discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self._handed_over:
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass

    def _flush_buffer(self) -> None:
        if self._buffer:
            self._write_all(memoryview(self._buffer))
            self._buffer = bytearray()

    def _write_all(self, data: memoryview) -> None:
        assert self._fd is not None
        while len(data):
            n = os.write(self._fd, data)
            data = data[n:]


__all__ = ["IptfWriteFile"]
