"""A network test bed made of Linux network namespaces, and IPTF nodes that live in it.

Layout of one bed (every name carries a random suffix, so parallel beds never clash):

    namespace iptf<sfx>b:  bridge br0, ports v0..v{N-1}           (no address, no route)
    namespace iptf<sfx>h<i>: eth0 = peer of v<i>, 10.231.X.(i+2)/24, lo up, optional tbf

Every veth is created inside the bridge namespace with its peer placed straight into its host
namespace, so nothing ever appears in the root namespace; no namespace has a default route, a
link to a real interface or NAT: traffic can only go between the bed's own hosts.

    with TestBed(3, rate_mbit=[80, 80, None]) as bed:
        a, b = bed.iptf(0, tmp / "a"), bed.iptf(1, tmp / "b")
        b.connect(a)
        assert b.cmd("cat", a.add(path)) == path.read_bytes()

Leaving the `with` block (also on error) stops every daemon and deletes every namespace, which
deletes the veths and the bridge with them.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

IP = shutil.which("ip") or "/usr/sbin/ip"
TC = shutil.which("tc") or "/usr/sbin/tc"
NODE_BINARY = os.environ.get("IPTF_NODE_BINARY") or str(
    Path(__file__).resolve().parents[2] / "iptf" / "bin" / "iptf-node")
SWARM_PORT = 4001
# Variables that must not leak from the test's environment into a bed's nodes.
_DROP_ENV = ("IPFS_PATH", "IPTF_OFFLINE", "IPTF_ON_DEMAND", "IPTF_PATH", "IPTF_AUTOSTART")


class NetnsError(RuntimeError):
    """A command that sets up or drives the bed failed."""


def netns_unavailable() -> str | None:
    """Why this process cannot build beds (None when it can): needs root, ip, tc and netns."""
    if os.geteuid() != 0:
        return "network-namespace tests need root (ip netns add)"
    for tool in (IP, TC):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (install iproute2)"
    if not os.access(NODE_BINARY, os.X_OK):
        return f"the node binary is missing at {NODE_BINARY} (run `make venv`)"
    probe = f"iptfprobe{secrets.token_hex(3)}"
    try:
        add = subprocess.run([IP, "netns", "add", probe], capture_output=True, text=True, timeout=15)
        if add.returncode != 0:
            return f"`ip netns add` failed: {add.stderr.strip()}"
        up = subprocess.run([IP, "-n", probe, "link", "set", "lo", "up"], capture_output=True, text=True,
                            timeout=15)
        if up.returncode != 0:
            return f"cannot configure a new network namespace: {up.stderr.strip()}"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`ip netns` unusable: {e}"
    finally:
        subprocess.run([IP, "netns", "del", probe], capture_output=True, timeout=15)
    return None


def require_netns() -> None:
    """pytest.skip with the reason when network namespaces cannot be used here."""
    reason = netns_unavailable()
    if reason:
        import pytest

        pytest.skip(reason)


def _run(argv: Sequence[str], *, timeout: float = 30, check: bool = True, input: bytes | None = None,
         env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(list(argv), capture_output=True, input=input, timeout=timeout, check=False,
                          env=None if env is None else dict(env))
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}")
    return proc


def run_in(ns: str | None, argv: Sequence[str], env: Mapping[str, str] | None = None, *, timeout: float = 60,
           check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run argv inside network namespace ns (None: the root namespace) and wait for it."""
    prefix = [IP, "netns", "exec", ns] if ns else []
    return _run([*prefix, *argv], timeout=timeout, check=check, input=input, env=env)


def popen_in(ns: str | None, argv: Sequence[str], env: Mapping[str, str] | None = None,
             **kwargs) -> subprocess.Popen:
    """Start argv inside ns. `ip netns exec` execs in place, so the PID is argv's own."""
    prefix = [IP, "netns", "exec", ns] if ns else []
    return subprocess.Popen([*prefix, *argv], env=None if env is None else dict(env), **kwargs)


def stop_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after grace seconds; reaps the process."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    """Poll predicate until true; raise TimeoutError naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Host:
    """One host namespace of a bed: its interface eth0 is a port of the bed's bridge."""

    index: int
    ns: str
    addr: str
    rate_mbit: float | None = None
    dev: str = "eth0"


# A receiver and a sender for measuring a link's rate (run inside namespaces).
_RECEIVER = r"""
import json, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(float(sys.argv[3]))
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(float(sys.argv[3]))
first = last = None; total = first_len = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    now = time.perf_counter()
    if first is None: first, first_len = now, len(b)
    last = now; total += len(b)
print(json.dumps({"bytes": total, "timed_bytes": total - first_len, "seconds": (last or 0) - (first or 0)}))
"""
_SENDER = r"""
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5); break
    except OSError:
        if time.monotonic() > deadline: raise
        time.sleep(0.05)
chunk = b"\0" * (1 << 16); left = int(sys.argv[3])
while left > 0:
    c.sendall(chunk[:left]); left -= len(chunk)
c.close()
"""


@dataclass
class TestBed:
    """A bridge namespace and `hosts_count` host namespaces on it; a context manager that cleans up.

    rate_mbit: one egress limit for every host, or one per host (None: unlimited).
    """

    __test__ = False  # not a pytest class

    hosts_count: int
    rate_mbit: float | None | Sequence[float | None] = None
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    subnet: int = field(default_factory=lambda: random.randint(0, 255))
    hosts: list[Host] = field(default_factory=list, init=False)
    nodes: list["IptfHost"] = field(default_factory=list, init=False)
    _namespaces: list[str] = field(default_factory=list, init=False)

    @property
    def bridge_ns(self) -> str:
        return f"iptf{self.suffix}b"

    @property
    def prefix(self) -> str:
        """The bed's /24, e.g. 10.231.17.0/24."""
        return f"10.231.{self.subnet}.0/24"

    def __enter__(self) -> "TestBed":
        try:
            self.setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _add_ns(self, name: str) -> None:
        _run([IP, "netns", "add", name])
        self._namespaces.append(name)
        _run([IP, "-n", name, "link", "set", "lo", "up"])

    def setup(self) -> None:
        rates = (list(self.rate_mbit) if isinstance(self.rate_mbit, Sequence)
                 else [self.rate_mbit] * self.hosts_count)
        if len(rates) != self.hosts_count:
            raise ValueError("rate_mbit needs one entry per host")
        br = self.bridge_ns
        self._add_ns(br)
        _run([IP, "-n", br, "link", "add", "br0", "type", "bridge"])
        _run([IP, "-n", br, "link", "set", "br0", "up"])
        for i, rate in enumerate(rates):
            host = Host(index=i, ns=f"iptf{self.suffix}h{i}", addr=f"10.231.{self.subnet}.{i + 2}", rate_mbit=rate)
            self._add_ns(host.ns)
            # Made in the bridge namespace with the peer placed straight into the host's:
            # the pair never exists in the root namespace.
            _run([IP, "-n", br, "link", "add", f"v{i}", "type", "veth", "peer", "name", host.dev,
                  "netns", host.ns])
            _run([IP, "-n", br, "link", "set", f"v{i}", "master", "br0", "up"])
            _run([IP, "-n", host.ns, "addr", "add", f"{host.addr}/24", "dev", host.dev])
            _run([IP, "-n", host.ns, "link", "set", host.dev, "up"])
            # Multicast (mDNS) leaves through eth0; there is no default route.
            _run([IP, "-n", host.ns, "route", "add", "224.0.0.0/4", "dev", host.dev])
            if rate:
                run_in(host.ns, [TC, "qdisc", "add", "dev", host.dev, "root", "tbf", "rate", f"{rate:g}mbit",
                                 "burst", f"{burst_kbit(rate):g}kbit", "latency", "400ms"])
            self.hosts.append(host)

    def close(self) -> None:
        """Stop every node, end whatever still runs in the bed's namespaces, delete them."""
        for node in reversed(self.nodes):
            try:
                node.stop()
            except Exception as e:  # keep tearing down
                print(f"netns: stopping {node.repo}: {e}", file=sys.stderr)
        for ns in self._namespaces:
            # Only processes this bed started can live in its namespaces.
            pids = _run([IP, "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for ns in reversed(self._namespaces):
            _run([IP, "netns", "del", ns], check=False)
        self._namespaces.clear()

    def namespaces(self) -> list[str]:
        return list(self._namespaces)

    def iptf(self, index: int, repo: Path, *, mdns: bool = False, start: bool = True,
             config: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None) -> "IptfHost":
        """An IPTF node for host index with its repo at repo (made fresh), started unless start=False.
        config: extra settings by dotted key (e.g. {"Internal.Bitswap.EngineTaskWorkerCount": 16});
        env: extra environment for the daemon (e.g. GOLOG_LOG_LEVEL)."""
        node = IptfHost(self.hosts[index], repo, mdns=mdns, config=config, env=env)
        self.nodes.append(node)
        node.init()
        if start:
            node.start()
        return node

    def measure_mbit(self, senders: Iterable[int], receiver: int, seconds: float = 0.6,
                     timeout: float = 30) -> dict[int, float]:
        """Send from each sender to receiver at once (one TCP stream each, sized for `seconds` at
        the sender's limit, 8 MB when unlimited) and return the goodput the receiver saw, in Mbit/s."""
        dst = self.hosts[receiver]
        recvs: dict[int, subprocess.Popen] = {}
        sends: list[subprocess.Popen] = []
        try:
            for s in senders:
                port = 5201 + s
                recvs[s] = popen_in(dst.ns, [sys.executable, "-c", _RECEIVER, dst.addr, str(port), str(timeout)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for s, proc in recvs.items():
                if proc.stdout.readline().strip() != "listening":
                    raise NetnsError(f"rate receiver failed: {proc.stderr.read()}")
            for s in recvs:
                rate = self.hosts[s].rate_mbit
                size = int(rate * 1e6 / 8 * seconds) if rate else 8 << 20
                sends.append(popen_in(self.hosts[s].ns, [sys.executable, "-c", _SENDER, dst.addr,
                                                         str(5201 + s), str(size)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            result = {}
            for s, proc in recvs.items():
                out, err = proc.communicate(timeout=timeout)
                if proc.returncode != 0:
                    raise NetnsError(f"rate receiver failed: {err}")
                r = json.loads(out.strip().splitlines()[-1])
                result[s] = r["timed_bytes"] * 8 / r["seconds"] / 1e6 if r["seconds"] > 0 else float("inf")
            for proc in sends:
                proc.wait(timeout=timeout)
            return result
        finally:
            for proc in [*recvs.values(), *sends]:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)

    def check_rates(self, senders: Iterable[int], receiver: int, low: float = 0.7, high: float = 1.15) -> dict[int, float]:
        """Measure and assert that each limited sender gets between low and high times its limit."""
        measured = self.measure_mbit(senders, receiver)
        for s, mbit in measured.items():
            rate = self.hosts[s].rate_mbit
            if rate and not (low * rate <= mbit <= high * rate):
                raise NetnsError(f"host {s}: measured {mbit:.1f} Mbit/s through a {rate:g} Mbit/s limit")
        return measured


def burst_kbit(rate_mbit: float) -> float:
    """The token bucket of a link limited to rate_mbit: a millisecond of its rate, at least 32 kbit.
    A bucket smaller than the packets the veth hands over (segmentation offload makes them up to
    64 KiB) makes the kernel cut each packet up to send it, which on a fast link costs the shared
    cores more than the nodes under test spend; a switch port or NIC does not cost the hosts that."""
    return max(32.0, rate_mbit)


def node_env(repo: Path) -> dict[str, str]:
    """The environment of a bed node and of clients that drive it from the root namespace."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env.update(IPTF_PATH=str(repo), IPTF_AUTOSTART="0")
    return env


class IptfHost:
    """An IPTF node (its repo, config and foreground daemon) living in one host namespace.

    Commands run in the root namespace and reach the daemon through the Unix socket in its repo
    (the filesystem is shared between network namespaces).
    """

    def __init__(self, host: Host, repo: Path, *, mdns: bool = False,
                 config: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.repo = Path(repo)
        self.mdns = mdns
        self.extra_config = dict(config or {})
        self.env = node_env(self.repo)
        self.daemon_env = {**self.env, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self._peer_id: str | None = None
        self._log = None

    def __repr__(self) -> str:
        return f"IptfHost({self.host.ns}, {self.host.addr})"

    @property
    def addr(self) -> str:
        return self.host.addr

    def run(self, *args: str, timeout: float = 120, check: bool = True, input: bytes | None = None,
            stdout=None) -> subprocess.CompletedProcess[bytes]:
        """Run `iptf-node args` against this node from the root namespace."""
        if stdout is None:
            return _run([NODE_BINARY, *args], timeout=timeout, check=check, input=input, env=self.env)
        proc = subprocess.run([NODE_BINARY, *args], stdout=stdout, stderr=subprocess.PIPE, input=input,
                              timeout=timeout, env=self.env, check=False)
        if check and proc.returncode != 0:
            raise NetnsError(f"iptf-node {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode().strip()}")
        return proc

    def cmd(self, *args: str, timeout: float = 120, input: bytes | None = None) -> bytes:
        """Stdout of `iptf-node args`; raises NetnsError when it fails."""
        return self.run(*args, timeout=timeout, input=input).stdout

    def init(self) -> None:
        """Create the repo (profile test) and configure it for the bed: swarm on the host's
        address only, no bootstrap, no routing, no relay/NAT traversal, mDNS as asked."""
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        self.run("init", "--profile", "test")
        cfg = json.loads(self.cmd("config", "show"))
        cfg["Addresses"]["Swarm"] = [f"/ip4/{self.addr}/tcp/{SWARM_PORT}"]
        cfg["Bootstrap"] = []
        cfg["Discovery"]["MDNS"]["Enabled"] = self.mdns
        cfg["Routing"]["Type"] = "none"
        swarm = cfg["Swarm"]
        swarm["DisableNatPortMap"] = True
        swarm["EnableHolePunching"] = False
        swarm["RelayClient"]["Enabled"] = False
        swarm["RelayService"]["Enabled"] = False
        cfg["AutoNAT"]["ServiceMode"] = "disabled"
        for dotted, value in self.extra_config.items():
            where = cfg
            *path, last = dotted.split(".")
            for key in path:
                where = where.setdefault(key, {})
            where[last] = value
        new = self.repo / "config.bed.json"
        new.write_text(json.dumps(cfg))
        self.run("config", "replace", str(new))
        new.unlink()

    def start(self, timeout: float = 60) -> None:
        """Start `iptf-node daemon` in the host's namespace and wait for "Daemon is ready"."""
        log_path = self.repo / "daemon.log"
        self._log = open(log_path, "wb")
        self.proc = popen_in(self.host.ns, [NODE_BINARY, "daemon"], env=self.daemon_env, stdout=self._log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.repo)

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise NetnsError(f"daemon in {self.host.ns} exited {self.proc.returncode}: {self.log()[-2000:]}")
            return b"Daemon is ready" in log_path.read_bytes()

        try:
            wait_for(ready, timeout, what=f"the daemon in {self.host.ns}")
        except TimeoutError as e:
            raise NetnsError(f"{e}; log: {self.log()[-2000:]}") from None

    def log(self) -> str:
        try:
            return (self.repo / "daemon.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def peer_id(self) -> str:
        if self._peer_id is None:
            self._peer_id = self.cmd("id", "-f", "<id>").decode().strip()
        return self._peer_id

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{self.addr}/tcp/{SWARM_PORT}/p2p/{self.peer_id}"

    def add(self, path: Path, *args: str, timeout: float = 120) -> str:
        """`add -Q` (recursive for a directory): the root CID."""
        flags = ["-r"] if Path(path).is_dir() else []
        return self.cmd("add", "-Q", *flags, *args, str(path), timeout=timeout).decode().strip()

    def fetch(self, cid: str, dest: Path, timeout: float = 120) -> float:
        """`cat cid > dest`; returns the seconds it took."""
        with open(dest, "wb") as out:
            start = time.perf_counter()
            self.run("cat", cid, stdout=out, timeout=timeout)
            return time.perf_counter() - start

    def local_refs(self) -> set[str]:
        """CIDs of the blocks in this node's own blockstore (as `refs local` prints them: CIDv1
        raw, since the blockstore is keyed by multihash)."""
        return set(self.cmd("refs", "local", timeout=60).decode().split())

    def has_local(self, cid: str) -> bool:
        """Whether this node's blockstore holds the block of cid (never fetches)."""
        raw = self.cmd("cid", "format", "-v", "1", "--mc", "raw", "-b", "base32", cid).decode().strip()
        return raw in self.local_refs()

    def connect(self, other: "IptfHost", timeout: float = 30) -> None:
        self.cmd("swarm", "connect", other.multiaddr, timeout=timeout)

    def peers(self) -> set[str]:
        """Peer IDs this node is connected to."""
        out = self.cmd("swarm", "peers", timeout=30).decode().split()
        return {line.rsplit("/p2p/", 1)[-1] for line in out if "/p2p/" in line}

    def wait_peers(self, others: Iterable["IptfHost"], timeout: float = 30) -> None:
        want = {o.peer_id for o in others}
        wait_for(lambda: want <= self.peers(), timeout, interval=0.2, what=f"{self} to see peers {want}")


@dataclass
class Fetch:
    """One timed fetch by a fresh client from some providers."""

    providers: int
    seconds: float
    size: int

    @property
    def mb_per_s(self) -> float:
        return self.size / self.seconds / 1e6


def fresh_client(bed: TestBed, index: int, repo: Path, providers: Sequence[IptfHost]) -> IptfHost:
    """A new node on host index, connected to providers (and only them)."""
    client = bed.iptf(index, repo)
    for p in providers:
        client.connect(p)
    client.wait_peers(providers)
    return client


def check_fetch(client: IptfHost, providers: Sequence[IptfHost], out: Path, expected: Path) -> None:
    """Assert out holds expected's bytes, the client met no peer but providers and dropped none
    of them (they are honest); deletes out."""
    try:
        if not (out.stat().st_size == expected.stat().st_size and _same_bytes(out, expected)):
            raise AssertionError(f"{client} fetched bytes that differ from {expected}")
    finally:
        out.unlink(missing_ok=True)
    stray = client.peers() - {p.peer_id for p in providers}
    if stray:
        raise AssertionError(f"{client} reached peers it was not given: {stray}")
    dropped = json.loads(client.cmd("iptf", "status", "--enc=json")).get("DroppedPeers")
    if dropped:  # every provider here is honest
        raise AssertionError(f"{client} dropped honest providers: {dropped}")


def drop_node(bed: TestBed, node: IptfHost) -> None:
    """Stop a node, forget it and delete its repo."""
    node.stop()
    if node in bed.nodes:
        bed.nodes.remove(node)
    shutil.rmtree(node.repo, ignore_errors=True)


def fresh_client_fetch(bed: TestBed, index: int, repo: Path, providers: Sequence[IptfHost], cid: str,
                       expected: Path, timeout: float = 120) -> Fetch:
    """Start a fresh node on host index, connect it to providers only, time `cat cid` (nothing
    else is timed), check the bytes against expected, then stop the node and delete its repo."""
    client = fresh_client(bed, index, repo, providers)
    try:
        out = repo.parent / f"{repo.name}.out"
        seconds = client.fetch(cid, out, timeout=timeout)
        check_fetch(client, providers, out, expected)
        return Fetch(providers=len(providers), seconds=seconds, size=expected.stat().st_size)
    finally:
        drop_node(bed, client)


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 22), fb.read(1 << 22)
            if x != y:
                return False
            if not x:
                return True


def root_network_state() -> dict[str, list[str]]:
    """The root namespace's links, addresses and routes (what a bed must leave unchanged)."""
    def lines(*args: str) -> list[str]:
        return sorted(l for l in _run([IP, *args]).stdout.decode().splitlines() if l.strip())

    links = sorted(l.split(":")[1].strip() for l in lines("-o", "link"))  # names (and @peer)
    return {"links": links, "addrs": lines("-o", "addr"), "routes": lines("route") + lines("-6", "route")}


def root_connections_of(pids: Iterable[int]) -> list[str]:
    """Lines of `ss -tnp` in the root namespace that belong to the given processes."""
    out = _run(["ss", "-tnpH"]).stdout.decode().splitlines()
    wanted = {f"pid={p}," for p in pids}
    return [line for line in out if any(w in line for w in wanted)]
