"""`iptf cache`: the cache's limit, and what the repo keeps and may evict (answered by the node)."""

from __future__ import annotations

import os

from .._binary import node_binary


def run(args: list[str]) -> int:
    binary = node_binary()
    os.execv(binary, [binary, "cache", *args])
    return 0
