"""Check both test peers against the public UnixFS vectors and each other.

Run from iptf/python/tests: `python -m peers.verify [--big]`. Prints one line per check and exits 1
on any mismatch. --big adds a 64 MiB transfer in each direction with timings.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .helia import HeliaPeer
from .kubo022 import Kubo022, kubo022_cid

CHUNK = 262144

# (name, files (None = the path is a single file b""), options, CID) from shared/notes/unixfs.md
VECTORS: list[tuple[str, Any, dict[str, Any], str]] = [
    ("hello world\\n", b"hello world\n", {}, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    ("empty", b"", {}, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    ("empty raw-leaves", b"", {"raw_leaves": True}, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    ("Hello Worlds!\\n", b"Hello Worlds!\n", {}, "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH"),
    (
        "Hello Worlds!\\n trickle",
        b"Hello Worlds!\n",
        {"layout": "trickle"},
        "QmUkUQgxXeggyaD5Ckv8ZqfW8wHBX6cYyeiyqvVZYzq5Bi",
    ),
    (
        "hello world v1",
        b"hello world",
        {"cid_version": 1},
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    ),
    (
        "hello world v1 no raw",
        b"hello world",
        {"cid_version": 1, "raw_leaves": False},
        "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa",
    ),
    ("i%251 x 1 MiB", bytes(i % 251 for i in range(2**20)), {}, "QmXgkY4miMKJBrg8YYke4xw6C2n8WNsUc1GXLhN84k4QM3"),
    ("empty dir", {}, {}, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"),
    ("empty dir v1", {}, {"cid_version": 1}, "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"),
    (
        "mars/venus dir",
        {"mars.txt": b"Hello Mars!\n", "venus.txt": b"Hello Venus!\n"},
        {},
        "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY",
    ),
    (
        "a.txt + sub/b.bin dir",
        {"a.txt": b"hello world\n", "sub/b.bin": bytes(i % 251 for i in range(300000))},
        {},
        "QmTF2XpsphojXMLyhZDu6RQ2pnxzaAoKMdxrrNSiAEzXQ2",
    ),
]


def materialize(root: Path, name: str, content: bytes | dict[str, bytes]) -> Path:
    """Write a file (bytes) or a directory (relative path -> bytes) under root."""
    path = root / hashlib.sha256(name.encode()).hexdigest()[:12]
    if isinstance(content, bytes):
        path.write_bytes(content)
        return path
    path.mkdir()
    for rel, data in content.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


def seeded(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def main() -> int:
    failures = 0

    def check(label: str, got: str, want: str) -> None:
        nonlocal failures
        ok = got == want
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {got}" + ("" if ok else f" (want {want})"))

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        t = time.monotonic()
        result = fn()
        print(f"     {label}: {time.monotonic() - t:.2f}s")
        return result

    with tempfile.TemporaryDirectory(prefix="peers-verify-") as tmp:
        root = Path(tmp)
        with HeliaPeer() as helia:
            for name, content, opts, want in VECTORS:
                path = materialize(root, name, content)
                check(f"helia {name} {opts}", helia.hash(path, **opts), want)
                if not opts:
                    check(f"kubo022 {name}", kubo022_cid(path), want)
            for chunks in (175, 349):
                big = root / f"r{chunks}.bin"
                big.write_bytes(seeded(chunks * CHUNK, chunks))
                check(f"helia == kubo022, {chunks} chunks", helia.hash(big), kubo022_cid(big))
        if "--big" in sys.argv:
            failures += transfers(root)
    print(f"{'all checks passed' if not failures else f'{failures} check(s) failed'}")
    return 1 if failures else 0


def transfers(root: Path) -> int:
    """Move 64 MiB kubo->kubo, kubo->helia and helia->(fresh) kubo; print speeds; count mismatches."""
    data = seeded(64 << 20, 64)
    src = root / "big64.bin"
    src.write_bytes(data)
    bad = 0
    with Kubo022(root / "k1") as k1, Kubo022(root / "k2") as k2, Kubo022(root / "k3") as k3, HeliaPeer() as h:
        t = time.monotonic()
        for k in (k1, k2, k3):
            k.start(online=True)
        print(f"     start kubo022 x3: {time.monotonic() - t:.2f}s")
        t = time.monotonic()
        h.start()
        print(f"     start helia (process + node): {time.monotonic() - t:.2f}s")
        for listen in (k1.multiaddr, k2.multiaddr, k3.multiaddr, h.multiaddr):
            assert listen.startswith("/ip4/127.0.0.1/tcp/"), listen
        cid = k1.add(src)

        def kubo_to_kubo(out: Path) -> None:
            k2.connect(k1.multiaddr)
            k2.download(cid, out, timeout=120)

        def kubo_to_helia(out: Path) -> None:
            h.connect(k1.multiaddr)
            h.cat(cid, out, timeout=120)

        runs = [("kubo022->kubo022", kubo_to_kubo), ("kubo022->helia", kubo_to_helia)]
        for label, run in runs:
            out = root / f"{label.replace('>', '')}.out"
            t = time.monotonic()
            run(out)
            dt = time.monotonic() - t
            same = out.read_bytes() == data
            bad += not same
            print(f"{'ok  ' if same else 'FAIL'} {label}: 64 MiB in {dt:.2f}s = {64 / dt:.0f} MiB/s")
        hcid = h.add(src)
        out = root / "helia-kubo.out"
        t = time.monotonic()
        k3.connect(h.multiaddr)
        k3.download(hcid, out, timeout=120)
        dt = time.monotonic() - t
        same = out.read_bytes() == data and hcid == cid
        bad += not same
        print(f"{'ok  ' if same else 'FAIL'} helia->kubo022: 64 MiB in {dt:.2f}s = {64 / dt:.0f} MiB/s")
        listening = subprocess.run(["ss", "-Htlnp"], check=False, capture_output=True, text=True).stdout
        pids = {str(p) for p in (k1.pid, k2.pid, k3.pid, h.pid)}
        ours = [ln for ln in listening.splitlines() if any(f"pid={p}," in ln for p in pids)]
        wide = [ln for ln in ours if "127.0.0.1:" not in ln.split()[3]]
        bad += bool(wide)
        print(f"{'ok  ' if not wide else 'FAIL'} {len(ours)} listeners, all on 127.0.0.1" + "".join(wide))
    return bad


if __name__ == "__main__":
    sys.exit(main())
