"""`iptf reflog`: which exact bytes each program read and wrote (kept by the node)."""

from __future__ import annotations

import os

from .._binary import node_binary


def run(args: list[str]) -> int:
    binary = node_binary()
    os.execv(binary, [binary, "reflog", *args])
    return 0
