"""Load test of `iptf serve`: many clients reading random byte ranges of a few datasets.

  python perf/loadtest/run.py [--users 64] [--spawn-rate 32] [--run-time 60] [--max-requests 100000]

Starts an isolated node (its own IPTF_PATH in a temporary folder, offline) serving the trustless
gateway on 127.0.0.1 only, adds a few random files with CIDv1 (raw leaves), lists each file's
blocks once with `iptf-node refs` (checking every leaf's sha256 against the file), runs the locust
scenario perf/loadtest/locustfile.py headless as a subprocess, bounded in time and in requests,
and writes perf/results/loadtest-<timestamp>.json and perf/results/loadtest-latest.json: requests/s,
latency percentiles, failures, the node's RSS before and after (and its peak), machine and commit.
Exits non-zero if any request failed. Every process it starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "iptf" / "python" / "iptf" / "bin" / "iptf-node"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
RESULTS = ROOT / "perf" / "results"
CHUNK = 256 << 10

sys.path.insert(0, str(LOCUSTFILE.parent))
from cids import DAG_PB, RAW, cid_bytes, parse_cid  # noqa: E402


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=64, help="simulated clients (default 64)")
    p.add_argument("--spawn-rate", type=float, default=32, help="clients started per second (default 32)")
    p.add_argument("--run-time", type=int, default=60, help="seconds of load at most (default 60)")
    p.add_argument("--max-requests", type=int, default=100_000, help="requests at most (default 100000)")
    p.add_argument("--datasets", type=int, default=3, help="random files to serve (default 3)")
    p.add_argument("--min-mib", type=int, default=16, help="smallest dataset, MiB (default 16)")
    p.add_argument("--max-mib", type=int, default=64, help="largest dataset, MiB (default 64)")
    p.add_argument("--verify-sample", type=float, default=0.1,
                   help="fraction of responses whose bytes are checked (default 0.1)")
    p.add_argument("--seed", type=int, default=1, help="seed for the datasets' sizes and bytes")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the result JSON goes")
    p.add_argument("--node", type=Path, default=NODE, help="the iptf-node binary")
    return p.parse_args()


# ---- processes ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the process by its PID, SIGKILL it if it is still there after `grace` seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def no_proxy_env() -> dict[str, str]:
    """This environment without proxy settings: the load goes straight to 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# ---- facts for the result -------------------------------------------------------------------

def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return {"cpu_model": model or platform.processor(), "cores": os.cpu_count(),
            "memory_gib": round(mem_kib / (1 << 20), 1), "system": platform.system(),
            "release": platform.release(), "machine": platform.machine(), "node": platform.node(),
            "python": platform.python_version()}


def commit_info() -> dict:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""
    return {"id": git("rev-parse", "HEAD"), "time": git("show", "-s", "--format=%cI", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD")}


# ---- datasets ---------------------------------------------------------------------------------

def write_dataset(path: Path, size: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for start in range(0, size, 16 << 20):
            f.write(rng.randbytes(min(16 << 20, size - start)))


def block_list(node: list[str], env: dict, root: str, path: Path) -> dict:
    """The file's blocks in order (`refs -r`), every raw leaf checked against the file's bytes."""
    refs = subprocess.run([*node, "refs", "-r", "-u", root], env=env, capture_output=True, text=True,
                          check=True, timeout=120).stdout.split()
    size = path.stat().st_size
    leaves, nodes, offset = [], [root], 0
    with open(path, "rb") as f:
        for cid in refs:
            codec, _code, digest, _ = parse_cid(cid_bytes(cid))
            if codec == DAG_PB:
                nodes.append(cid)
                continue
            if codec != RAW:
                raise RuntimeError(f"{cid}: codec {codec:#x}, expected raw leaves")
            data = f.read(CHUNK)
            if hashlib.sha256(data).digest() != digest:
                raise RuntimeError(f"leaf {len(leaves)} ({cid}) does not match the file at offset {offset}")
            leaves.append({"cid": cid, "offset": offset, "size": len(data)})
            offset += len(data)
    if offset != size:
        raise RuntimeError(f"the leaves cover {offset} bytes of {size}")
    return {"root": root, "size": size, "path": str(path), "nodes": nodes, "leaves": leaves}


# ---- the run ----------------------------------------------------------------------------------

def summary_lines(result: dict) -> list[str]:
    s, n, m, c = result["locust"], result["node"], result["machine_info"], result["commit_info"]
    lat = s["latency_ms"]
    ds = result["datasets"]
    lines = [
        f"IPTF load test  {result['timestamp']}  commit {c['id'][:10]}{' (dirty)' if c['dirty'] else ''}",
        f"machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB",
        f"datasets: {len(ds)} files, " + ", ".join(f"{d['size'] / (1 << 20):.1f} MiB/{d['leaves']} leaves" for d in ds),
        f"load: {s['users']} clients, {s['duration_s']:.1f} s, stopped by {s['stop_reason']}",
        "",
        f"requests     {s['requests']:>9}   failures {s['failures']}",
        f"requests/s   {s['requests_per_s']:>9.1f}   {s['MBps']:.1f} MB/s of bodies",
        f"latency ms   p50 {lat['p50']:.1f}   p90 {lat['p90']:.1f}   p99 {lat['p99']:.1f}   max {lat['max']:.1f}",
        "",
        f"{'endpoint':<18}{'requests':>10}{'failures':>10}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}",
    ]
    for name, e in s["endpoints"].items():
        lines.append(f"{name:<18}{e['requests']:>10}{e['failures']:>10}{e['median_ms']:>11.0f}"
                     f"{e['p99_ms']:>9.0f}{e['max_ms']:>9.0f}")
    v = s["verified"]
    lines += [
        f"bytes checked: {v['raw block']} raw blocks (sha256 vs CID), {v['raw range']} ranges (vs file), "
        f"{v['car']} CARs (every block vs CID)",
        "",
        f"node RSS MiB: before {n['rss_before_kib'] / 1024:.0f}, after {n['rss_after_kib'] / 1024:.0f}, "
        f"peak{' under load' if n.get('rss_peak_is_load_only') else ''} {n['rss_peak_kib'] / 1024:.0f};  node CPU {n['cpu_seconds']:.1f} s "
        f"({100 * n['cpu_seconds'] / max(s['duration_s'], 1e-9):.0f}% of one core)",
    ]
    for err in s["errors"][:5]:
        lines.append(f"FAILED {err['occurrences']}x {err['name']}: {err['error'][:100]}")
    return lines


def main() -> int:
    args = arguments()
    if not args.node.exists():
        print(f"{args.node} is missing: run `make venv` first", file=sys.stderr)
        return 2
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or shutil.which("locust")
    if not locust:
        print("locust is not installed (pip install --group dev)", file=sys.stderr)
        return 2

    started = time.monotonic()
    stamp = dt.datetime.now(dt.timezone.utc)
    work = Path(tempfile.mkdtemp(prefix="iptf-loadtest-"))
    env = dict(os.environ, IPTF_PATH=str(work / "repo"), IPTF_OFFLINE="1", IPTF_AUTOSTART="0")
    env.pop("IPFS_PATH", None)
    node = [str(args.node)]
    serve = locust_proc = None
    try:
        subprocess.run([*node, "init", "--profile", "test"], env=env, capture_output=True, check=True, timeout=120)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with open(work / "serve.log", "wb") as serve_log:
            serve = subprocess.Popen([*node, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                                     stdout=serve_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while b"Daemon is ready" not in (work / "serve.log").read_bytes():
            if serve.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`iptf-node serve` did not come up:\n{(work / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.1)

        rng = random.Random(args.seed)
        datasets = []
        for i in range(args.datasets):
            size = rng.randint(args.min_mib << 20, args.max_mib << 20)
            path = work / f"dataset-{i}.bin"
            write_dataset(path, size, args.seed * 1000 + i)
            root = subprocess.run([*node, "add", "-Q", "--cid-version=1", str(path)], env=env,
                                  capture_output=True, text=True, check=True, timeout=300).stdout.strip()
            datasets.append(block_list(node, env, root, path))
        (work / "datasets.json").write_text(json.dumps({"datasets": datasets}))
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        with direct.open(f"{base}/ipfs/{datasets[0]['leaves'][0]['cid']}?format=raw", timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"the gateway answered {r.status}")
        setup_s = time.monotonic() - started

        # Reset the node's peak RSS (VmHWM) so that the peak is the load's, not the import's.
        try:
            Path(f"/proc/{serve.pid}/clear_refs").write_text("5")
            peak_reset = True
        except OSError:
            peak_reset = False
        before, cpu_before = proc_status(serve.pid), cpu_seconds(serve.pid)
        cmd = [locust, "-f", str(LOCUSTFILE), "--headless", "--only-summary",
               "-u", str(args.users), "-r", str(args.spawn_rate), "--run-time", f"{args.run_time}s",
               "--stop-timeout", "5", "--host", base, "--datasets", str(work / "datasets.json"),
               "--max-requests", str(args.max_requests), "--verify-sample", str(args.verify_sample),
               "--summary-file", str(work / "summary.json"), "--json-file", str(work / "locust-stats.json")]
        with open(work / "locust.log", "wb") as log:
            locust_proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=no_proxy_env())
            try:
                locust_proc.wait(args.run_time + 120)
            except subprocess.TimeoutExpired:
                stop(locust_proc, grace=15)
                raise RuntimeError("locust did not stop in time")
        after, cpu_after = proc_status(serve.pid), cpu_seconds(serve.pid)
        if not (work / "summary.json").exists():
            raise RuntimeError(f"locust wrote no summary (exit {locust_proc.returncode}):\n"
                               f"{(work / 'locust.log').read_text()[-3000:]}")
        summary = json.loads((work / "summary.json").read_text())
        if not alive(serve.pid):
            raise RuntimeError(f"the node died under load:\n{(work / 'serve.log').read_text()[-3000:]}")
    finally:
        if locust_proc is not None:
            stop(locust_proc, grace=15)
        if serve is not None:
            stop(serve)
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "kind": "iptf-loadtest",
        "version": 1,
        "timestamp": stamp.isoformat(timespec="seconds"),
        "machine_info": machine_info(),
        "commit_info": commit_info(),
        "config": {"users": args.users, "spawn_rate": args.spawn_rate, "run_time_s": args.run_time,
                   "max_requests": args.max_requests, "verify_sample": args.verify_sample,
                   "seed": args.seed, "locust": subprocess.run([locust, "--version"], capture_output=True,
                                                              text=True).stdout.split()[1]},
        "datasets": [{"root": d["root"], "size": d["size"], "leaves": len(d["leaves"]), "nodes": len(d["nodes"])}
                     for d in datasets],
        "requests": summary["requests"],
        "failures": summary["failures"],
        "requests_per_s": summary["requests_per_s"],
        "MBps": summary["MBps"],
        "latency_ms": summary["latency_ms"],
        "node": {"rss_before_kib": before["VmRSS"], "rss_after_kib": after["VmRSS"],
                 "rss_peak_kib": after["VmHWM"], "rss_peak_is_load_only": peak_reset,
                 "cpu_seconds": cpu_after - cpu_before},
        "locust": summary,
        "setup_s": setup_s,
        "wall_s": time.monotonic() - started,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    name = f"loadtest-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    text = json.dumps(result, indent=1)
    (args.results / name).write_text(text)
    (args.results / "loadtest-latest.json").write_text(text)
    print("\n".join(summary_lines(result)))
    print(f"\nwrote {args.results / name} (setup {setup_s:.0f} s, total {result['wall_s']:.0f} s)")
    if summary["failures"] or summary["requests"] == 0:
        print(f"LOAD TEST FAILED: {summary['failures']} failed requests of {summary['requests']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
