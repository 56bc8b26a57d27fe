"""TensorFlow streaming a multi-GiB dataset through iptf:// must not grow memory pass after pass.

A dataset of TFRecord shards (2.5 GiB by default, $LEAKCHECK_TF_GIB) is generated in 64 MiB
chunks, added with `iptf add -r` to an isolated offline repo, and deleted locally. A child process
(stream_child.py) imports TensorFlow, starts a memray Tracker with native traces (so TensorFlow's
and the iptf plugin's C++ allocations count, not only Python's) and streams every shard through
`tf.data.TFRecordDataset('iptf://ipfs/<cid>/shard-…')` PASSES times. The parent samples the
child's VmRSS from /proc/<pid>/status every 0.1 s, and the node's Go heap after a forced GC at
the end of every pass.

Passes 0 and 1 warm up (TensorFlow's kernels, thread pools and allocator settle). Over the
measured passes 2..PASSES-1, against the end of the warm-up:
  - the child's VmRSS at the end of the last pass may exceed it by at most RSS_GROWTH_MAX, and
    the slope of a least-squares line through the end-of-pass VmRSS at most RSS_SLOPE_MAX;
  - the heap memray tracked (live malloc/mmap bytes, Python and native) at the end of any pass
    may exceed it by at most HEAP_GROWTH_MAX;
  - the node's Go HeapInuse after GC may exceed its value after the warm-up by at most
    NODE_HEAP_GROWTH_MAX.
A pass reads the whole dataset, so leaking 0.1 % of the bytes read (one 256 KiB block in a
thousand) is 2.6 MiB a pass, 16 MiB over the measured passes: over the tracked-heap bound; 1 %
is 26 MiB a pass, over every bound. README.md has the measurements the bounds come from.

The child runs with MALLOC_ARENA_MAX=2 ($LEAKCHECK_MALLOC_ARENA_MAX; empty for glibc's default
of 8 per core). With glibc's default, TensorFlow's many threads spread allocations over many
arenas whose retained free memory creeps up for tens of passes (measured: +62 MiB of VmRSS over
14 passes while the tracked heap stayed at 3 MiB; flat with one arena): allocator retention, not
a leak, but it would drown one.

On failure a temporal leaks flame graph (memray flamegraph --temporal --leaks) is written and
its path is in the assertion message.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

memray = pytest.importorskip("memray")  # `make venv` installs it (pyproject's dev group)

from harness import IptfRepo
from leakutil import GiB, MiB, NodeDebug, RssSampler, mib, pprof_top, results_dir, slope, start_node

HERE = Path(__file__).resolve().parent
DATASET_BYTES = int(float(os.environ.get("LEAKCHECK_TF_GIB", "2.5")) * GiB)
SHARDS = 8
PASSES = int(os.environ.get("LEAKCHECK_TF_PASSES", "8"))
WARMUP = 2          # passes 0 and 1 warm up; the rest are measured
MALLOC_ARENA_MAX = os.environ.get("LEAKCHECK_MALLOC_ARENA_MAX", "2")
SEED = 20261124

# Bounds; README.md has the measurements they were chosen from.
RSS_GROWTH_MAX = 32 * MiB        # end of last pass minus end of warm-up, child VmRSS
RSS_SLOPE_MAX = 4 * MiB          # per pass, least squares over the ends of the measured passes
HEAP_GROWTH_MAX = 8 * MiB        # memray-tracked live heap, any measured pass end minus warm-up end
NODE_HEAP_GROWTH_MAX = 32 * MiB  # node HeapInuse after GC, any measured pass end minus warm-up end


def generate(out: Path, env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "make_tfrecords.py"), str(out), str(DATASET_BYTES),
                           str(SHARDS), str(SEED)], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, f"generating the dataset failed: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_markers(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def memray_heap_at(snapshots: list, wall_ms: float) -> int:
    """The tracked heap in the last memray memory snapshot taken at or before wall_ms."""
    before = [s for s in snapshots if s.time <= wall_ms]
    return (before[-1] if before else snapshots[0]).heap


def short(fn: str, file: str, line: int) -> str:
    """A frame for a one-line stack: C++ names without their argument lists."""
    name = fn.replace("(anonymous namespace)", "{anon}")
    name = name.split("(", 1)[0] if "(" in name and not name.startswith("(") else name
    where = f"{Path(file).name}:{line}" if file and file != "<unknown>" else ""
    return f"{name[:90]} ({where})" if where else name[:90]


def leak_report(capture: Path, out: Path) -> str:
    """Writes the temporal leaks flame graph of the capture; returns its path and the largest
    allocations still live when tracking stopped, by stack."""
    html = out / "flamegraph-leaks.html"
    proc = subprocess.run([sys.executable, "-m", "memray", "flamegraph", "--temporal", "--leaks", "--no-web", "-f",
                           "-o", str(html), str(capture)], capture_output=True, text=True, timeout=600)
    lines = [f"flame graph: {html}" if proc.returncode == 0 else f"memray flamegraph failed: {proc.stderr[-500:]}",
             "largest allocations live at the end of tracking (size, count, innermost frames):"]
    reader = memray.FileReader(str(capture))
    records = sorted(reader.get_leaked_allocation_records(merge_threads=True), key=lambda r: r.size, reverse=True)
    for rec in records[:8]:
        try:
            frames = rec.hybrid_stack_trace(max_stacks=5)
        except NotImplementedError:
            frames = rec.stack_trace(max_stacks=5)
        where = " <- ".join(short(fn, file, line) for fn, file, line in frames) or "?"
        lines.append(f"  {mib(rec.size)} in {rec.n_allocations}: {where}")
    return "\n".join(lines)


@pytest.mark.timeout(1500)
def test_tf_streaming_memory_stays_flat(node_repo: IptfRepo, tmp_path: Path) -> None:
    assert PASSES >= WARMUP + 2, f"LEAKCHECK_TF_PASSES must be at least {WARMUP + 2}"
    free = shutil.disk_usage(tmp_path).free
    need = 2 * DATASET_BYTES + 2 * GiB  # the local shards and the repo's copy exist at once
    if free < need:
        pytest.skip(f"leakcheck needs {need / GiB:.1f} GiB free in {tmp_path} for a "
                    f"{DATASET_BYTES / GiB:.1f} GiB dataset; {free / GiB:.1f} GiB free (set LEAKCHECK_TF_GIB)")
    out = results_dir("tf-streaming")
    for old in out.iterdir():
        old.unlink()
    env = dict(node_repo.env, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    child_env = dict(env, MALLOC_ARENA_MAX=MALLOC_ARENA_MAX) if MALLOC_ARENA_MAX else env

    t0 = time.monotonic()
    data = tmp_path / "data"
    data.mkdir()
    meta = generate(data, env)
    t_gen = time.monotonic() - t0
    cid = node_repo.out("add", "-r", "-Q", str(data), timeout=900)
    shutil.rmtree(data)  # the repo holds the only copy now
    t_add = time.monotonic() - t0 - t_gen
    node = NodeDebug(node_repo.path, start_node(node_repo))

    capture, markers = out / "stream.bin", out / "markers.jsonl"
    pattern = f"iptf://ipfs/{cid}/shard-*.tfrecord"
    node_at_pass_end: dict[int, dict] = {}
    node_base_profile = b""

    def sample_node() -> None:
        """The node's memory after GC at each pass end the child has marked (while it streams on)."""
        nonlocal node_base_profile
        for m in read_markers(markers):
            if m["event"] == "pass_end" and m["index"] not in node_at_pass_end:
                node_at_pass_end[m["index"]] = node.stats().row()
                if m["index"] == WARMUP - 1:
                    node_base_profile = node.heap_profile()

    with open(out / "child.log", "wb") as log:
        child = subprocess.Popen([sys.executable, str(HERE / "stream_child.py"), pattern, str(PASSES), str(markers),
                                  str(capture)], stdout=log, stderr=subprocess.STDOUT, env=child_env)
        try:
            with RssSampler([child.pid, node.pid]) as sampler:
                deadline = time.monotonic() + 1200
                while child.poll() is None and time.monotonic() < deadline:
                    sample_node()
                    time.sleep(0.2)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
    sample_node()  # a pass that ended just before the child exited
    log_tail = (out / "child.log").read_text(errors="replace")[-3000:]
    assert child.returncode == 0, f"the streaming child exited {child.returncode}:\n{log_tail}"

    events = read_markers(markers)
    starts = {m["index"]: m for m in events if m["event"] == "pass_start"}
    ends = {m["index"]: m for m in events if m["event"] == "pass_end"}
    assert sorted(ends) == list(range(PASSES)), f"passes finished: {sorted(ends)}\n{log_tail}"
    for i, m in ends.items():
        assert (m["records"], m["payload_bytes"]) == (meta["records"], meta["payload_bytes"]), f"pass {i} read {m}"

    snapshots = list(memray.FileReader(str(capture)).get_memory_snapshots())
    passes = []
    for i in range(PASSES):
        during = sampler.of(child.pid, starts[i]["t"], ends[i]["t"])
        assert during, f"no RSS sample during pass {i}"
        passes.append({
            "pass": i,
            "seconds": round(ends[i]["seconds"], 2),
            "MBps": round(DATASET_BYTES / ends[i]["seconds"] / 1e6),
            "rss_end": during[-1].rss,
            "rss_peak": max(s.rss for s in during),
            "anon_end": during[-1].anon,
            "file_end": during[-1].file,
            "tracked_heap_end": memray_heap_at(snapshots, ends[i]["wall"] * 1000),
            "node": node_at_pass_end.get(i, {}),
        })
    base, measured = passes[WARMUP - 1], passes[WARMUP:]
    rss_growth = measured[-1]["rss_end"] - base["rss_end"]
    rss_slope = slope([p["pass"] for p in measured], [p["rss_end"] for p in measured])
    heap_growth = max(p["tracked_heap_end"] for p in measured) - base["tracked_heap_end"]
    node_growth = max(p["node"]["heap_inuse"] for p in measured) - base["node"]["heap_inuse"]
    node_samples = sampler.of(node.pid)
    summary = {
        "dataset_bytes": DATASET_BYTES, "records": meta["records"], "shards": SHARDS, "cid": cid,
        "malloc_arena_max": MALLOC_ARENA_MAX, "generate_s": round(t_gen, 1), "add_s": round(t_add, 1),
        "child_rss_at_first_pass": starts[0]["rss_kib"] * 1024,
        "rss_growth": rss_growth, "rss_slope_per_pass": rss_slope, "tracked_heap_growth": heap_growth,
        "node_heap_inuse_growth": node_growth, "node_rss_peak": max(s.rss for s in node_samples),
        "memray_peak_heap": memray.FileReader(str(capture)).metadata.peak_memory,
        "bounds": {"rss_growth": RSS_GROWTH_MAX, "rss_slope": RSS_SLOPE_MAX,
                   "tracked_heap_growth": HEAP_GROWTH_MAX, "node_heap_inuse_growth": NODE_HEAP_GROWTH_MAX},
        "passes": passes,
    }
    (out / "measurements.json").write_text(json.dumps(summary, indent=1))
    print(f"\nTF streaming {DATASET_BYTES / GiB:.1f} GiB x {PASSES} passes "
          f"(generate {t_gen:.0f} s, add {t_add:.0f} s):")
    for p in passes:
        print(f"  pass {p['pass']}: {p['seconds']:.1f} s ({p['MBps']} MB/s)  child RSS end {mib(p['rss_end'])} "
              f"(anon {mib(p['anon_end'])}, file {mib(p['file_end'])}) peak {mib(p['rss_peak'])}  "
              f"memray heap {mib(p['tracked_heap_end'])}  node HeapInuse {mib(p['node']['heap_inuse'])} "
              f"RSS {mib(p['node']['rss'])} goroutines {p['node']['goroutines']} fds {p['node']['fds']}")
    print(f"  growth after warm-up: child RSS {mib(rss_growth)} (slope {mib(rss_slope)}/pass), memray heap "
          f"{mib(heap_growth)}, node HeapInuse {mib(node_growth)}; measurements in {out / 'measurements.json'}")

    failures = []
    if rss_growth > RSS_GROWTH_MAX:
        failures.append(f"child VmRSS grew {mib(rss_growth)} after the warm-up passes (bound {mib(RSS_GROWTH_MAX)})")
    if rss_slope > RSS_SLOPE_MAX:
        failures.append(f"child VmRSS slope {mib(rss_slope)}/pass over passes {WARMUP}-{PASSES - 1} "
                        f"(bound {mib(RSS_SLOPE_MAX)}/pass)")
    if heap_growth > HEAP_GROWTH_MAX:
        failures.append(f"memray-tracked heap grew {mib(heap_growth)} (bound {mib(HEAP_GROWTH_MAX)})")
    if node_growth > NODE_HEAP_GROWTH_MAX:
        base_prof, prof = out / "node-heap-warmup.pb.gz", out / "node-heap-end.pb.gz"
        base_prof.write_bytes(node_base_profile)
        prof.write_bytes(node.heap_profile())
        failures.append(f"node HeapInuse after GC grew {mib(node_growth)} (bound {mib(NODE_HEAP_GROWTH_MAX)}); "
                        f"heap profiles {base_prof} (after the warm-up), {prof} (at the end); "
                        f"go tool pprof -top -diff_base:\n{pprof_top(prof, base=base_prof)}")
    if failures:
        pytest.fail("memory grows while streaming:\n  " + "\n  ".join(failures) + "\n" + leak_report(capture, out)
                    + f"\nper-pass numbers: {out / 'measurements.json'}", pytrace=False)
