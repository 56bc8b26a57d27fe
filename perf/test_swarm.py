"""A swarm: one seed whose uplink is limited to 100 Mbit/s (tc, in network namespaces) holds 64 MiB
of random bytes; eight fresh workers, connected to the seed and to each other, start reading it
(`iptf cat`, through IPTF's fetch engine as TensorFlow's reads) at the same moment. Measured: how
many copies the seed uploaded (its interface's transmitted bytes, as the kernel counts them) and
the last worker's time against one worker alone fetching another 64 MiB from the same seed.
Targets: the seed uploads at most 1.5 copies; the last worker finishes within 2x the lone one.
Needs root and `ip netns` (skipped otherwise)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from harness.netns import IP, NODE_BINARY, IptfHost, TestBed, fresh_client_fetch, require_netns, run_in

SIZE = 64 << 20
SEED_MBIT = 100
WORKERS = 8


def tx_bytes(bed: TestBed, index: int) -> int:
    """Bytes host index has sent on its interface (the kernel's counter)."""
    host = bed.hosts[index]
    out = run_in(host.ns, [IP, "-s", "-j", "link", "show", host.dev]).stdout
    return int(json.loads(out)[0]["stats64"]["tx"]["bytes"])


def new_file(tmp: Path, name: str) -> Path:
    path = tmp / name
    path.write_bytes(os.urandom(SIZE))
    return path


def test_swarm_of_eight_workers_vs_one_alone(benchmark, tmp_path_factory: pytest.TempPathFactory) -> None:
    require_netns()
    tmp = tmp_path_factory.mktemp("swarm")
    with TestBed(1 + WORKERS, rate_mbit=[SEED_MBIT] + [None] * WORKERS) as bed:
        link = bed.check_rates([0], 1)[0]
        seed = bed.iptf(0, tmp / "seed")

        alone_file = new_file(tmp, "alone.bin")
        alone_cid = seed.add(alone_file)
        alone = fresh_client_fetch(bed, 1, tmp / "alone", [seed], alone_cid, alone_file, timeout=300).seconds

        swarm_file = new_file(tmp, "swarm.bin")
        cid = seed.add(swarm_file)
        workers: list[IptfHost] = [bed.iptf(1 + i, tmp / f"w{i}") for i in range(WORKERS)]
        for i, w in enumerate(workers):
            w.connect(seed)
            for other in workers[i + 1:]:
                w.connect(other)
        for w in workers:
            w.wait_peers([seed, *(o for o in workers if o is not w)])

        sent_before = tx_bytes(bed, 0)
        outs = [tmp / f"w{i}.out" for i in range(WORKERS)]
        start = time.perf_counter()
        procs = []
        for w, out in zip(workers, outs):
            with open(out, "wb") as f:
                # Commands reach each node through its repo's socket, from the root namespace.
                procs.append(subprocess.Popen([NODE_BINARY, "cat", cid], env=w.env, stdout=f,
                                              stderr=subprocess.PIPE))
        finished: dict[int, float] = {}
        while len(finished) < WORKERS:
            for i, p in enumerate(procs):
                if i not in finished and p.poll() is not None:
                    finished[i] = time.perf_counter() - start
                    assert p.returncode == 0, f"worker {i}: {p.stderr.read().decode()[-2000:]}"
            assert time.perf_counter() - start < 600, f"workers still reading after 600 s: {finished}"
            time.sleep(0.01)
        uploaded = tx_bytes(bed, 0) - sent_before
        expected = swarm_file.read_bytes()
        for i, out in enumerate(outs):
            assert out.read_bytes() == expected, f"worker {i} read other bytes"

    copies = uploaded / SIZE
    last = max(finished.values())
    times = sorted(finished.values())
    benchmark.extra_info.update({
        "bytes": SIZE, "workers": WORKERS, "seed_link_Mbps": link, "alone_seconds": alone,
        "worker_seconds": times, "seed_uploaded_copies": copies, "ratio_last_vs_alone": last / alone,
        "target_copies": 1.5, "target_ratio_last_vs_alone": 2.0,
    })
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # the figures are extra_info's
    print(f"\nswarm: {WORKERS} workers read 64 MiB from a seed at {SEED_MBIT} Mbit/s (link {link:.0f} Mbit/s): "
          f"seed uploaded {copies:.2f} copies (target <= 1.5); workers done in {times[0]:.1f}-{last:.1f} s, "
          f"one alone {alone:.1f} s: last/alone {last / alone:.2f} (target <= 2)")
