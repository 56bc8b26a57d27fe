"""What the network benchmarks share: online repos on loopback, kubo v0.22's own fetch (their
anchor) and TensorFlow's sequential read."""

from __future__ import annotations

import time
from pathlib import Path

from harness import IptfRepo
from peers.kubo022 import Kubo022

# A process of its own reads an iptf:// URI sequentially in 1 MiB pieces through TensorFlow and
# prints the seconds the read took (TensorFlow's import is not timed).
TF_SEQUENTIAL_READ = """
import os, sys, time
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
import tensorflow as tf
start = time.perf_counter()
with tf.io.gfile.GFile(sys.argv[1], 'rb') as f:
    while f.read(1 << 20):
        pass
print(time.perf_counter() - start)
"""


def online_repo(path: Path, **env: str) -> IptfRepo:
    """A fresh repo whose node goes online (still dialling only what the bed gives it)."""
    repo = IptfRepo(path, offline=False, extra_env=env)
    repo.init()
    return repo


def loopback_address(repo: IptfRepo) -> str:
    """The multiaddr other nodes on this machine dial repo's node at."""
    addr = next(a for a in repo.out("id", "-f=<addrs>").split() if a.startswith("/ip4/127.0.0.1/tcp/"))
    return f"{addr}/p2p/{repo.out('id', '-f=<id>')}"


def kubo022_fetch_seconds(workdir: Path, provider: Kubo022, cid: str, out: Path) -> float:
    """Seconds a fresh kubo v0.22 node, connected to provider only, takes to download cid to out."""
    with Kubo022(workdir) as client:
        client.start(online=True)
        client.connect(provider.multiaddr)
        start = time.perf_counter()
        client.download(cid, out, timeout=600)
        return time.perf_counter() - start
