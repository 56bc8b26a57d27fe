"""Helia (Node.js) as a loopback-only IPFS test peer and as a UnixFS CID oracle for kubo's add flags.

Runs `node helia/peer.mjs` in its own process, spoken to in JSON lines, stopped by PID.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ._jsonlines import JsonLinesProcess, PeerProcess, PeerProcessError

HELIA_DIR = Path(__file__).with_name("helia")


class HeliaPeerError(RuntimeError):
    """Node or the peer's packages are missing, or the peer answered an error."""


# Other spellings accepted for the same option (kubo flag names and short forms).
_ALIASES = {
    "chunkSize": "chunker",
    "maxChildren": "maxChildrenPerNode",
    "maxFileLinks": "maxChildrenPerNode",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def add_options(options: dict[str, Any]) -> dict[str, Any]:
    """peer.mjs option names for snake_case/camelCase/alias keyword options; None means unset."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        name = _ALIASES.get(_camel(key), _camel(key))
        if name in out and out[name] != value:
            raise HeliaPeerError(f"option {key}={value!r} conflicts with {name}={out[name]!r}")
        out[name] = value
    return out


class HeliaPeer(PeerProcess):
    """A Helia process: `hash()` works at once; `start()` brings up its libp2p node on 127.0.0.1.

    Options of `hash`/`add` mirror kubo's add flags, in snake_case or camelCase: cid_version (0|1),
    raw_leaves, chunker (bytes or "size-N"; alias chunk_size), max_children_per_node (aliases
    max_children, max_file_links), layout ("balanced"|"trickle"), layer_repeat,
    shard_split_threshold_bytes, shard_split_strategy, shard_fanout_bits.
    Unset options take kubo's defaults, not Helia's.
    """

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.peer_id: str | None = None
        self.multiaddrs: list[str] = []
        self._proc: JsonLinesProcess | None = None


    @property
    def multiaddr(self) -> str:
        """The node's `/ip4/127.0.0.1/tcp/PORT/p2p/ID` address."""
        if not self.peer_id:
            raise HeliaPeerError("helia peer is not started: call start()")
        for addr in self.multiaddrs:
            if addr.startswith("/ip4/127.0.0.1/tcp/"):
                return addr if "/p2p/" in addr else f"{addr}/p2p/{self.peer_id}"
        raise HeliaPeerError(f"helia peer has no loopback TCP address: {self.multiaddrs}")

    def hash(self, path: Path | str, timeout: float = 600.0, **options: Any) -> str:
        """CID of a file or directory under kubo-style add options, computed with no networking."""
        answer = self._call(
            {"cmd": "hash", "path": str(Path(path).resolve()), "options": add_options(options)}, timeout
        )
        return str(answer["cid"])

    def start(self, timeout: float = 30.0) -> HeliaPeer:
        """Start the light Helia node (TCP on 127.0.0.1, noise, yamux, identify, bitswap)."""
        answer = self._call({"cmd": "start"}, timeout)
        self.peer_id, self.multiaddrs = str(answer["peerId"]), list(answer["multiaddrs"])
        return self

    def add(self, path: Path | str, timeout: float = 600.0, **options: Any) -> str:
        """Add a file or directory to the node's blockstore; return its CID."""
        answer = self._call({"cmd": "add", "path": str(Path(path).resolve()), "options": add_options(options)}, timeout)
        return str(answer["cid"])

    def connect(self, maddr: str, timeout: float = 30.0) -> str:
        """Dial a peer at a full `/ip4/127.0.0.1/tcp/PORT/p2p/ID` address; return its peer ID."""
        answer = self._call({"cmd": "connect", "multiaddr": maddr, "timeoutMs": int(timeout * 1000)}, timeout + 5)
        return str(answer["peerId"])

    def cat(self, cid: str, out: Path | str, timeout: float = 120.0) -> int:
        """Fetch file `cid` over bitswap into `out`; return the byte count. Kills the process if it hangs."""
        msg = {"cmd": "cat", "cid": cid, "out": str(Path(out).resolve()), "timeoutMs": int(timeout * 1000)}
        return int(self._call(msg, timeout + 10)["bytes"])

    def close(self, timeout: float = 10.0) -> None:
        """Stop the node, end the process, and kill it by PID if it does not exit."""
        proc, self._proc = self._proc, None
        self.peer_id, self.multiaddrs = None, []
        if proc is None:
            return
        try:
            if proc.alive:
                proc.request({"cmd": "stop"}, timeout)
        except (PeerProcessError, TimeoutError, OSError):
            pass
        finally:
            proc.close(grace=timeout)

    def _spawn(self) -> JsonLinesProcess:
        node = shutil.which("node")
        if node is None:
            raise HeliaPeerError("node (Node.js 20+) is not on PATH")
        if not (HELIA_DIR / "node_modules" / "helia").is_dir():
            raise HeliaPeerError(f"{HELIA_DIR}/node_modules is missing: run make venv")
        argv = [node, str(HELIA_DIR / "peer.mjs")]
        if self.log_path is None:
            return JsonLinesProcess("helia", argv, HELIA_DIR)
        with open(self.log_path, "ab") as log:
            return JsonLinesProcess("helia", argv, HELIA_DIR, log)

    def _call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._proc is None:
            self._proc = self._spawn()
        try:
            answer = self._proc.request(message, timeout)
        except TimeoutError:
            self._proc = None
            self.peer_id, self.multiaddrs = None, []
            raise
        except PeerProcessError as exc:
            raise HeliaPeerError(str(exc)) from exc
        if "error" in answer:
            raise HeliaPeerError(f"helia {message['cmd']}: {answer['error']}")
        return answer
