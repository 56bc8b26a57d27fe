"""TensorFlow through iptf:// against local disk, in the same run.

Reads: `TFRecordDataset` over `iptf://ipfs/<cid>` (content in the repo) versus the same file on
local disk. Writes: `TFRecordWriter` into `iptf://repo/root/` versus local disk, both page-cached:
closing the file hands it to the node, which imports it in the background (as a kernel writes back
its page cache); each local round starts only once the node has put the previous file in the tree,
and the time until then is reported too. Ratios are local time / iptf time.

The local writer rewrites one file each round: its pages come straight back from the truncation.
A new local file per round would need fresh pages, which on a virtual machine that hands freed
memory back to its host (virtio-balloon free page reporting) costs up to ten times more in some
phases: the anchor would swing by 10x between runs.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes

READ_SIZE = 512 << 20
WRITE_SIZE = 256 << 20
RECORD = 100_000
ROUNDS = 5


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


def test_tfrecord_read_vs_local_disk(benchmark, tf_repo: IptfRepo, records: list[bytes], tmp_path: Path) -> None:
    local = tmp_path / "read.tfrecord"
    write_tfrecord(str(local), records, READ_SIZE)
    cid = tf_repo.out("add", "-Q", str(local))
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


def test_tfrecord_write_vs_local_disk(benchmark, tf_repo: IptfRepo, records: list[bytes], tmp_path: Path) -> None:
    import tensorflow as tf

    def write_local() -> None:
        write_tfrecord(str(tmp_path / "local.tfrecord"), records, WRITE_SIZE)

    paths: list[str] = []
    settle_s: list[float] = []

    def write_iptf() -> None:
        paths.append(f"iptf://repo/root/bench-{uuid.uuid4().hex}.tfrecord")
        write_tfrecord(paths[-1], records, WRITE_SIZE)

    def settle() -> None:
        """Waits until the last file written is in the tree (its import runs after close)."""
        start = time.perf_counter()
        tf.io.gfile.stat(paths[-1])
        settle_s.append(time.perf_counter() - start)

    def settle_then_write_local() -> None:
        settle()
        local_s.append(median_seconds(write_local, rounds=1))

    write_local()
    write_iptf()
    local_s: list[float] = []
    benchmark.pedantic(write_iptf, setup=settle_then_write_local, rounds=ROUNDS, iterations=1)
    settle()
    settle_s = settle_s[1:]  # the first settled the warm-up write
    ratio = paired_ratio(benchmark, local_s)
    size = tf.io.gfile.stat(paths[-1]).length
    assert size == (WRITE_SIZE // RECORD) * (RECORD + 16)
    local_med, iptf_med = statistics.median(local_s), benchmark.stats.stats.median
    in_tree_med = statistics.median(w + t for w, t in zip(benchmark.stats.stats.data, settle_s))
    benchmark.extra_info.update({"bytes": size, "local_MBps": size / local_med / 1e6,
                                 "iptf_MBps": size / iptf_med / 1e6, "ratio_vs_local": ratio,
                                 "in_tree_MBps": size / in_tree_med / 1e6})
    print(f"\nTFRecord write 256 MiB: iptf {size / iptf_med / 1e6:.0f} MB/s, local {size / local_med / 1e6:.0f} MB/s, "
          f"ratio {ratio:.2f}x (target >= 0.7); in the tree (imported) after close: {size / in_tree_med / 1e6:.0f} MB/s")
