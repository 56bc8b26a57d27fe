"""Writing an iptf://repo/root/ file: a staging file in the repo, handed to the node on close.

The same protocol as the TensorFlow plugin: the node hands out the staging file (iptf/stage: a
spare kept from an earlier import, overwritten in place, or a new file) once the path can take a
file, so a missing parent or a directory there fails the open; the path keeps its content until
the file is closed or synced, so a write that fails (a full disk) never leaves it emptied; close
hands the file to the node, which imports it in the background exactly as `iptf add` would (same
CID) and records the write in the reflog; every later operation on the path, from any process,
waits for it. `sync()` imports before it returns.
"""

from __future__ import annotations

import errno
import io
import os
from typing import Any

from .. import protocol
from . import calls

_BUFFER = 1 << 20


class IptfWriteFile(io.RawIOBase):
    """A file being written under iptf://repo/root/ (or a command to an iptf://meta/ path)."""

    def __init__(self, uri: str, append: bool = False) -> None:
        super().__init__()
        self.name = uri
        self._path = calls.stage(uri).path
        self._fd: int | None = None
        self._size = 0
        self._buffer = bytearray()
        self._handed_over = False
        self._dirty = True  # even a file closed with no byte written is created
        # What the node holds already (the file reopened for appending, or an earlier sync) is
        # named by its CID and never sent again: the node extends it by the staged bytes.
        self._base = ""  # its CID ("" for none)
        self._base_size = 0
        self._start = 0  # the file offset of the staging file's first byte
        try:
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CLOEXEC)
            if append:
                self._copy_current()
        except BaseException:
            self._discard()
            raise

    def _copy_current(self) -> None:
        """Start from the file's current content, if there is any: by its CID, or (an
        iptf://meta/ file, which has none) by copying its bytes."""
        from .reader import BlockReader

        try:
            current = calls.stat(self.name)
        except FileNotFoundError:
            return
        if current.type == protocol.DIRECTORY:
            raise IsADirectoryError(errno.EISDIR, f"{self.name}: is a directory")
        if current.cid:
            self._base, self._base_size = current.cid, current.size
            self._start = self._size = current.size
            return
        src = BlockReader.open(self.name)
        chunk = bytearray(_BUFFER)
        view = memoryview(chunk)
        while True:
            n = src.readinto(view)
            if n == 0:
                return
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
                    written = calls.write(self.name, self._path, self._size - self._start, queue=True,
                                          base=self._base, offset=self._base_size - self._start)
                    self._handed_over = written.queued
        finally:
            self._discard()
            super().close()

    def _import(self, nolog: bool) -> None:
        """Import the staged bytes now (iptf/write without the queue); nolog: not in the reflog."""
        written = calls.write(self.name, self._path, self._size - self._start, nolog=nolog, base=self._base,
                              offset=self._base_size - self._start)
        self._base, self._base_size = written.cid, self._size

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
            try:
                n = os.write(self._fd, data)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the path keeps its earlier content
                    raise OSError(exc.errno, f"{self.name}: no space left on the repo's disk (staging file "
                                             f"{self._path})") from None
                raise
            data = data[n:]


__all__ = ["IptfWriteFile"]
