"""Block maps this process has read, by URI, so that opening the same file again is cheap.

A 512 MiB file's map is 2048 spans: about 440 KB of JSON and 10 ms to fetch and decode, as
long as reading the file's blocks takes when they are in the page cache. The node still sees
every open (iptf/open with `known`: the read goes into the reflog and its blocks are dated for
the cache); when the file is still the CID of the map held here, it leaves the spans out. Only
maps whose every span is in a local block file are kept: the map of a file with blocks still
to fetch changes as they arrive. A kept map whose block was evicted since reads that block
through the node, as a block gone from under any open reader is (or from its mapping, if it
has one). Each kept map goes with the mappings of its blocks (mapped_blocks), which go with it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from .mapped_blocks import BlockViews

if TYPE_CHECKING:
    from .reader import FileMap

# About 8 GiB of files in 256 KiB blocks, a few MB of spans per process (DataLoader workers each have theirs).
MAX_SPANS = 1 << 15


class KnownMaps:
    """The most recently opened maps that are wholly local, up to MAX_SPANS spans in all."""

    def __init__(self, max_spans: int = MAX_SPANS) -> None:
        self._max_spans = max_spans
        self._maps: OrderedDict[str, BlockViews] = OrderedDict()  # each holds its map
        self._spans = 0
        self._lock = threading.Lock()

    def get(self, uri: str) -> BlockViews | None:
        """The mappings kept for uri, with the map they were made for, if any."""
        with self._lock:
            m = self._maps.get(uri)
            if m is not None:
                self._maps.move_to_end(uri)
            return m

    def put(self, uri: str, m: FileMap) -> None:
        """Keep m for uri if every span of it is in a local block file (else forget uri's map)."""
        keep = m.inline is None and bool(m.cid) and len(m.spans) <= self._max_spans and all(s.file for s in m.spans)
        dropped: list[BlockViews] = []
        with self._lock:
            old = self._maps.pop(uri, None)
            if old is not None:
                self._spans -= len(old.map.spans)
                dropped.append(old)
            if keep:
                self._maps[uri] = BlockViews(m)
                self._spans += len(m.spans)
            while self._spans > self._max_spans:
                _, old = self._maps.popitem(last=False)
                self._spans -= len(old.map.spans)
                dropped.append(old)
        for old in dropped:
            old.release()
