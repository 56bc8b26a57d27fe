"""`iptf serve`: run the node in the foreground and serve it to other IPFS implementations."""

from __future__ import annotations

import os

from .._binary import node_binary

USAGE = """usage: iptf serve [--listen ADDR] [daemon flags...]

Runs the node in the foreground (like `iptf daemon`, with no idle stop) and serves, on ADDR
(host:port or a multiaddr; default 127.0.0.1:8080):
  /ipfs/, /ipns/     the trustless gateway: raw blocks (?format=raw), CARs (?format=car,
                     dag-scope, entity-bytes), HTTP Range, IPNS records; local blocks only
  /routing/v1/       delegated routing (providers, peers, IPNS)
The RPC API and the writable tree (iptf://repo/root) are never exposed there. Other flags are
`iptf daemon`'s (see `iptf daemon --help`), e.g. --offline.
"""


def run(args: list[str]) -> int:
    if "--help" in args or "-h" in args:
        print(USAGE, end="")
        return 0
    binary = node_binary()
    os.execv(binary, [binary, "serve", *args])
    return 0
