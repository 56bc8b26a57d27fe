"""`make demo`: content-address a dataset with an isolated IPTF node and read it back.

Runs on a throw-away repo made with `iptf init --profile test`, offline: nothing is dialled.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path


def _iptf(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "iptf", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"iptf {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="iptf-demo-") as tmp:
        os.environ["IPTF_PATH"] = str(Path(tmp) / "repo")
        os.environ["IPTF_OFFLINE"] = "1"
        import iptf

        _iptf("init", "--profile", "test")
        data = Path(tmp) / "dataset"
        (data / "train").mkdir(parents=True)
        rng = random.Random(7)
        for i in range(4):
            (data / "train" / f"shard-{i}.bin").write_bytes(rng.randbytes(3 << 20))
        (data / "README.txt").write_text("four shards of seeded random bytes\n")

        root = iptf.add(data)
        shard = iptf.add(data / "train" / "shard-0.bin")
        print(f"dataset  iptf://ipfs/{root}")
        print(f"shard-0  iptf://ipfs/{shard}")
        again = iptf.add(data)
        print(f"re-adding the same bytes gives the same CID: {again == root}")

        whole = iptf.cat(f"iptf://ipfs/{root}/train/shard-0.bin")
        part = iptf.cat(f"iptf://ipfs/{root}/train/shard-0.bin", offset=1 << 20, length=16)
        ok = hashlib.sha256(whole).digest() == hashlib.sha256((data / "train" / "shard-0.bin").read_bytes()).digest()
        print(f"read back {len(whole)} bytes, identical: {ok}; bytes 1 MiB..+16: {part.hex()}")
        print(_iptf("ls", root))
        n = iptf.node()
        print(f"node {n.peer_id} pid {n.pid} (started on demand: {n.on_demand})")
        iptf.shutdown()
        return 0 if ok and again == root else 1


if __name__ == "__main__":
    sys.exit(main())
