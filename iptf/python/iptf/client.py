"""The client side of the node: find or start the repo's node, and call its RPC API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from . import protocol
from ._binary import node_binary
from .errors import IptfError, NodeUnavailable, from_node_message
from .rpc import RpcClient


@dataclass(frozen=True)
class Node:
    """A running IPTF node: its repo, process, identity and RPC client."""

    repo: Path
    pid: int
    peer_id: str
    online: bool
    on_demand: bool
    api_socket: str

    @property
    def rpc(self) -> RpcClient:
        """A client of the node's RPC API; a reply slower than $IPTF_TIMEOUT seconds is Unavailable."""
        return RpcClient(self.api_socket, timeout=timeout_seconds())


ENV_TIMEOUT = "IPTF_TIMEOUT"
DEFAULT_TIMEOUT = 60.0


def timeout_seconds() -> float:
    """How long to wait for the node's answer: $IPTF_TIMEOUT seconds, as the TensorFlow plugin does."""
    try:
        value = float(os.environ.get(ENV_TIMEOUT, ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


_lock = threading.Lock()
_current: Node | None = None


def run_node_command(args: Iterable[str], *, input: bytes | None = None, timeout: float | None = None,
                     show_progress: bool = False) -> bytes:
    """Run `iptf-node ARGS` (which starts a node on demand) and return its stdout. With
    show_progress, its standard error (where progress goes) is passed on to ours as it comes,
    when ours is a terminal."""
    if show_progress and sys.stderr.isatty():
        return _run_showing_progress(list(args))
    try:
        proc = subprocess.run(
            [node_binary(), *args], input=input, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise NodeUnavailable(f"`iptf {' '.join(args)}` did not finish within {timeout}s") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise from_node_message(lines[-1] if lines else f"iptf-node exited with {proc.returncode}")
    return proc.stdout


def _run_showing_progress(args: list[str]) -> bytes:
    """run_node_command, passing the command's standard error on to ours as it is written."""
    with subprocess.Popen([node_binary(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
        reader.start()
        tail = b""
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            sys.stderr.buffer.write(chunk)
            sys.stderr.flush()
            tail = (tail + chunk)[-4096:]
        proc.wait()
        reader.join()
    if proc.returncode != 0:
        lines = [line for line in tail.decode(errors="replace").replace("\r", "\n").splitlines() if line.strip()]
        raise from_node_message(lines[-1] if lines else f"iptf-node exited with {proc.returncode}")
    return out[0] if out else b""


def node(refresh: bool = False) -> Node:
    """Return the repo's node, starting one in the background if none runs."""
    global _current
    with _lock:
        if _current is None or refresh:
            status = protocol.decode("iptf/status", run_node_command(["iptf", "status", "--enc=json"]),
                                     protocol.Status.from_json)
            _current = Node(
                repo=Path(status.repo),
                pid=status.pid,
                peer_id=status.id,
                online=status.online,
                on_demand=status.on_demand,
                api_socket=_api_socket(status),
            )
        return _current


def _api_socket(status: protocol.Status) -> str:
    """The socket the node says its API listens on (the node alone knows the repo's layout)."""
    if not status.api_socket:
        raise IptfError(f"the node of {status.repo} does not listen on a Unix socket; IPTF's Python API needs one")
    return status.api_socket


def call(command: str, args: Iterable[str] = (), **options: Any) -> bytes:
    """Run an RPC command on the node, restarting the node once if it has gone away."""
    args = list(args)
    try:
        return node().rpc.call(command, args, **options)
    except NodeUnavailable:
        return node(refresh=True).rpc.call(command, args, **options)


def shutdown() -> None:
    """Stop the repo's node if one runs."""
    global _current
    with _lock:
        _current = None
    env = dict(os.environ, IPTF_AUTOSTART="0")
    proc = subprocess.run([node_binary(), "shutdown"], capture_output=True, env=env, check=False)
    if proc.returncode != 0 and b"not running" not in proc.stderr:
        raise from_node_message(proc.stderr.decode(errors="replace").strip().splitlines()[-1])


__all__ = ["Node", "node", "call", "shutdown", "run_node_command", "json"]
