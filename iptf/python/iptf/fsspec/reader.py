"""Reading an iptf:// file: local blocks straight from the blockstore's files, the rest fetched.

The node's block map (iptf/open) says, for each run of the file's bytes, which block holds it
and, when that block is local and stored as a file, the file and offset. Those bytes are read
with pread, as the TensorFlow plugin does; a run that is not local comes through the node's
iptf/read, which fetches it from peers and reads ahead for a sequential reader. A fetched
subtree is then mapped again, so later reads find its leaves locally.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass
from typing import Any

from .. import protocol
from ..protocol import Span
from . import calls
from .blockfiles import Piece, copy_pieces
from .known_maps import KnownMaps
from .mapped_blocks import BlockViews

# Blocks no bigger than kubo's largest default chunk are leaves: mapping them again gains nothing.
_LARGEST_LEAF = 1 << 20


@dataclass(frozen=True)
class FileMap:
    """Where a file's bytes are; `inline` holds the whole content of iptf://meta/ files."""

    cid: str
    size: int
    spans: tuple[Span, ...]
    starts: tuple[int, ...]
    inline: bytes | None = None

    @classmethod
    def of(cls, m: protocol.FileMap) -> "FileMap":
        """The node's block map (iptf/open, iptf/blockmap), ready for lookups by offset."""
        data = m.inline.encode() if m.inline is not None else None
        size = len(data) if data is not None else m.size
        return cls(m.cid, size, m.spans, tuple(s.offset for s in m.spans), data)

    def index(self, pos: int) -> int:
        """The index of the span holding the byte at pos."""
        i = bisect.bisect_right(self.starts, pos) - 1
        if i < 0 or pos >= self.spans[i].offset + self.spans[i].length:
            raise OSError(f"the node's block map has no block at offset {pos}")
        return i

    def splice(self, span: Span, sub: "FileMap") -> "FileMap":
        """This map with span replaced by the spans of its subtree (offsets moved into the file)."""
        try:
            i = self.spans.index(span)
        except ValueError:
            return self
        inner = tuple(Span(s.offset + span.offset, s.length, s.cid, s.local, s.file, s.file_offset) for s in sub.spans)
        spans = self.spans[:i] + inner + self.spans[i + 1 :]
        return FileMap(self.cid, self.size, spans, tuple(s.offset for s in spans), self.inline)


_known = KnownMaps()


def open_map(uri: str) -> tuple[FileMap, BlockViews | None]:
    """uri's block map from the node, which records the read; the map this process already
    holds when the file is still the CID it was made for (see known_maps), with the mappings
    of its block files (a file opened again is read from them: see mapped_blocks)."""
    held = _known.get(uri)
    answer = calls.open_map(uri, known=held.map.cid if held is not None else None)
    if answer.known and held is not None and answer.cid == held.map.cid:
        return held.map, held
    m = FileMap.of(answer)
    _known.put(uri, m)
    return m, None


class BlockReader(io.RawIOBase):
    """A seekable raw reader of one iptf:// file."""

    def __init__(self, uri: str, file_map: FileMap, views: BlockViews | None = None) -> None:
        super().__init__()
        self.name = uri
        self._map = file_map
        self._views = views
        self._pos = 0
        # Files in the writable tree may grow while open (event files): look again at the end.
        self._growable = uri.startswith("iptf://repo/")

    @classmethod
    def open(cls, uri: str) -> "BlockReader":
        """Map uri for reading (the node records the read in the reflog)."""
        return cls(uri, *open_map(uri))

    @property
    def size(self) -> int:
        return self._map.size

    @property
    def cid(self) -> str:
        return self._map.cid

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._map.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence!r}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        done = self.pread_into(self._pos, out)
        self._pos += done
        return done

    def pread_into(self, offset: int, out: memoryview) -> int:
        """Fill out with the bytes at offset, up to the end of the file; returns how many."""
        n = len(out)
        # A file opened again is read from its blocks' mappings, as far as they go.
        done = self._views.read_into(offset, out) if self._views is not None else 0
        reopened = False
        while done < n:
            m = self._map
            pos = offset + done
            if pos >= m.size:
                if self._growable and not reopened:
                    reopened = True
                    self._map, self._views = open_map(self.name)
                    continue
                break
            if m.inline is not None:
                take = min(n - done, m.size - pos)
                out[done : done + take] = m.inline[pos : pos + take]
                done += take
                continue
            spans = m.spans
            i = m.index(pos)
            # The spans that follow are read in turn, without searching the map again, as far
            # as they are in block files; those bytes are copied together (on several threads
            # when there are many). The next span without a file is fetched, which may refine
            # the map, and the map is searched again after it.
            pieces: list[Piece] = []
            whose: list[tuple[Span, int]] = []
            while done < n and i < len(spans):
                span = spans[i]
                span_offset, length, _, _, file, file_offset = span  # unpacked once: this runs per block
                in_span = offset + done - span_offset
                if not 0 <= in_span < length:
                    raise OSError(f"the node's block map has no block at offset {offset + done}")
                take = min(n - done, length - in_span)
                if not file:
                    if not pieces:
                        if not span.local and length <= _LARGEST_LEAF and m.cid:
                            # The blocks after it in this read that the node does not have
                            # either come in the same request: one round trip per read.
                            j = i + 1
                            while done + take < n and j < len(spans):
                                nxt = spans[j]
                                if nxt.local or nxt.length > _LARGEST_LEAF:
                                    break
                                take += min(n - done - take, nxt.length)
                                j += 1
                        self._fetch(span, in_span, out[done : done + take])
                        done += take
                    break
                pieces.append(Piece(file, file_offset + in_span, out[done : done + take]))
                whose.append((span, in_span))
                done += take
                i += 1
            for k in copy_pieces(pieces):  # blocks whose files went away (collected) come from the node
                self._fetch(*whose[k], pieces[k].out)
        return done

    def _fetch(self, span: Span, in_span: int, dst: memoryview) -> None:
        """Bytes the block files cannot give: a local block without a file comes from `cat`;
        missing blocks come through iptf/read, which fetches them from peers."""
        if span.local:
            data = calls.cat(span.cid, in_span, len(dst))
        elif self._map.cid:
            data = calls.read(self._map.cid, span.offset + in_span, len(dst))
        else:
            data = calls.read(span.cid, in_span, len(dst))
        if len(data) != len(dst):
            raise OSError(f"{self.name}: the node sent {len(data)} of {len(dst)} bytes")
        dst[:] = data
        if not span.local and span.length > _LARGEST_LEAF:
            sub = FileMap.of(calls.blockmap(span.cid))
            if sub.size == span.length:
                self._map = self._map.splice(span, sub)


class IptfReadFile(io.BufferedReader):
    """A buffered, seekable iptf:// file opened for reading.

    Large reads go straight from the block files into the bytes returned (one copy, as a
    local file's read does); small ones are served from a buffer of `buffer_size` bytes.
    """

    def __init__(self, raw: BlockReader, buffer_size: int = 256 << 10) -> None:
        super().__init__(raw, buffer_size=buffer_size)
        self._raw = raw

    @property
    def size(self) -> int:
        return self._raw.size

    @property
    def cid(self) -> str:
        """The CID of the bytes being read (what the reflog recorded)."""
        return self._raw.cid

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            # What is left, in one request (BufferedReader would read it in small pieces).
            data = super().read(max(self._raw.size - self.tell(), 0))
            if self._raw._growable:
                data += super().read()  # anything written since the file was opened
            return data
        return super().read(size)
