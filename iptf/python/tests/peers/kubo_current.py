"""A current kubo release (built from the Go module proxy into build/tools/ipfs, outside the
product) as a loopback-only IPFS test peer with its full CLI and HTTP API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Self

BINARY = Path(__file__).resolve().parents[4] / "build" / "tools" / "ipfs"


class KuboPeerError(RuntimeError):
    """The kubo binary is missing or a command failed."""


class KuboCurrent:
    """`ipfs daemon` on a repo made with `ipfs init --profile test`, in its own process."""

    def __init__(self, workdir: Path, binary: Path = BINARY) -> None:
        if not binary.exists():
            raise KuboPeerError(f"{binary} is missing: run make venv")
        self.binary = binary
        self.repo = Path(workdir) / "kubo-repo"
        self.env = dict(os.environ, IPFS_PATH=str(self.repo), IPFS_TELEMETRY="off")
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cli(self, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run([str(self.binary), *args], capture_output=True, env=self.env, timeout=timeout,
                              check=False)
        if proc.returncode != 0:
            raise KuboPeerError(f"ipfs {' '.join(args)}: {proc.stderr.decode().strip()}")
        return proc.stdout.decode().strip()

    def start(self, timeout: float = 60) -> Self:
        self.cli("init", "--profile", "test")
        self.cli("config", "--json", "Swarm.Transports.Network.Websocket", "false")
        self.proc = subprocess.Popen([str(self.binary), "daemon"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=self.env)
        deadline = time.monotonic() + timeout
        while not (self.repo / "api").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                self.close()
                raise KuboPeerError(f"kubo daemon did not start: {out[-500:]}")
            time.sleep(0.05)
        return self

    @property
    def peer_id(self) -> str:
        return json.loads(self.cli("id"))["ID"]

    @property
    def multiaddr(self) -> str:
        addrs = json.loads(self.cli("id"))["Addresses"]
        return next(a for a in addrs if a.startswith("/ip4/127.0.0.1/tcp/"))

    def add(self, path: Path, *flags: str) -> str:
        return self.cli("add", "-Q", *flags, str(path))

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
