"""The node's filesystem commands (under /api/v0/iptf/) that fsspec uses, as Python calls.

These are the commands the TensorFlow plugin calls, with the same arguments: paths go to the
node as full iptf:// URIs and the node resolves them, so both clients share one path
convention, one reflog and one error classification.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from .. import protocol
from ..client import call as node_call
from ..client import timeout_seconds
from ..errors import IptfError
from .errors import IS_A_DIRECTORY, NOT_A_DIRECTORY, code_of, translate


@lru_cache(maxsize=1)
def program_name() -> str:
    """This process's program as a person would name it (`python3 train.py`), for the reflog."""
    try:
        args = [a.decode(errors="replace") for a in open("/proc/self/cmdline", "rb").read().split(b"\0") if a]
    except OSError:
        return "unknown"
    if not args:
        return "unknown"
    exe = os.path.basename(args[0])
    if not exe.startswith("python"):
        return exe
    i = 1
    while i < len(args):
        if args[i] == "-m" and i + 1 < len(args) and args[i + 1] == "iptf.run":
            i += 2  # `iptf python script.py` runs through iptf.run: name the script
            continue
        if args[i] in ("-m", "-c"):
            return f"{exe} -m {args[i + 1]}" if args[i] == "-m" and i + 1 < len(args) else f"{exe} -c"
        if not args[i].startswith("-"):
            return f"{exe} {args[i]}"
        i += 1
    return exe


def caller() -> dict[str, Any]:
    """The options naming this process in the reflog (looked up per call: forks differ)."""
    return {"pid": os.getpid(), "program": program_name()}


# IPTF's commands take iptf:// URIs; kubo's own (cat) take /ipfs/ paths.
IPFS_URI = "iptf://ipfs/"

# What a FailedPrecondition about a path means: (if a directory stands there, otherwise).
Precondition = tuple[str, tuple[type[Exception], int], tuple[type[Exception], int]]


def raw(command: str, args: list[str], precondition: Precondition | None = None, bounded: bool = True,
        **options: Any) -> bytes:
    """Run `iptf/<command>` (or a kubo command), raising Python's own exception classes.

    precondition: for operations where the node's FailedPrecondition can mean either "is a
    directory" or "not a directory" (or "not empty"), the path it is about and the class for
    each case, chosen by what stands at the path. Without it, NotADirectoryError.
    bounded: the node gives up after $IPTF_TIMEOUT, as it does for the plugin; imports are
    not bounded (they take time in proportion to the file).
    """
    if bounded:
        options["timeout"] = f"{timeout_seconds():g}s"
    try:
        return node_call(command, args, **options)
    except IptfError as exc:
        if precondition is not None and code_of(exc) == "FailedPrecondition":
            uri, if_directory, otherwise = precondition
            cls, num = if_directory if kind_of(uri) == "directory" else otherwise
            raise cls(num, str(exc).removeprefix("Error: ")) from None
        raise translate(exc) from None


def is_a_directory(uri: str) -> Precondition:
    """FailedPrecondition about uri: IsADirectoryError if it is one, else a parent is a file."""
    return (uri, IS_A_DIRECTORY, NOT_A_DIRECTORY)


def kind_of(uri: str) -> str | None:
    """"file" or "directory" for what stands at uri; None if nothing (or it cannot be told)."""
    try:
        return stat(uri).type
    except OSError:
        return None


def stat(uri: str) -> protocol.Stat:
    """iptf/stat: what stands at uri."""
    return protocol.decode("iptf/stat", raw("iptf/stat", [uri]), protocol.Stat.from_json)


def ls(uri: str, precondition: Precondition | None = None) -> list[protocol.Entry]:
    """iptf/ls: the entries of the directory at uri."""
    return protocol.decode("iptf/ls", raw("iptf/ls", [uri], precondition), protocol.listing_from_json)


def glob(pattern: str) -> list[str]:
    """iptf/glob: the URIs matching pattern."""
    return protocol.decode("iptf/glob", raw("iptf/glob", [pattern]), protocol.matches_from_json)


def open_map(uri: str, known: str | None = None) -> protocol.FileMap:
    """iptf/open: where the file's bytes are (recorded in the reflog as a read).

    known: the CID of a map this process holds; if the file is still that CID, the answer
    leaves the spans out (`known` set)."""
    return protocol.decode("iptf/open", raw("iptf/open", [uri], is_a_directory(uri), known=known, **caller()),
                           protocol.FileMap.from_json)


def blockmap(cid: str) -> protocol.FileMap:
    """iptf/blockmap of iptf://ipfs/<cid>: the spans of a subtree, offsets relative to it."""
    return protocol.decode("iptf/blockmap", raw("iptf/blockmap", [IPFS_URI + cid]), protocol.FileMap.from_json)


def stage(uri: str) -> protocol.Staged:
    """iptf/stage: the staging file to write uri's new content into, once uri can take a file."""
    body = raw("iptf/stage", [uri], is_a_directory(uri))
    return protocol.decode("iptf/stage", body, protocol.Staged.from_json)


def write(uri: str, staged: str, size: int, queue: bool = False, nolog: bool = False, base: str = "",
          offset: int = 0) -> protocol.Written:
    """iptf/write: put the first size bytes of the staged file at uri (queue: in the background).

    base: the CID of content the staged bytes follow, from `offset` in the staged file on (an
    append, or a sync of a file still being written): the node extends it instead of importing
    everything again.
    """
    body = raw("iptf/write", [uri], is_a_directory(uri), bounded=False, file=staged, size=size,
               queue=queue or None, nolog=nolog or None, base=base or None, offset=offset if base else None,
               **caller())
    return protocol.decode("iptf/write", body, protocol.Written.from_json)


def read(root_cid: str, offset: int, length: int) -> bytes:
    """iptf/read: bytes the node fetches (and reads ahead of, for a sequential reader)."""
    return raw("iptf/read", [IPFS_URI + root_cid], offset=offset, length=length)


def cat(cid: str, offset: int, length: int) -> bytes:
    """kubo's cat of a local block that has no file of its own (e.g. an inlined block)."""
    return raw("cat", ["/ipfs/" + cid], offset=offset, length=length)
