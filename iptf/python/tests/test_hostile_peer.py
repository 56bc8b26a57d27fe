"""A hostile peer in the netns bed: a flood of wants for content that exists nowhere, a message
beyond bitswap's size limit, and blocks nobody asked for (iptf/go/testpeers/hostile). The node
under attack stays up, its memory stays bounded, it keeps fetching from an honest provider and
serving an honest consumer, and it drops the peer that sent unwanted blocks."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from harness.netns import IptfHost, TestBed, popen_in, require_netns, stop_process, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

GO_MODULE = Path(__file__).resolve().parents[2] / "go"
# What the attacked node may grow by while flooded (kubo's resource manager and bitswap's
# per-peer want limits are what keep it there).
GROWTH_LIMIT_MIB = 512


@pytest.fixture(scope="module", autouse=True)
def _netns_available() -> None:
    require_netns()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile peer, built from the tree with the node's Go module."""
    out = tmp_path_factory.mktemp("hostile") / "hostile"
    subprocess.run(["go", "build", "-o", str(out), "./testpeers/hostile"], cwd=GO_MODULE, check=True,
                   timeout=600, capture_output=True)
    return out


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


class _RssSampler(threading.Thread):
    """The largest resident size of a process, sampled until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, _rss_mib(pid), threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            self.peak = max(self.peak, _rss_mib(self.pid))

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def _attack(bed: TestBed, hostile: Path, victim: IptfHost, mode: str, *extra: str) -> subprocess.Popen:
    host = bed.hosts[2]
    return popen_in(host.ns, [str(hostile), "-target", victim.multiaddr, "-listen", f"/ip4/{host.addr}/tcp/0",
                              "-mode", mode, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _fetch_matches(node: IptfHost, cid: str, want: Path, dest: Path) -> None:
    node.fetch(cid, dest, timeout=120)
    assert dest.read_bytes() == want.read_bytes(), f"{node} fetched other bytes for {cid}"


def test_hostile_peer_cannot_take_the_node_down(tmp_path: Path, hostile: Path) -> None:
    files = {}
    for name, size in (("from-provider", 24 << 20), ("to-consumer", 16 << 20), ("after-oversized", 4 << 20),
                       ("after-unwanted", 4 << 20)):
        files[name] = tmp_path / f"{name}.bin"
        files[name].write_bytes(os.urandom(size))
    with TestBed(4) as bed:
        victim = bed.iptf(0, tmp_path / "victim")
        provider = bed.iptf(1, tmp_path / "provider")
        consumer = bed.iptf(3, tmp_path / "consumer")
        from_provider = provider.add(files["from-provider"])
        to_consumer = victim.add(files["to-consumer"])
        victim.connect(provider)
        consumer.connect(victim)
        before = _rss_mib(victim.pid)

        # A flood of wants while the node fetches from one honest peer and serves another.
        sampler = _RssSampler(victim.pid)
        sampler.start()
        flood = _attack(bed, hostile, victim, "wants", "-seconds", "20")
        try:
            _fetch_matches(victim, from_provider, files["from-provider"], tmp_path / "got-1")
            _fetch_matches(consumer, to_consumer, files["to-consumer"], tmp_path / "got-2")
            out, err = flood.communicate(timeout=90)
        finally:
            stop_process(flood)
            peak = sampler.stop()
        assert b"sent" in out, err.decode()
        print(f"flood: {out.decode().split(chr(10))[1]}; the node's RSS {before:.0f} MiB, at most {peak:.0f} MiB")
        assert victim.proc.poll() is None, victim.log()[-2000:]
        assert peak < before + GROWTH_LIMIT_MIB, f"RSS grew from {before:.0f} to {peak:.0f} MiB under the flood"

        # A message twice bitswap's size limit: refused, nothing else changes.
        big = _attack(bed, hostile, victim, "oversized")
        big.communicate(timeout=60)
        assert victim.proc.poll() is None, victim.log()[-2000:]
        cid = victim.add(files["after-oversized"])
        _fetch_matches(consumer, cid, files["after-oversized"], tmp_path / "got-3")

        # Blocks nobody asked for: the node drops the peer and keeps serving the others.
        unwanted = _attack(bed, hostile, victim, "unwanted")
        out, err = unwanted.communicate(timeout=60)
        hostile_id = out.decode().split()[0]

        def dropped() -> bool:
            status = json.loads(victim.cmd("iptf", "status", "--enc=json"))
            return hostile_id in (status.get("DroppedPeers") or {})

        wait_for(dropped, 30, what="the node to drop the peer that sent unwanted blocks")
        assert hostile_id not in victim.peers()
        assert victim.proc.poll() is None, victim.log()[-2000:]
        cid = victim.add(files["after-unwanted"])
        _fetch_matches(consumer, cid, files["after-unwanted"], tmp_path / "got-4")
