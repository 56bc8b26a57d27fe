"""Many small files into one directory through TensorFlow: iptf:// against local disk, in the
same run. 10,000 files of 1 KiB, written (open 'wb', write, close) in batches of 1,000; reported:
files/s of each, and the last batch's time against the first, which stays flat when a file's
cost does not grow with the directory."""

from __future__ import annotations

import os
import time
from pathlib import Path

FILES = 10_000
BATCH = 1_000


def timed_batches(folder: str) -> list[float]:
    """Seconds per batch of BATCH files written into folder."""
    import tensorflow as tf

    tf.io.gfile.makedirs(folder)
    payload = os.urandom(1024)
    times = []
    for b in range(FILES // BATCH):
        start = time.perf_counter()
        for i in range(b * BATCH, (b + 1) * BATCH):
            with tf.io.gfile.GFile(f"{folder}/f{i:05d}.bin", "wb") as f:
                f.write(payload + i.to_bytes(4, "big"))
        times.append(time.perf_counter() - start)
    return times


def test_small_files_in_one_directory_vs_local_disk(benchmark, tf_repo, tmp_path: Path) -> None:
    import tensorflow as tf

    local = timed_batches(str(tmp_path / "local"))
    iptf: list[float] = []
    target = "iptf://repo/root/bench-small-files"
    benchmark.pedantic(lambda: iptf.extend(timed_batches(target)), rounds=1, iterations=1)
    assert len(tf.io.gfile.listdir(target)) == FILES

    ratio = sum(local) / sum(iptf)
    benchmark.extra_info.update({
        "files": FILES, "iptf_files_per_s": FILES / sum(iptf), "local_files_per_s": FILES / sum(local),
        "ratio_vs_local": ratio, "first_batch_s": iptf[0], "last_batch_s": iptf[-1],
        "last_over_first": iptf[-1] / iptf[0],
    })
    print(f"\n{FILES} small files in one directory: iptf {FILES / sum(iptf):.0f} files/s, local "
          f"{FILES / sum(local):.0f} files/s (ratio {ratio:.3f}x); iptf batches of {BATCH}: first "
          f"{iptf[0]:.2f} s, last {iptf[-1]:.2f} s")
