"""Translation of IPTF's URIs into the node's paths (the node resolves them)."""

from __future__ import annotations

from .errors import InvalidArgument

SCHEME = "iptf://"


def to_node_path(path: str) -> str:
    """`iptf://ipfs/<cid>/p` → `/ipfs/<cid>/p`; `/ipfs/...` and `/ipns/...` pass; a bare CID gets `/ipfs/`."""
    if path.startswith(SCHEME):
        rest = path[len(SCHEME) :]
        namespace = rest.split("/", 1)[0]
        if namespace not in ("ipfs", "ipns"):
            raise InvalidArgument(f"{path}: only iptf://ipfs/ and iptf://ipns/ paths name content")
        return "/" + rest
    if path.startswith(("/ipfs/", "/ipns/")):
        return path
    if not path or path.startswith("/"):
        raise InvalidArgument(f"not an IPFS path: {path!r}")
    return "/ipfs/" + path
