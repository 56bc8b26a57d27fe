"""Measuring memory for the leak checks: /proc sampling, the node's Go memory statistics over its
Unix socket, linear fits, and where reports go."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20
GiB = 1 << 30
ROOT = Path(__file__).resolve().parents[2]


def results_dir(name: str) -> Path:
    """Where a check leaves its measurements and, on failure, its flame graph or heap profiles:
    $LEAKCHECK_OUT/<name>, else perf/results/leakcheck/<name> (git-ignored)."""
    base = Path(os.environ.get("LEAKCHECK_OUT") or ROOT / "perf" / "results" / "leakcheck")
    out = base / name
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---- /proc -------------------------------------------------------------------------------

def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, VmHWM (bytes) and Threads of a process; {} once it is gone."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    out[key] = int(value.split()[0]) * 1024
                elif key == "Threads":
                    out[key] = int(value)
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return out


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


@dataclass
class Sample:
    t: float  # CLOCK_MONOTONIC, the same clock in every process on the machine
    pid: int
    rss: int
    anon: int
    file: int


@dataclass
class RssSampler:
    """Samples the resident memory of some processes from /proc/<pid>/status every `interval`
    seconds, in a background thread, until stopped (or until all of them are gone)."""

    pids: list[int]
    interval: float = 0.1
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            alive = False
            for pid in self.pids:
                st = proc_status(pid)
                if "VmRSS" in st:  # a zombie has none
                    alive = True
                    self.samples.append(Sample(time.monotonic(), pid, st["VmRSS"], st.get("RssAnon", 0),
                                               st.get("RssFile", 0)))
            if not alive:
                return
            self._stop.wait(self.interval)

    def of(self, pid: int, start: float = float("-inf"), end: float = float("inf")) -> list[Sample]:
        return [s for s in self.samples if s.pid == pid and start <= s.t <= end]


# ---- fits --------------------------------------------------------------------------------

def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def mib(n: float) -> str:
    return f"{n / MiB:.1f} MiB"


# ---- the node's Go runtime, over its Unix socket -------------------------------------------

class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass
class GoStats:
    """The node's Go memory after a forced GC, its RSS and its open file descriptors."""

    heap_inuse: int     # runtime.MemStats.HeapInuse: bytes in in-use spans
    heap_alloc: int     # runtime.MemStats.HeapAlloc: bytes of live objects (after the GC)
    heap_objects: int
    sys: int            # runtime.MemStats.Sys: everything the Go runtime got from the OS
    goroutines: int     # go_goroutines (Prometheus)
    rss: int
    fds: int

    def row(self) -> dict:
        return self.__dict__.copy()


class NodeDebug:
    """kubo's debug endpoints on the RPC API: /debug/pprof (pprof), /debug/vars (expvar with
    `memstats`) and /debug/metrics/prometheus, reached over the repo's api.sock."""

    def __init__(self, repo: Path, pid: int) -> None:
        self.socket = str(repo / "api.sock")
        self.pid = pid

    def get(self, path: str, timeout: float = 60) -> bytes:
        conn = _UnixHTTP(self.socket, timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"GET {path} on {self.socket}: HTTP {resp.status}: {body[:200]!r}")
        return body

    def heap_profile(self) -> bytes:
        """A heap profile (gzipped protobuf) taken right after a forced GC."""
        return self.get("/debug/pprof/heap?gc=1")

    def prometheus(self) -> dict[str, float]:
        text = self.get("/debug/metrics/prometheus").decode()
        out = {}
        for m in re.finditer(r"^(go_[a-z_]+) ([0-9.e+-]+)$", text, re.M):
            out[m.group(1)] = float(m.group(2))
        return out

    def stats(self) -> GoStats:
        """Forces a GC (the heap profile endpoint's gc=1), then reads expvar's memstats."""
        self.heap_profile()
        mem = json.loads(self.get("/debug/vars"))["memstats"]
        prom = self.prometheus()
        st = proc_status(self.pid)
        return GoStats(heap_inuse=mem["HeapInuse"], heap_alloc=mem["HeapAlloc"], heap_objects=mem["HeapObjects"],
                       sys=mem["Sys"], goroutines=int(prom.get("go_goroutines", -1)), rss=st.get("VmRSS", 0),
                       fds=open_fds(self.pid))

    def goroutines_text(self) -> bytes:
        return self.get("/debug/pprof/goroutine?debug=1")


def start_node(repo) -> int:
    """Starts an IptfRepo's node (any node command does) and returns its PID."""
    repo.run("id")
    info = repo.status()
    if info is None:
        raise RuntimeError(f"no node runs for {repo.path}")
    return int(info["Pid"])


def pprof_top(profile: Path, base: Path | None = None, nodes: int = 20) -> str:
    """`go tool pprof -top` of a heap profile (as a diff against `base` when given), or why not."""
    go = shutil.which("go")
    if go is None:
        return "(no `go` on PATH for `go tool pprof -top`)"
    cmd = [go, "tool", "pprof", "-top", f"-nodecount={nodes}", "-sample_index=inuse_space"]
    if base is not None:
        cmd.append(f"-diff_base={base}")
    cmd.append(str(profile))
    with tempfile.TemporaryDirectory() as cwd:  # outside any go.mod: no toolchain switch
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120, check=False,
                              env=dict(os.environ, GOTOOLCHAIN="local", GOFLAGS=""))
    return (proc.stdout or proc.stderr).strip()
