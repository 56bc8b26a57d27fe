"""The reflog from Python: which exact bytes each program read and wrote through IPTF."""

from __future__ import annotations

from . import protocol
from .client import call
from .errors import InvalidArgument


def reflog(*, path: str | None = None, program: str | None = None, op: str | None = None,
           since: str | None = None, until: str | None = None, pid: int | None = None,
           last: int | None = None) -> list[protocol.ReflogEntry]:
    """The reflog's entries that match every filter given, oldest first (`iptf reflog`'s).

    `path` and `program` match entries containing them; `op` is "read" or "write"; `since` and
    `until` take 2026-11-24, RFC 3339 or an age (36h, 7d), as the command does. Files closed
    before the call are listed: the node applies queued writes first.
    """
    if op not in (None, "read", "write"):
        raise InvalidArgument(f"op is 'read' or 'write', not {op!r}")
    body = call("reflog", path=path, program=program, op=op, since=since, until=until, pid=pid, last=last)
    return protocol.decode("reflog", body, protocol.reflog_from_json)
