"""`iptf status`: is a node running for the repo, and what is it doing."""

from __future__ import annotations

import json
import os
import subprocess

from .._binary import node_binary
from ..errors import IptfError
from . import command

USAGE = """usage: iptf status [--json]

Shows whether a node runs for the repo ($IPTF_PATH or ~/.iptf), without starting one: its peer
ID, process, whether it is online, started on demand (and its idle timeout), how long it has been
idle, files closed but not yet in the writable tree (the node imports them in the background), and
peers it dropped for sending bad blocks. --json prints all of it as JSON.
"""


@command("status", "Show whether a node runs for the repo, without starting one")
def status(args: list[str]) -> int:
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
    info = json.loads(proc.stdout)
    if "--json" in args:
        print(json.dumps(info, indent=2))
        return 0
    mode = f"on demand, stops after {info['IdleTimeout']} idle" if info["OnDemand"] else "foreground"
    print(f"node {info['ID']} (pid {info['Pid']}, {'online' if info['Online'] else 'offline'}, {mode})")
    print(f"repo {info['Repo']}; idle for {info['IdleFor']}")
    if info.get("QueuedWrites"):
        print(f"{info['QueuedWrites']} closed files or renames queued for the writable tree")
    for failed in info.get("FailedWrites") or []:
        op = failed["Op"]
        kept = f"; bytes kept in {op['staged']}" if op.get("staged") else ""
        what = f"{op['kind']} of {op['path']}" if op.get("path") else op["kind"]
        print(f"could not apply the {what}: {failed['Why']}{kept}")
    for abandoned in info.get("AbandonedWrites") or []:
        print(f"a writer ended before closing its file: {abandoned['Size']} bytes kept in {abandoned['Path']}"
              f" (written {abandoned['Since']}; removed a day after)")
    for peer, drop in (info.get("DroppedPeers") or {}).items():
        print(f"dropped peer {peer}: {drop['Reason']}")
    _print_reflog_keeps(info.get("ReflogKeeps"))
    return 0


def _print_reflog_keeps(keeps: dict | None) -> None:
    """What garbage collection keeps because the reflog names it."""
    if keeps:
        size = keeps["Bytes"]
        amount = f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"
        print(f"the reflog keeps {keeps['Cids']} CIDs ({amount}) named in the last {keeps['Period']} "
              "through `iptf repo gc` (`iptf reflog expire` ends that)")
