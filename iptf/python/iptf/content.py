"""Adding and reading content: the Python API scripts use.

Every call that names content takes the paths the TensorFlow plugin takes — `iptf://ipfs/…`,
`iptf://ipns/…`, `iptf://repo/root/…` — and kubo's `/ipfs/…`, `/ipns/…` or a bare CID; every
call that returns content's address returns it as an `iptf://ipfs/<cid>` URI, which pastes
into TensorFlow, the `iptf` command and back into this API.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from . import protocol
from ._process import program_name
from .errors import InvalidArgument, NotFound
from .client import call, run_node_command
from .paths import IPFS_PREFIX, to_uri


def _flag(name: str, value: Any) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if value is True:
        return [flag]
    if value is False:
        return [f"{flag}=false"]
    return [f"{flag}={value}"]


def add(path: str | os.PathLike[str], **options: Any) -> str:
    """Add a file or directory (recursively) with `ipfs add`'s options; return its `iptf://ipfs/<cid>`.

    Options are `ipfs add` flags with underscores, e.g. `cid_version=1, raw_leaves=True,
    chunker="size-1048576", trickle=True`.
    """
    path = os.fspath(path)
    if not os.path.exists(path):  # kubo's command line reports this before the node sees it
        raise NotFound(f"{path}: no such file or directory")
    args = ["add", "--quieter"]
    if os.path.isdir(path) and "recursive" not in options and "r" not in options:
        args.append("--recursive")
    for name, value in options.items():
        args += _flag(name, value)
    args += ["--", path]
    return IPFS_PREFIX + run_node_command(args).decode().strip()


def cat(path: str, offset: int = 0, length: int | None = None) -> bytes:
    """Return the bytes of a file, or a range of them; the read is recorded in the reflog.

    `path` is any iptf:// URI of a file (`iptf://repo/root/…` included), `/ipfs/…`, `/ipns/…`
    or a CID. Blocks missing locally are fetched from peers.
    """
    if offset < 0 or (length is not None and length < 0):
        raise InvalidArgument(f"{path}: offset and length cannot be negative")
    return call("iptf/read", [to_uri(path)], offset=offset or None, length=length, pid=os.getpid(),
                program=program_name())


def cid_of(path: str | os.PathLike[str]) -> str:
    """The `iptf://ipfs/<cid>` behind an iptf:// path, or that a local file or folder would get."""
    text = os.fspath(path)
    if text.startswith("iptf://") or text.startswith(("/ipfs/", "/ipns/")):
        stat = protocol.decode("iptf/stat", call("iptf/stat", [to_uri(text)]), protocol.Stat.from_json)
        if not stat.cid:
            raise InvalidArgument(f"{text}: has no CID of its own")
        return IPFS_PREFIX + stat.cid
    if not os.path.exists(text):
        raise NotFound(f"{text}: no such file or directory")
    args = ["add", "--quieter", "--only-hash"]
    if os.path.isdir(text):
        args.append("--recursive")
    return IPFS_PREFIX + run_node_command([*args, "--", text]).decode().strip()


def pin(path: str) -> str:
    """Fetch everything under path and keep it: pinned content is never evicted from the cache
    nor garbage collected (a dataset kept for training). Shows progress on a terminal. `path`
    is any iptf:// URI, `/ipfs/…`, `/ipns/…` or a CID; returns its `iptf://ipfs/<cid>`."""
    uri = cid_of(to_uri(path))
    progress = ["--progress"] if sys.stderr.isatty() else []
    run_node_command(["pin", "add", *progress, "--", uri], show_progress=bool(progress))
    return uri


def unpin(path: str) -> str:
    """Stop keeping what pin kept: it becomes cache again, evicted when the cache needs room.
    Returns its `iptf://ipfs/<cid>`."""
    uri = cid_of(to_uri(path))
    run_node_command(["pin", "rm", "--", uri])
    return uri
