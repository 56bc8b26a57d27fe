"""Spelling of content paths on the Python side; the node parses and resolves them."""

from __future__ import annotations

from .errors import InvalidArgument

SCHEME = "iptf://"
IPFS_PREFIX = SCHEME + "ipfs/"


def to_uri(path: str) -> str:
    """`/ipfs/…`, `/ipns/…` or a bare CID as the iptf:// URI the node takes; iptf:// URIs pass."""
    if path.startswith(SCHEME):
        return path
    if path.startswith(("/ipfs/", "/ipns/")):
        return SCHEME + path[1:]
    if not path or path.startswith("/") or "://" in path:
        raise InvalidArgument(f"not an IPTF path: {path!r} (use iptf://ipfs/<cid>, iptf://repo/root/…, or a CID)")
    return IPFS_PREFIX + path
