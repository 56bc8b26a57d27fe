"""Fetching from peers, against anchors measured in the same run (loopback, 64 MiB random):
iptf fetching from kubo v0.22 versus kubo v0.22 fetching from kubo v0.22, in paired rounds
(target >= 1.0), and
TensorFlow reading a remote file sequentially through iptf:// versus `iptf get` of a same-size
remote file (target >= 0.8)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import IptfRepo, random_bytes
from loopback import TF_SEQUENTIAL_READ, kubo022_fetch_seconds, online_repo
from peers.kubo022 import Kubo022

SIZE = 64 << 20
ROUNDS = 3
FETCH_ROUNDS = 5  # paired with the anchor: this machine's speed drifts between rounds


def fresh_file(folder: Path, name: str, seed: int) -> tuple[Path, bytes]:
    data = random_bytes(SIZE, seed=seed)
    path = folder / name
    path.write_bytes(data)
    return path, data


def test_fetch_64mib_vs_kubo_022(benchmark, tmp_path: Path) -> None:
    """Paired rounds: kubo v0.22 fetching a new file from the provider (the anchor), then a fresh
    iptf node fetching another new file from it; the ratio is the median of the rounds' ratios."""
    seed = int(time.time())
    kubo_s: list[float] = []
    rounds = iter(range(FETCH_ROUNDS))
    with Kubo022(tmp_path / "provider") as provider:
        provider.start(online=True)

        def kubo_round(i: int) -> None:
            path, data = fresh_file(tmp_path, f"k{i}.bin", seed + i)
            cid = provider.add(path)
            kubo_s.append(kubo022_fetch_seconds(tmp_path / f"kubo-client-{i}", provider, cid, tmp_path / f"k{i}.out"))
            assert (tmp_path / f"k{i}.out").read_bytes() == data

        repos: list[IptfRepo] = []

        def setup():
            i = next(rounds)
            kubo_round(i)
            path, _ = fresh_file(tmp_path, f"i{i}.bin", seed + 100 + i)
            cid = provider.add(path)
            repo = online_repo(tmp_path / f"iptf-{i}")
            repos.append(repo)
            repo.run("swarm", "connect", provider.multiaddr)
            return (repo, cid, tmp_path / f"i{i}.out"), {}

        def fetch(repo: IptfRepo, cid: str, out: Path) -> None:
            repo.run("get", "-o", str(out), cid)

        try:
            benchmark.pedantic(fetch, setup=setup, rounds=FETCH_ROUNDS, iterations=1)
        finally:
            for repo in repos:
                repo.stop()
    for i in range(FETCH_ROUNDS):
        assert (tmp_path / f"i{i}.out").read_bytes() == (tmp_path / f"i{i}.bin").read_bytes()
    iptf_runs = benchmark.stats.stats.data
    ratio = statistics.median(k / t for k, t in zip(kubo_s, iptf_runs))
    iptf_med, kubo_med = statistics.median(iptf_runs), statistics.median(kubo_s)
    benchmark.extra_info.update({"bytes": SIZE, "iptf_MBps": SIZE / iptf_med / 1e6,
                                 "kubo022_MBps": SIZE / kubo_med / 1e6, "ratio_vs_kubo022": ratio,
                                 "round_ratios": [round(k / t, 3) for k, t in zip(kubo_s, iptf_runs)]})
    print(f"\nfetch 64 MiB from kubo v0.22: iptf {SIZE / iptf_med / 1e6:.0f} MB/s, kubo v0.22 "
          f"{SIZE / kubo_med / 1e6:.0f} MB/s, ratio {ratio:.2f}x (median of {FETCH_ROUNDS} paired rounds; "
          f"target >= 1.0)")


def test_tensorflow_remote_read_vs_iptf_get(benchmark, tmp_path: Path) -> None:
    seed = int(time.time()) + 500
    get_s, tf_s = [], []
    with Kubo022(tmp_path / "provider") as provider:
        provider.start(online=True)
        for i in range(ROUNDS):
            a, _ = fresh_file(tmp_path, f"g{i}.bin", seed + 2 * i)
            b, data = fresh_file(tmp_path, f"t{i}.bin", seed + 2 * i + 1)
            cid_a, cid_b = provider.add(a), provider.add(b)
            repo = online_repo(tmp_path / f"client-{i}")
            try:
                repo.run("swarm", "connect", provider.multiaddr)
                start = time.perf_counter()
                repo.run("get", "-o", str(tmp_path / f"g{i}.out"), cid_a)
                get_s.append(time.perf_counter() - start)
                proc = subprocess.run([sys.executable, "-c", TF_SEQUENTIAL_READ, f"iptf://ipfs/{cid_b}"], capture_output=True,
                                      text=True, env=dict(repo.env, IPTF_AUTOSTART="0"), timeout=600, check=True)
                tf_s.append(float(proc.stdout.strip()))
                assert repo.run("cat", "--offline", cid_b).stdout == data
            finally:
                repo.stop()
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # timings are the TF process's own
    tf_med, get_med = statistics.median(tf_s), statistics.median(get_s)
    ratio = get_med / tf_med
    benchmark.extra_info.update({"bytes": SIZE, "tf_MBps": SIZE / tf_med / 1e6, "get_MBps": SIZE / get_med / 1e6,
                                 "ratio_vs_iptf_get": ratio})
    print(f"\nTensorFlow sequential read of a remote 64 MiB file: {SIZE / tf_med / 1e6:.0f} MB/s, iptf get "
          f"{SIZE / get_med / 1e6:.0f} MB/s, ratio {ratio:.2f}x (target >= 0.8)")
