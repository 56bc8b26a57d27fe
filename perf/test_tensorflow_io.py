"""TensorFlow through iptf:// against local disk, in the same run.

Reads: `TFRecordDataset` over `iptf://ipfs/<cid>` (content in the repo) versus the same file on
local disk. Writes: `TFRecordWriter` into `iptf://repo/root/` (durable on close: imported and
placed in the tree) versus local disk. Both page-cached; ratios are local time / iptf time.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

import pytest

from helpers import IptfRepo, random_bytes

READ_SIZE = 512 << 20
WRITE_SIZE = 256 << 20
RECORD = 100_000
ROUNDS = 5


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    from tf_support import start_session_repo

    r = start_session_repo(tmp_path_factory.mktemp("tfbench") / "repo")
    yield r
    r.stop()


@pytest.fixture(scope="module")
def records() -> list[bytes]:
    blob = random_bytes(RECORD * 64, seed=3)
    return [blob[i * RECORD:(i + 1) * RECORD] for i in range(64)]


def write_tfrecord(path: str, records: list[bytes], size: int) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as w:
        for i in range(size // RECORD):
            w.write(records[i % len(records)])


def read_all(path: str) -> int:
    import tensorflow as tf

    n = 0
    for r in tf.data.TFRecordDataset(path, buffer_size=8 << 20):
        n += 1
    return n


def median_seconds(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_ratio(benchmark, local_seconds: list[float]) -> float:
    """Median of local/iptf over rounds measured back to back (the machine's speed drifts
    between runs, so each iptf round is paired with the local round just before it)."""
    iptf_seconds = benchmark.stats.stats.data
    return statistics.median(loc / ipt for loc, ipt in zip(local_seconds, iptf_seconds))


def test_tfrecord_read_vs_local_disk(benchmark, repo: IptfRepo, records: list[bytes], tmp_path: Path) -> None:
    local = tmp_path / "read.tfrecord"
    write_tfrecord(str(local), records, READ_SIZE)
    cid = repo.out("add", "-Q", str(local))
    remote = f"iptf://ipfs/{cid}"
    expected = read_all(str(local))  # warms the page cache and TensorFlow
    assert read_all(remote) == expected
    local_s: list[float] = []

    def local_round():
        local_s.append(median_seconds(lambda: read_all(str(local)), rounds=1))

    benchmark.pedantic(lambda: read_all(remote), setup=local_round, rounds=ROUNDS, iterations=1)
    ratio = paired_ratio(benchmark, local_s)
    size = os.path.getsize(local)
    local_med, iptf_med = statistics.median(local_s), benchmark.stats.stats.median
    benchmark.extra_info.update({"bytes": size, "local_MBps": size / local_med / 1e6,
                                 "iptf_MBps": size / iptf_med / 1e6, "ratio_vs_local": ratio})
    print(f"\nTFRecord read 512 MiB: iptf {size / iptf_med / 1e6:.0f} MB/s, local {size / local_med / 1e6:.0f} MB/s, "
          f"ratio {ratio:.2f}x (target >= 0.9)")


def test_tfrecord_write_vs_local_disk(benchmark, repo: IptfRepo, records: list[bytes], tmp_path: Path) -> None:
    import tensorflow as tf

    def write_local() -> None:
        write_tfrecord(str(tmp_path / f"w-{uuid.uuid4().hex}.tfrecord"), records, WRITE_SIZE)

    paths: list[str] = []

    def write_iptf() -> None:
        paths.append(f"iptf://repo/root/bench-{uuid.uuid4().hex}.tfrecord")
        write_tfrecord(paths[-1], records, WRITE_SIZE)

    write_local()
    write_iptf()
    local_s: list[float] = []
    benchmark.pedantic(write_iptf, setup=lambda: local_s.append(median_seconds(write_local, rounds=1)),
                       rounds=ROUNDS, iterations=1)
    ratio = paired_ratio(benchmark, local_s)
    size = tf.io.gfile.stat(paths[-1]).length
    assert size == (WRITE_SIZE // RECORD) * (RECORD + 16)
    local_med, iptf_med = statistics.median(local_s), benchmark.stats.stats.median
    benchmark.extra_info.update({"bytes": size, "local_MBps": size / local_med / 1e6,
                                 "iptf_MBps": size / iptf_med / 1e6, "ratio_vs_local": ratio})
    print(f"\nTFRecord write 256 MiB: iptf {size / iptf_med / 1e6:.0f} MB/s, local {size / local_med / 1e6:.0f} MB/s, "
          f"ratio {ratio:.2f}x (target >= 0.7)")
