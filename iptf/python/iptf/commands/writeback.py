"""`iptf writeback`: apply again or drop closed files the node could not put in the tree."""

from __future__ import annotations

import os

from .._binary import node_binary


def run(args: list[str]) -> int:
    binary = node_binary()
    os.execv(binary, [binary, "writeback", *args])
    return 0
