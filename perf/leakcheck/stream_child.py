"""Child process: stream a TFRecord dataset from iptf:// several passes under memray.

Usage: stream_child.py PATTERN PASSES MARKERS CAPTURE  (CAPTURE "-": no memray, for comparison)

PATTERN is an iptf:// glob of the shards. TensorFlow is imported first; memray then tracks
every allocation, Python and native (TensorFlow's and the iptf plugin's C++ included), into
CAPTURE while the passes run. At the start and end of each pass the child appends a JSON line to
MARKERS: the time (CLOCK_MONOTONIC, which the parent samples with, and wall time, which memray's
snapshots use), its VmRSS, and at the end the records and payload bytes read.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import memray  # noqa: E402
import tensorflow as tf  # noqa: E402


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one_pass(files: list[str]) -> tuple[int, int]:
    """Reads every record the way an input pipeline does: parallel reads, map, shuffle, batch."""
    ds = tf.data.TFRecordDataset(files, buffer_size=1 << 20, num_parallel_reads=2)
    ds = ds.map(lambda r: (tf.cast(tf.strings.length(r), tf.int64), tf.strings.substr(r, 0, 8)),
                num_parallel_calls=2)
    ds = ds.shuffle(256, seed=0).batch(64).prefetch(2)
    records = payload = 0
    for lengths, heads in ds:
        records += int(lengths.shape[0])
        payload += int(tf.reduce_sum(lengths))
        _ = heads.numpy()
    return records, payload


def main() -> None:
    pattern, passes, markers, capture = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(markers, "a", buffering=1) as out:
        def mark(event: str, **extra) -> None:
            line = {"event": event, "t": time.monotonic(), "wall": time.time(), "rss_kib": rss_kib(), **extra}
            out.write(json.dumps(line) + "\n")

        files = sorted(tf.io.gfile.glob(pattern))
        mark("imported", files=len(files))
        # Native traces: TensorFlow's and the plugin's C++ allocations count. Python allocator
        # tracing: pymalloc's pools do not pass for leaks in the leaks flame graph.
        tracker = (memray.Tracker(capture, native_traces=True, trace_python_allocators=True) if capture != "-"
                   else contextlib.nullcontext())
        with tracker:
            mark("tracking")
            for p in range(passes):
                mark("pass_start", index=p)
                start = time.perf_counter()
                records, payload = one_pass(files)
                gc.collect()
                time.sleep(0.1)  # memray writes a memory snapshot every 10 ms: let a few show the settled heap
                mark("pass_end", index=p, records=records, payload_bytes=payload,
                     seconds=time.perf_counter() - start)
        mark("done")


if __name__ == "__main__":
    main()
