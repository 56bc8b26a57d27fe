"""Child process: write a TFRecord dataset of a given total size in shards, in chunks.

Usage: make_tfrecords.py OUT_DIR TOTAL_BYTES SHARDS SEED

Records are pseudo-random bytes of varied sizes (4 KiB to 256 KiB); only one 64 MiB chunk of
them is in memory at a time. Prints one JSON line: {"records": N, "payload_bytes": B, "files": [...]}.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

CHUNK = 64 << 20
MIN_RECORD, MAX_RECORD = 4 << 10, 256 << 10
FRAMING = 16  # TFRecord: 8-byte length, 4-byte length CRC, 4-byte data CRC


def main() -> None:
    out_dir, total, shards, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(seed)
    per_shard = total // shards
    records = payload = 0
    files = []
    for s in range(shards):
        name = f"shard-{s:05d}-of-{shards:05d}.tfrecord"
        files.append(name)
        written = 0
        with tf.io.TFRecordWriter(os.path.join(out_dir, name)) as w:
            while written < per_shard:
                chunk = rng.bytes(min(CHUNK, per_shard - written + MAX_RECORD))
                view = memoryview(chunk)
                pos = 0
                while pos < len(chunk) and written < per_shard:
                    size = int(rng.integers(MIN_RECORD, MAX_RECORD + 1))
                    rec = view[pos:pos + size].tobytes()
                    pos += size
                    w.write(rec)
                    records += 1
                    payload += len(rec)
                    written += len(rec) + FRAMING
    print(json.dumps({"records": records, "payload_bytes": payload, "files": files}))


if __name__ == "__main__":
    main()
