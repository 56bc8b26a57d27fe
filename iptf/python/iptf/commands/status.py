"""`iptf status`: is a node running for the repo, and what is it doing."""

from __future__ import annotations

import json
import os
import subprocess

from .._binary import node_binary
from . import command


@command("status", "Show whether a node runs for the repo, without starting one")
def status(args: list[str]) -> int:
    env = dict(os.environ, IPTF_AUTOSTART="0")
    proc = subprocess.run(
        [node_binary(), "iptf", "status", "--enc=json", *args], capture_output=True, env=env, check=False
    )
    if proc.returncode != 0:
        print("no IPTF node is running for this repo")
        return 1
    info = json.loads(proc.stdout)
    mode = f"on demand, stops after {info['IdleTimeout']} idle" if info["OnDemand"] else "foreground"
    print(f"node {info['ID']} (pid {info['Pid']}, {'online' if info['Online'] else 'offline'}, {mode})")
    print(f"repo {info['Repo']}; idle for {info['IdleFor']}")
    return 0
