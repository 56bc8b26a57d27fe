"""Eviction must not cost the read path: tf.data streaming a dataset three times the cache limit
from a peer, against the same read with no limit, in paired rounds on loopback (a fresh reader
repo each time; the median of the rounds' ratios; target >= 0.9)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from harness import IptfRepo, random_bytes
from loopback import loopback_address, online_repo

MiB = 1 << 20
LIMIT = 64 * MiB
SHARD = 32 * MiB
SHARDS = 6  # three times the limit
ROUNDS = 5  # the rounds vary widely (0.6-1.4 seen): the median of five

# The clock stops at the last record, not when the iterator reports the end: with autotuning on,
# tf.data's end of sequence now and then waits for a timer of its own, about 5 s after the
# pipeline started (the same with local files and no IPTF in it; not seen with autotuning off),
# which stretched either side of a round at random by up to 2 s here and more on a loaded machine.
STREAM = """
import json, os, sys, time
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
import tensorflow as tf
paths = json.loads(sys.argv[1])
shard = int(sys.argv[2])
start, n, last, shard_ends = time.perf_counter(), 0, 0.0, []
for chunk in tf.data.FixedLengthRecordDataset(paths, 1 << 20).as_numpy_iterator():
    n += len(chunk)
    last = time.perf_counter() - start
    if n % shard == 0:
        shard_ends.append(round(last, 2))
print(n, last, json.dumps(shard_ends))
"""


def stream(reader: IptfRepo, source: IptfRepo, paths: list[str], shard_ends: list[list[float]]) -> float:
    """Connects reader to source, streams paths through tf.data; the seconds reading took. The
    second at which each shard's last record came is appended to shard_ends (where a slow round
    lost its time)."""
    reader.run("swarm", "connect", loopback_address(source))
    proc = subprocess.run([sys.executable, "-c", STREAM, json.dumps(paths), str(SHARD)], capture_output=True,
                          text=True, env=reader.env, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    n, seconds, ends = proc.stdout.split(maxsplit=2)
    assert int(n) == SHARDS * SHARD
    shard_ends.append(json.loads(ends))
    return float(seconds)


def test_streaming_three_times_the_limit_vs_no_limit(benchmark, tmp_path: Path) -> None:
    source = online_repo(tmp_path / "source")
    folder = tmp_path / "shards"
    folder.mkdir()
    for i in range(SHARDS):
        (folder / f"shard-{i}.bin").write_bytes(random_bytes(SHARD, seed=50 + i))
    root = source.out("add", "-r", "-Q", str(folder))
    paths = [f"iptf://ipfs/{root}/shard-{i}.bin" for i in range(SHARDS)]
    unlimited_s: list[float] = []
    shard_ends: dict[str, list[list[float]]] = {"unlimited": [], "limited": []}
    readers: list[IptfRepo] = []
    rounds = iter(range(ROUNDS))

    def setup():
        i = next(rounds)
        free = online_repo(tmp_path / f"free-{i}")  # the anchor of this round: no limit
        readers.append(free)
        unlimited_s.append(stream(free, source, paths, shard_ends["unlimited"]))
        free.stop()
        limited = online_repo(tmp_path / f"limited-{i}", IPTF_CACHE_MAX=f"{LIMIT // MiB}MiB")
        readers.append(limited)
        return (limited,), {}

    limited_s: list[float] = []
    try:
        benchmark.pedantic(lambda reader: limited_s.append(stream(reader, source, paths, shard_ends["limited"])),
                           setup=setup, rounds=ROUNDS, iterations=1)
        evicted = readers[-1].status()["Cache"]["Evicted"]
    finally:
        for r in [*readers, source]:
            r.stop()
    assert evicted >= SHARDS * SHARD - LIMIT - 32 * MiB, f"only {evicted} bytes evicted"
    # Each limited read is paired with the anchor read just before it (this machine's speed drifts).
    ratio = statistics.median(free / limited for free, limited in zip(unlimited_s, limited_s))
    size = SHARDS * SHARD
    benchmark.extra_info.update({"bytes": size, "limit": LIMIT, "limited_MBps": size / statistics.median(limited_s) / 1e6,
                                 "unlimited_MBps": size / statistics.median(unlimited_s) / 1e6,
                                 "ratio_vs_no_limit": ratio, "round_ratios": [f / lim for f, lim in zip(unlimited_s, limited_s)],
                                 "unlimited_shard_ends": shard_ends["unlimited"], "limited_shard_ends": shard_ends["limited"]})
    print(f"\nstreaming {size // MiB} MiB through a {LIMIT // MiB} MiB cache: "
          f"{size / statistics.median(limited_s) / 1e6:.0f} MB/s, without a limit "
          f"{size / statistics.median(unlimited_s) / 1e6:.0f} MB/s, ratio {ratio:.2f}x (target >= 0.9)")
