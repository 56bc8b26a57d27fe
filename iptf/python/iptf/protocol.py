"""The node's answers as typed values: the messages `iptf/go/protocol` declares.

docs/protocol.md describes the commands. Every reader of the node's JSON in this package
(`iptf status`, `iptf.cid_of`, the fsspec filesystem, the node client) decodes it here, and
tests/test_protocol.py decodes the golden fixtures (iptf/go/protocol/testdata/) with these same
functions, so a field renamed on the node's side fails a test.

Fields the node always sends are read with `[...]`: a missing one raises `ProtocolError`
instead of passing a default along. Fields it leaves out when empty are read with `.get`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, TypeVar

from .errors import IptfError

FILE = "file"
DIRECTORY = "directory"

T = TypeVar("T")


class ProtocolError(IptfError):
    """The node's answer is not what the protocol declares (a node of another version?)."""

    code = "Internal"  # as the plugin reports it


def decode(command: str, body: bytes | str | dict[str, Any], of: Callable[[dict[str, Any]], T]) -> T:
    """Decode `command`'s JSON answer with `of` (e.g. `Stat.from_json`), raising ProtocolError."""
    try:
        j = json.loads(body) if isinstance(body, (bytes, str)) else body
        return of(j)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"unexpected answer from the node to {command}: {exc!r}") from None


class Span(NamedTuple):
    """A run of a file's bytes: in a local block file (`file`), or a subtree to fetch by CID.

    A tuple rather than a dataclass: a 512 MiB file's map holds 2048 spans, decoded at every
    open, and a tuple is built in a fifth of the time."""

    offset: int
    length: int
    cid: str
    local: bool
    file: str = ""
    file_offset: int = 0

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Span:
        """A span of iptf/open's or iptf/blockmap's answer."""
        return cls(int(j["Offset"]), int(j["Length"]), str(j["Cid"]), bool(j["Local"]), str(j.get("File", "")),
                   int(j.get("FileOffset", 0)))


@dataclass(frozen=True)
class FileMap:
    """iptf/open's and iptf/blockmap's answer; `inline` is the content of an iptf://meta/ file.

    `known`: the file is the CID the caller said it holds the map of (iptf/open's `known`
    option), and the spans were left out."""

    cid: str
    type: str
    size: int
    spans: tuple[Span, ...]
    inline: str | None = None
    known: bool = False

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> FileMap:
        """Decode a block map (spans are null for directories, symlinks and known maps)."""
        spans = tuple(Span.from_json(s) for s in j["Spans"] or ())
        inline = j.get("Inline")
        return cls(str(j["Cid"]), str(j["Type"]), int(j["Size"]), spans, inline if isinstance(inline, str) else None,
                   bool(j.get("Known", False)))


@dataclass(frozen=True)
class Stat:
    """iptf/stat's answer; `cid` is "" for an iptf://meta/ file."""

    uri: str
    type: str
    size: int
    cid: str

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Stat:
        """Decode iptf/stat's answer."""
        return cls(str(j["Uri"]), str(j["Type"]), int(j["Size"]), str(j["Cid"]))


@dataclass(frozen=True)
class Entry:
    """One name in a directory listing."""

    name: str
    type: str
    size: int

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Entry:
        """Decode one entry of iptf/ls's answer."""
        return cls(str(j["Name"]), str(j["Type"]), int(j["Size"]))


def listing_from_json(j: dict[str, Any]) -> list[Entry]:
    """iptf/ls's answer: the directory's entries."""
    return [Entry.from_json(e) for e in j["Entries"]]


def matches_from_json(j: dict[str, Any]) -> list[str]:
    """iptf/glob's answer: the matching URIs."""
    return [str(m) for m in j["Matches"]]


@dataclass(frozen=True)
class Written:
    """iptf/write's and iptf/cp's answer; while `queued`, `cid` is "" and `size` 0."""

    uri: str
    cid: str
    size: int
    name: str = ""  # the iptf://ipns/ URI a write to iptf://meta/ published
    queued: bool = False
    next: Staged | None = None  # asked with next=true: the staging file of the next append

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Written:
        """Decode iptf/write's answer."""
        nxt = j.get("Next")
        return cls(str(j["Uri"]), str(j["Cid"]), int(j["Size"]), str(j.get("Name", "")), bool(j.get("Queued", False)),
                   Staged.from_json(nxt) if nxt else None)


@dataclass(frozen=True)
class Staged:
    """iptf/stage's answer: the local file to write a URI's new content into and, for an
    appender, what its bytes follow: `size` bytes, `base`'s content or, with `after_queued`,
    what the writes still queued for the URI leave there."""

    uri: str
    path: str
    base: str = ""
    size: int = 0
    after_queued: bool = False

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Staged:
        """Decode iptf/stage's answer."""
        return cls(str(j["Uri"]), str(j["Path"]), str(j.get("Base", "")), int(j.get("Size", 0)),
                   bool(j.get("AfterQueued", False)))


@dataclass(frozen=True)
class DroppedPeer:
    """Why and when the node dropped a peer."""

    time: str
    reason: str

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> DroppedPeer:
        """Decode one value of Status.DroppedPeers."""
        return cls(str(j["Time"]), str(j["Reason"]))


@dataclass(frozen=True)
class FailedWrite:
    """A queued change the node could not apply; `staged` keeps its bytes."""

    kind: str  # "write", "move" or "damaged journal entry"
    why: str
    uri: str = ""
    destination: str = ""
    staged: str = ""
    code: str = ""  # the failure's error class (ResourceExhausted for a full disk), when known
    superseded: bool = False  # the URI was written or removed again since

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> FailedWrite:
        """Decode one of Status.FailedWrites (or of writeback retry's and discard's answers)."""
        return cls(str(j["Kind"]), str(j["Why"]), str(j.get("Uri", "")), str(j.get("Destination", "")),
                   str(j.get("Staged", "")), str(j.get("Code", "")), bool(j.get("Superseded", False)))


def handled_writes_from_json(j: dict[str, Any]) -> list[FailedWrite]:
    """writeback retry's and discard's answer: the failed writes they handled."""
    return [FailedWrite.from_json(w) for w in j["Writes"]]


@dataclass(frozen=True)
class AbandonedWrite:
    """A staging file whose writer ended before closing it."""

    path: str
    size: int
    since: str

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> AbandonedWrite:
        """Decode one of Status.AbandonedWrites."""
        return cls(str(j["Path"]), int(j["Size"]), str(j["Since"]))


@dataclass(frozen=True)
class ReflogKeeps:
    """What garbage collection keeps because the reflog names it."""

    period: str
    cids: int
    bytes: int

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> ReflogKeeps:
        """Decode Status.ReflogKeeps or Expired.Keeps."""
        return cls(str(j["Period"]), int(j["Cids"]), int(j["Bytes"]))


@dataclass(frozen=True)
class CacheStatus:
    """The cache of fetched content: its limit and what the repo holds (iptf's `cache`)."""

    limit: int
    limit_from: str
    used: int
    kept: int
    evictable: int
    evicted: int
    rounds: int
    last_round: str = ""
    error: str = ""

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> CacheStatus:
        """Decode `cache`'s answer or Status.Cache (which may carry only Error)."""
        if j.get("Error") and "Limit" not in j:
            return cls(0, "", 0, 0, 0, 0, 0, error=str(j["Error"]))
        return cls(int(j["Limit"]), str(j["LimitFrom"]), int(j["Used"]), int(j["Kept"]), int(j["Evictable"]),
                   int(j["Evicted"]), int(j["Rounds"]), str(j.get("LastRound", "")), str(j.get("Error", "")))


@dataclass(frozen=True)
class Status:
    """iptf/status's answer: the running node."""

    repo: str
    api_socket: str
    pid: int
    id: str
    online: bool
    on_demand: bool
    idle_for: str
    queued_writes: int
    idle_timeout: str = ""
    dropped_peers: dict[str, DroppedPeer] = field(default_factory=dict)
    failed_writes: list[FailedWrite] = field(default_factory=list)
    abandoned_writes: list[AbandonedWrite] = field(default_factory=list)
    writeback_error: str = ""
    cache: CacheStatus | None = None
    reflog_keeps: ReflogKeeps | None = None

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Status:
        """Decode iptf/status's answer."""
        keeps = j.get("ReflogKeeps")
        return cls(
            repo=str(j["Repo"]), api_socket=str(j["ApiSocket"]), pid=int(j["Pid"]), id=str(j["ID"]),
            online=bool(j["Online"]), on_demand=bool(j["OnDemand"]), idle_for=str(j["IdleFor"]),
            queued_writes=int(j["QueuedWrites"]), idle_timeout=str(j.get("IdleTimeout", "")),
            dropped_peers={p: DroppedPeer.from_json(d) for p, d in (j.get("DroppedPeers") or {}).items()},
            failed_writes=[FailedWrite.from_json(f) for f in j.get("FailedWrites") or ()],
            abandoned_writes=[AbandonedWrite.from_json(a) for a in j.get("AbandonedWrites") or ()],
            writeback_error=str(j.get("WritebackError", "")),
            cache=CacheStatus.from_json(j["Cache"]) if j.get("Cache") else None,
            reflog_keeps=ReflogKeeps.from_json(keeps) if keeps else None,
        )


@dataclass(frozen=True)
class ReflogEntry:
    """One read or write of an iptf:// file; `to` is a move's destination."""

    n: int
    time: str
    op: str
    path: str
    cid: str
    size: int
    pid: int
    program: str
    to: str = ""

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> ReflogEntry:
        """Decode `reflog show`'s answer (or one of reflog's entries)."""
        return cls(int(j["N"]), str(j["Time"]), str(j["Op"]), str(j["Path"]), str(j["Cid"]), int(j["Size"]),
                   int(j["Pid"]), str(j["Program"]), str(j.get("To", "")))


def reflog_from_json(j: dict[str, Any]) -> list[ReflogEntry]:
    """reflog's answer: the matching entries, oldest first."""
    return [ReflogEntry.from_json(e) for e in j["Entries"]]


@dataclass(frozen=True)
class Expired:
    """`reflog expire`'s answer."""

    removed: int
    keeps: ReflogKeeps

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> Expired:
        """Decode `reflog expire`'s answer."""
        return cls(int(j["Removed"]), ReflogKeeps.from_json(j["Keeps"]))


__all__ = [
    "AbandonedWrite", "DIRECTORY", "DroppedPeer", "Entry", "Expired", "FILE", "FailedWrite", "FileMap",
    "ProtocolError", "ReflogEntry", "ReflogKeeps", "Span", "Stat", "Status", "Written", "decode",
    "listing_from_json", "matches_from_json", "reflog_from_json",
]
