"""`iptf status`: is a node running for the repo, and what is it doing."""

from __future__ import annotations

import json
import os
import subprocess

from .. import protocol
from .._binary import node_binary
from ..errors import IptfError
from ..sizes import count_text, size_text

USAGE = """usage: iptf status [--json]

Shows whether a node runs for the repo ($IPTF_PATH or ~/.iptf), without starting one: its peer
ID, process, whether it is online, started on demand (and its idle timeout), how long it has been
idle, files closed but not yet in the writable tree (the node imports them in the background), and
peers it dropped for sending bad blocks. --json prints all of it as JSON.
"""


def run(args: list[str]) -> int:
    if "-h" in args or "--help" in args:
        print(USAGE, end="")
        return 0
    unknown = [a for a in args if a != "--json"]
    if unknown:
        raise IptfError(f"unknown option {unknown[0]!r} (usage: iptf status [--json])")
    env = dict(os.environ, IPTF_AUTOSTART="0")
    proc = subprocess.run([node_binary(), "iptf", "status", "--enc=json"], capture_output=True, env=env,
                          check=False)
    if proc.returncode != 0:
        print("no IPTF node is running for this repo")
        return 1
    if "--json" in args:
        print(json.dumps(json.loads(proc.stdout), indent=2))
        return 0
    for line in status_lines(protocol.decode("iptf/status", proc.stdout, protocol.Status.from_json)):
        print(line)
    return 0


def status_lines(info: protocol.Status) -> list[str]:
    """`iptf status`'s report on a node, line by line."""
    mode = f"on demand, stops after {info.idle_timeout} idle" if info.on_demand else "foreground"
    lines = [f"node {info.id} (pid {info.pid}, {'online' if info.online else 'offline'}, {mode})",
             f"repo {info.repo}; idle for {info.idle_for}"]
    if info.writeback_error:
        lines.append(f"closed files cannot be applied to the writable tree yet: {info.writeback_error}")
    if info.queued_writes:
        lines.append(f"{info.queued_writes} closed files or renames queued for the writable tree")
    for failed in info.failed_writes:
        kept = f"; bytes kept in {failed.staged}" if failed.staged else ""
        what = failed.kind
        if failed.uri:
            what += f" of {failed.uri}" + (f" to {failed.destination}" if failed.destination else "")
        if failed.superseded:
            kept += " (written again since)"
        lines.append(f"could not apply the {what}: {failed.why}{kept}")
    if info.failed_writes:
        lines.append("  `iptf writeback retry [uri]` applies them again, `iptf writeback discard [uri]` drops them")
    for abandoned in info.abandoned_writes:
        lines.append(f"a writer ended before closing its file: {abandoned.size} bytes kept in {abandoned.path}"
                     f" (written {abandoned.since}; removed a day after)")
    for peer, drop in info.dropped_peers.items():
        lines.append(f"dropped peer {peer}: {drop.reason}")
    if info.cache:
        lines.append(cache_line(info.cache))
    keeps = info.reflog_keeps
    if keeps:
        lines.append(f"the reflog keeps {count_text(keeps.cids, 'CID')} ({size_text(keeps.bytes)}) "
                     f"named in the last {keeps.period} "
                     "through `iptf repo gc` (`iptf reflog expire` ends that)")
    return lines


def cache_line(cache: protocol.CacheStatus) -> str:
    """The cache in one line of `iptf status`."""
    if cache.error:
        return f"the cache is off (nothing fetched is evicted): {cache.error}"
    head = f"cache limit {size_text(cache.limit)} ({cache.limit_from}): the repo holds {size_text(cache.used)}"
    if not cache.last_round:
        return f"{head}; nothing evicted yet (`iptf cache` counts what is evictable)"
    return (f"{head}, {size_text(cache.evictable)} of it evictable at the last round; {size_text(cache.evicted)} evicted "
            "since start (`iptf cache` counts again)")
