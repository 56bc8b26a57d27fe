"""The node (the Go daemon) must not grow its heap over many add/read cycles.

CYCLES times (300; $LEAKCHECK_NODE_CYCLES): a fresh file of 1-4 MiB of random bytes is added
(`iptf add`, or `iptf.add` every other cycle, CIDv0 and CIDv1 with raw leaves in turn) and read back
by CID through `iptf cat` and through the Python API `iptf.cat` (whole, then a range), and checked.
Every 100 cycles the added CIDs are unpinned and `iptf repo gc` runs, so the repo stays small and
GC's paths are exercised too. Every SAMPLE_EVERY cycles the node is asked for a GC
(/debug/pprof/heap?gc=1 on its api.sock) and its memory is read: HeapInuse and HeapAlloc from
/debug/vars (expvar memstats), goroutines from /debug/metrics/prometheus, VmRSS from /proc, and its
open file descriptors.

The first WARMUP_CYCLES cycles warm up (caches, pools, the datastore's memtable). Against the
sample taken then, over the rest of the run:
  - HeapInuse after GC may exceed it by at most HEAP_GROWTH_MAX at any sample, and the slope of a
    least-squares line through the samples may be at most HEAP_SLOPE_MAX per 100 cycles;
  - goroutines may exceed it by at most GOROUTINE_GROWTH_MAX and open fds by FD_GROWTH_MAX at the
    end (a leaked request goroutine or file handle adds one per cycle: hundreds);
  - the node's VmRSS may exceed it by at most RSS_GROWTH_MAX at the end (loose: Go returns freed
    memory to the OS lazily).
A cycle moves ~2.5 MiB through the node three times (add, cat, iptf.cat) plus a range, in 6 RPC
requests: keeping 1 % of those bytes (~75 KiB a cycle) rises 7.5 MiB per 100 cycles, keeping
4 KiB per request 2.3 MiB, both over HEAP_SLOPE_MAX. Measured without a leak: +0.4-0.6 MiB per
100 cycles (bounded caches filling: the blockstore's 2Q cache, leveldb's memtable). The slope is
only judged with at least MIN_FIT_SAMPLES samples after the warm-up (>= 180 cycles); README.md
has the numbers.
The node's heap profiles after GC, after the warm-up and at the end, are saved in
perf/results/leakcheck/node-cycles/; on failure the assertion message has their paths and
`go tool pprof -top -diff_base` of the two.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes
from leakutil import MiB, NodeDebug, pprof_top, proc_status, results_dir, slope, start_node, mib

CYCLES = int(os.environ.get("LEAKCHECK_NODE_CYCLES", "300"))
SAMPLE_EVERY = 20
WARMUP_CYCLES = 60
GC_EVERY = 100
MIN_FIT_SAMPLES = 6

# Bounds; README.md has the measurements they were chosen from.
HEAP_GROWTH_MAX = 8 * MiB        # node HeapInuse after GC, any later sample minus the warm-up sample
HEAP_SLOPE_MAX = 2 * MiB         # per 100 cycles, least squares over the samples after the warm-up
GOROUTINE_GROWTH_MAX = 32
FD_GROWTH_MAX = 16
RSS_GROWTH_MAX = 64 * MiB        # node VmRSS, last sample minus the warm-up sample
CLIENT_RSS_GROWTH_MAX = 64 * MiB  # this process (the iptf.cat caller), same


def cycle_file(folder: Path, i: int) -> tuple[Path, bytes]:
    size = (1 + i % 4) * MiB + (i * 4099) % 65536  # 1-4 MiB, not a multiple of the chunk size
    data = random_bytes(size, seed=7_000_000 + i)
    path = folder / f"cycle-{i}.bin"
    path.write_bytes(data)
    return path, data


@pytest.mark.timeout(1200)
def test_node_add_read_cycles_heap_stays_flat(node_repo: IptfRepo, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("IPTF_PATH", "IPTF_OFFLINE", "IPTF_IDLE_TIMEOUT"):
        monkeypatch.setenv(key, node_repo.env[key])  # the in-process Python API uses this repo
    import iptf

    monkeypatch.setattr(importlib.import_module("iptf.client"), "_current", None)  # no node cached from before
    out = results_dir("node-cycles")
    for old in out.iterdir():
        old.unlink()
    node = NodeDebug(node_repo.path, start_node(node_repo))
    assert iptf.node(refresh=True).pid == node.pid
    files = tmp_path / "files"
    files.mkdir()

    samples: list[dict] = []
    base_profile = b""
    pinned: list[str] = []
    t0 = time.monotonic()
    for i in range(1, CYCLES + 1):
        path, data = cycle_file(files, i)
        v1 = i % 4 >= 2
        if i % 2:
            cid = node_repo.out("add", "-Q", *(["--cid-version=1", "--raw-leaves"] if v1 else []), str(path))
        else:
            cid = iptf.add(path, cid_version=1, raw_leaves=True) if v1 else iptf.add(path)
            assert cid.startswith("iptf://ipfs/"), cid  # the API names content by URI
        pinned.append(cid)
        path.unlink()
        assert node_repo.run("cat", cid).stdout == data, f"cycle {i}: `iptf cat {cid}` differs"
        assert iptf.cat(cid) == data, f"cycle {i}: iptf.cat({cid}) differs"
        off, length = (i * 7919) % (len(data) // 2), 300_000
        uri = cid if cid.startswith("iptf://") else f"iptf://ipfs/{cid}"
        assert iptf.cat(uri, offset=off, length=length) == data[off:off + length]
        if i % GC_EVERY == 0:
            node_repo.run("pin", "rm", *pinned)
            node_repo.run("repo", "gc", "--quiet")
            pinned.clear()
        if i % SAMPLE_EVERY == 0:
            st = node.stats().row()
            st.update(cycle=i, seconds=round(time.monotonic() - t0, 1),
                      client_rss=proc_status(os.getpid())["VmRSS"])
            samples.append(st)
            if i == WARMUP_CYCLES:
                base_profile = node.heap_profile()
    elapsed = time.monotonic() - t0
    base_path, end_path = out / f"heap-cycle{WARMUP_CYCLES}.pb.gz", out / f"heap-cycle{CYCLES}.pb.gz"
    base_path.write_bytes(base_profile)
    end_path.write_bytes(node.heap_profile())

    base = next(s for s in samples if s["cycle"] == WARMUP_CYCLES)
    later = [s for s in samples if s["cycle"] > WARMUP_CYCLES]
    heap_growth = max(s["heap_inuse"] for s in later) - base["heap_inuse"]
    heap_slope = slope([s["cycle"] for s in later], [s["heap_inuse"] for s in later]) * 100
    alloc_slope = slope([s["cycle"] for s in later], [s["heap_alloc"] for s in later]) * 100
    last = samples[-1]
    goroutine_growth = last["goroutines"] - base["goroutines"]
    fd_growth = last["fds"] - base["fds"]
    rss_growth = last["rss"] - base["rss"]
    client_growth = last["client_rss"] - base["client_rss"]
    summary = {"cycles": CYCLES, "seconds": round(elapsed, 1), "heap_inuse_growth": heap_growth,
               "heap_inuse_slope_per_100": heap_slope, "heap_alloc_slope_per_100": alloc_slope,
               "goroutine_growth": goroutine_growth, "fd_growth": fd_growth, "rss_growth": rss_growth,
               "client_rss_growth": client_growth,
               "bounds": {"heap_inuse_growth": HEAP_GROWTH_MAX, "heap_inuse_slope_per_100": HEAP_SLOPE_MAX,
                          "goroutine_growth": GOROUTINE_GROWTH_MAX, "fd_growth": FD_GROWTH_MAX,
                          "rss_growth": RSS_GROWTH_MAX, "client_rss_growth": CLIENT_RSS_GROWTH_MAX},
               "samples": samples}
    (out / "measurements.json").write_text(json.dumps(summary, indent=1))
    print(f"\nnode: {CYCLES} add/read cycles in {elapsed:.0f} s ({elapsed / CYCLES * 1000:.0f} ms a cycle)")
    for s in samples:
        print(f"  cycle {s['cycle']:4d}: HeapInuse {mib(s['heap_inuse'])}, HeapAlloc {mib(s['heap_alloc'])}, "
              f"Sys {mib(s['sys'])}, RSS {mib(s['rss'])}, goroutines {s['goroutines']}, fds {s['fds']}, "
              f"client RSS {mib(s['client_rss'])}")
    print(f"  after cycle {WARMUP_CYCLES}: HeapInuse +{mib(heap_growth)} max, slope {mib(heap_slope)}/100 cycles "
          f"(HeapAlloc {mib(alloc_slope)}/100), goroutines {goroutine_growth:+d}, fds {fd_growth:+d}, "
          f"RSS {mib(rss_growth)}, client RSS {mib(client_growth)}; measurements in {out / 'measurements.json'}")

    failures = []
    if heap_growth > HEAP_GROWTH_MAX:
        failures.append(f"HeapInuse after GC grew {mib(heap_growth)} after cycle {WARMUP_CYCLES} "
                        f"(bound {mib(HEAP_GROWTH_MAX)})")
    if heap_slope > HEAP_SLOPE_MAX and len(later) >= MIN_FIT_SAMPLES:
        failures.append(f"HeapInuse after GC rises {mib(heap_slope)} per 100 cycles (bound {mib(HEAP_SLOPE_MAX)})")
    if goroutine_growth > GOROUTINE_GROWTH_MAX:
        gr = out / "goroutines.txt"
        gr.write_bytes(node.goroutines_text())
        failures.append(f"goroutines grew by {goroutine_growth} (bound {GOROUTINE_GROWTH_MAX}); stacks in {gr}")
    if fd_growth > FD_GROWTH_MAX:
        failures.append(f"open fds grew by {fd_growth} (bound {FD_GROWTH_MAX}); see /proc/{node.pid}/fd")
    if rss_growth > RSS_GROWTH_MAX:
        failures.append(f"node VmRSS grew {mib(rss_growth)} (bound {mib(RSS_GROWTH_MAX)})")
    if client_growth > CLIENT_RSS_GROWTH_MAX:
        failures.append(f"this process's VmRSS (the iptf.cat caller) grew {mib(client_growth)} "
                        f"(bound {mib(CLIENT_RSS_GROWTH_MAX)})")
    if failures:
        pytest.fail("the node's memory grows over add/read cycles:\n  " + "\n  ".join(failures)
                    + f"\nheap profiles after GC: {base_path} (after the warm-up), {end_path} (at the end)\n"
                    + f"go tool pprof -top -diff_base={base_path.name} {end_path.name}:\n"
                    + pprof_top(end_path, base=base_path)
                    + f"\nper-sample numbers: {out / 'measurements.json'}", pytrace=False)
