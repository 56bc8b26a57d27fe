"""Adding and reading content: the Python API scripts use."""

from __future__ import annotations

import json
import os
from typing import Any

from .errors import InvalidArgument, NotFound
from .node import call, run_node_command
from .paths import to_node_path


def _flag(name: str, value: Any) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if value is True:
        return [flag]
    if value is False:
        return [f"{flag}=false"]
    return [f"{flag}={value}"]


def add(path: str | os.PathLike[str], **options: Any) -> str:
    """Add a file or directory (recursively) with `ipfs add`'s options; return its CID.

    Options are `ipfs add` flags with underscores, e.g. `cid_version=1, raw_leaves=True,
    chunker="size-1048576", trickle=True`.
    """
    path = os.fspath(path)
    args = ["add", "--quieter"]
    if os.path.isdir(path) and "recursive" not in options and "r" not in options:
        args.append("--recursive")
    for name, value in options.items():
        args += _flag(name, value)
    args += ["--", path]
    return run_node_command(args).decode().strip()


def cat(cid_path: str, offset: int = 0, length: int | None = None) -> bytes:
    """Return the bytes of a file (`iptf://ipfs/<cid>/...`, `/ipfs/...` or a CID), or a range of them."""
    return call("cat", [to_node_path(cid_path)], offset=offset or None, length=length)


def cid_of(path: str | os.PathLike[str]) -> str:
    """The `iptf://ipfs/<cid>` behind an iptf:// path, or that a local file or folder would get."""
    text = os.fspath(path)
    if text.startswith("iptf://"):
        stat = json.loads(call("iptf/stat", [text]))
        if not stat.get("Cid"):
            raise InvalidArgument(f"{text}: has no CID of its own")
        return f"iptf://ipfs/{stat['Cid']}"
    if not os.path.exists(text):
        raise NotFound(f"{text}: no such file or directory")
    args = ["add", "--quieter", "--only-hash"]
    if os.path.isdir(text):
        args.append("--recursive")
    return "iptf://ipfs/" + run_node_command([*args, "--", text]).decode().strip()
