"""Offline means offline: a node run with IPTF_OFFLINE=1 sends nothing beyond its Unix socket,
DNS included (DNSLink for /ipns/<domain>). Checked under a syscall trace, in a network namespace
that has only loopback, so a stray query could not leave the machine either. Needs root."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import IptfRepo
from harness.netns import IP, require_netns

STRACE = shutil.which("strace")
# Address families a node may use: its own socket, and the kernel's (interface lists).
LOCAL_FAMILIES = ("AF_UNIX", "AF_NETLINK")


def test_offline_node_makes_no_dns_query(tmp_path: Path) -> None:
    require_netns()
    if STRACE is None:
        pytest.skip("strace is missing (make apt installs it)")
    repo = IptfRepo(tmp_path / "repo")
    repo.init()
    ns = f"iptfoff{secrets.token_hex(3)}"
    subprocess.run([IP, "netns", "add", ns], check=True, timeout=15)
    try:
        subprocess.run([IP, "-n", ns, "link", "set", "lo", "up"], check=True, timeout=15)
        trace = tmp_path / "trace"
        iptf = f"{sys.executable} -m iptf"
        script = (f"{iptf} cat /ipns/example.com/f 2> {tmp_path}/cat.err; "
                  f"{iptf} iptf stat iptf://ipns/example.com/f 2> {tmp_path}/stat.err; "
                  f"{iptf} shutdown")
        env = dict(repo.env, IPTF_OFFLINE="1")
        subprocess.run([IP, "netns", "exec", ns, STRACE, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg",
                        "-o", str(trace), "sh", "-c", script], env=env, check=True, timeout=180)
    finally:
        subprocess.run([IP, "netns", "del", ns], timeout=15)
        repo.stop()
    for name in ("cat.err", "stat.err"):
        err = (tmp_path / name).read_text()
        assert err.count("\n") == 1 and "offline" in err, f"{name}: {err}"
    # The name cannot be resolved now: Unavailable, as TensorFlow and the Python API report it.
    assert "Unavailable: iptf://ipns/example.com/f" in (tmp_path / "stat.err").read_text()
    calls = [line for line in trace.read_text().splitlines() if re.search(r"\b(connect|sendto|sendmsg)\(", line)]
    assert any("AF_UNIX" in c for c in calls), "the trace saw no call to the node at all"
    outside = [c for c in calls if "sa_family=" in c and not any(f"sa_family={f}" in c for f in LOCAL_FAMILIES)]
    assert not outside, "the offline node or its client reached beyond the machine:\n" + "\n".join(outside[:5])
