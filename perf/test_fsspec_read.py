"""fsspec through iptf:// against plain local reads, in the same run.

A 512 MiB file in the repo (`iptf add`, so every block is local) read through
`fsspec.open("iptf://ipfs/<cid>")` in 8 MiB reads, against the same file on local disk read with
plain `open` in 8 MiB reads; both page-cached. Each iptf round is paired with the local round
just before it (this machine's speed drifts between runs); the ratio is local time / iptf time.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes

SIZE = 512 << 20
CHUNK = 8 << 20
ROUNDS = 7


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    from iptf.client import node

    r = IptfRepo(tmp_path_factory.mktemp("fsspecbench") / "repo")
    r.init()
    saved = {k: os.environ.get(k) for k in ("IPTF_PATH", "IPTF_OFFLINE", "IPTF_IDLE_TIMEOUT")}
    os.environ.update({k: r.env[k] for k in saved})
    node(refresh=True)
    yield r
    r.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def read_chunks(f) -> int:
    n = 0
    while chunk := f.read(CHUNK):
        n += len(chunk)
    return n


def test_fsspec_read_vs_local_open(benchmark, repo: IptfRepo, tmp_path: Path) -> None:
    import fsspec

    local = tmp_path / "shard.bin"
    local.write_bytes(random_bytes(SIZE, seed=11))
    cid = repo.out("add", "-Q", str(local))
    url = f"iptf://ipfs/{cid}"

    def read_local() -> int:
        with open(local, "rb") as f:
            return read_chunks(f)

    def read_iptf() -> int:
        with fsspec.open(url, "rb") as f:
            return read_chunks(f)

    assert read_local() == SIZE  # warms the page cache
    assert read_iptf() == SIZE  # and the blocks' files
    with fsspec.open(url, "rb") as f, open(local, "rb") as g:
        f.seek(SIZE // 3)
        g.seek(SIZE // 3)
        assert f.read(CHUNK) == g.read(CHUNK)
    local_s: list[float] = []

    def local_round() -> None:
        start = time.perf_counter()
        read_local()
        local_s.append(time.perf_counter() - start)

    benchmark.pedantic(read_iptf, setup=local_round, rounds=ROUNDS, iterations=1)
    iptf_s = benchmark.stats.stats.data
    ratio = statistics.median(loc / ipt for loc, ipt in zip(local_s, iptf_s))
    local_med, iptf_med = statistics.median(local_s), benchmark.stats.stats.median
    benchmark.extra_info.update({"bytes": SIZE, "local_MBps": SIZE / local_med / 1e6,
                                 "iptf_MBps": SIZE / iptf_med / 1e6, "ratio_vs_local": ratio})
    print(f"\nfsspec read 512 MiB: iptf {SIZE / iptf_med / 1e6:.0f} MB/s, local {SIZE / local_med / 1e6:.0f} MB/s, "
          f"ratio {ratio:.2f}x (target >= 0.9)")
