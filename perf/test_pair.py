"""One holder, one fetcher, both IPTF, on loopback: 128 MiB read by a fresh node through TensorFlow
and through `iptf get`, against kubo v0.22 fetching the same size from kubo v0.22 in the same
run (target >= 5x), and as a share of the machine's single-core sha256 ceiling (every block is
verified against its CID before anyone sees it).

Each round pairs the anchor with both IPTF reads, each of a file of its own (random bytes, so
nothing is deduplicated) into a fresh repo; the ratios are medians over the rounds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from anchors import sha256_mb_per_s
from harness import IptfRepo, random_bytes
from peers.kubo022 import Kubo022
from loopback import TF_SEQUENTIAL_READ, kubo022_fetch_seconds, loopback_address, online_repo

SIZE = 128 << 20
ROUNDS = 3


def add(repo: IptfRepo, folder: Path, name: str, seed: int) -> tuple[str, bytes]:
    data = random_bytes(SIZE, seed=seed)
    (folder / name).write_bytes(data)
    return repo.out("add", "-Q", str(folder / name)), data


def kubo_pair_seconds(tmp_path: Path, i: int, seed: int) -> float:
    """kubo v0.22 fetching SIZE random bytes from kubo v0.22."""
    data = random_bytes(SIZE, seed=seed)
    (tmp_path / f"k{i}.bin").write_bytes(data)
    with Kubo022(tmp_path / f"kubo-holder-{i}") as holder:
        holder.start(online=True)
        cid = holder.add(tmp_path / f"k{i}.bin")
        seconds = kubo022_fetch_seconds(tmp_path / f"kubo-fetcher-{i}", holder, cid, tmp_path / f"k{i}.out")
    assert (tmp_path / f"k{i}.out").read_bytes() == data
    return seconds


def test_iptf_from_iptf_vs_kubo_022_from_kubo_022(benchmark, tmp_path: Path) -> None:
    seed = int(time.time()) + 900
    kubo_s, get_s, tf_s = [], [], []
    holder = online_repo(tmp_path / "holder")
    try:
        for i in range(ROUNDS):
            kubo_s.append(kubo_pair_seconds(tmp_path, i, seed + 3 * i))
            for kind, times in (("get", get_s), ("tf", tf_s)):
                cid, data = add(holder, tmp_path, f"{kind}{i}.bin", seed + 3 * i + (1 if kind == "get" else 2))
                fetcher = online_repo(tmp_path / f"fetcher-{kind}-{i}")
                try:
                    fetcher.run("swarm", "connect", loopback_address(holder))
                    if kind == "get":
                        start = time.perf_counter()
                        fetcher.run("get", "-o", str(tmp_path / f"{kind}{i}.out"), cid)
                        times.append(time.perf_counter() - start)
                        assert (tmp_path / f"{kind}{i}.out").read_bytes() == data
                    else:
                        proc = subprocess.run([sys.executable, "-c", TF_SEQUENTIAL_READ, f"iptf://ipfs/{cid}"],
                                              capture_output=True, text=True, env=dict(fetcher.env, IPTF_AUTOSTART="0"),
                                              timeout=900, check=True)
                        times.append(float(proc.stdout.strip()))
                        assert fetcher.run("cat", "--offline", cid).stdout == data
                finally:
                    fetcher.stop()
    finally:
        holder.stop()
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # the timings are the rounds' own
    sha_mbps = sha256_mb_per_s(random_bytes(64 << 20, seed=seed))
    kubo_med, get_med, tf_med = (statistics.median(t) for t in (kubo_s, get_s, tf_s))
    get_ratio = statistics.median(k / g for k, g in zip(kubo_s, get_s))
    tf_ratio = statistics.median(k / t for k, t in zip(kubo_s, tf_s))
    mbps = {name: SIZE / t / 1e6 for name, t in (("kubo022", kubo_med), ("get", get_med), ("tf", tf_med))}
    benchmark.extra_info.update({
        "bytes": SIZE, "kubo022_pair_MBps": mbps["kubo022"], "iptf_get_MBps": mbps["get"],
        "iptf_tf_MBps": mbps["tf"], "sha256_MBps": sha_mbps, "ratio_get_vs_kubo022_pair": get_ratio,
        "ratio_tf_vs_kubo022_pair": tf_ratio, "get_share_of_sha256": mbps["get"] / sha_mbps,
        "tf_share_of_sha256": mbps["tf"] / sha_mbps, "target_ratio": 5.0,
    })
    print(f"\n128 MiB iptf <- iptf on loopback: iptf get {mbps['get']:.0f} MB/s ({get_ratio:.2f}x), TensorFlow "
          f"{mbps['tf']:.0f} MB/s ({tf_ratio:.2f}x) vs kubo v0.22 <- kubo v0.22 {mbps['kubo022']:.0f} MB/s "
          f"(target >= 5x); sha256 ceiling {sha_mbps:.0f} MB/s: get {mbps['get'] / sha_mbps:.2f}, "
          f"TensorFlow {mbps['tf'] / sha_mbps:.2f} of it")
