"""Test helpers: run `iptf` against an isolated repo and clean up its node by PID."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

IPTF = [sys.executable, "-m", "iptf"]


def random_bytes(n: int, seed: int) -> bytes:
    """Deterministic pseudo-random bytes."""
    rng = random.Random(seed)
    piece = 16 << 20
    return b"".join(rng.randbytes(min(piece, n - i)) for i in range(0, n, piece))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return False


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> object | None:
    """The JSON that url serves, or None while it serves none (not up yet, an error)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_for_tensorboard_run(port: int, process: subprocess.Popen[bytes], log: Path, run: str = "run1",
                             tag: str = "loss", timeout: float = 180, name: str = "TensorBoard") -> None:
    """Wait until the TensorBoard on 127.0.0.1:port lists `run` as its only run, then assert that the
    run has the scalar `tag`. It fails with the end of `log` (process's output) when the run is not
    listed within timeout seconds, or as soon as process has ended without listing it."""
    base = f"http://127.0.0.1:{port}"
    runs: list[object | None] = [None]

    def listed_or_ended() -> bool:
        runs[0] = get_json(f"{base}/data/runs")
        return runs[0] == [run] or process.poll() is not None

    wait_until(listed_or_ended, timeout, interval=1)
    ended = "" if process.poll() is None else f" (it exited {process.returncode})"
    assert runs[0] == [run], f"{name} served no {run}{ended}: {log.read_text(errors='replace')[-3000:]}"
    tags = get_json(f"{base}/data/plugin/scalars/tags")
    assert isinstance(tags, dict) and tag in tags.get(run, {}), tags


class IptfRepo:
    """An IPTF repo in a temporary folder; every command runs with IPTF_PATH pointing at it."""

    def __init__(self, path: Path, offline: bool = True, extra_env: dict[str, str] | None = None) -> None:
        self.path = path
        self.env = dict(os.environ, IPTF_PATH=str(path), IPTF_IDLE_TIMEOUT="120s")
        self.env.pop("IPFS_PATH", None)
        if offline:
            self.env["IPTF_OFFLINE"] = "1"
        else:  # not inherited from a process that pointed TensorFlow at an offline repo
            self.env.pop("IPTF_OFFLINE", None)
        self.env.update(extra_env or {})
        self.pids: set[int] = set()

    def run(self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([*IPTF, *args], capture_output=True, input=input, timeout=timeout,
                              env=env or self.env, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"iptf {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode()}")
        self._note_pid()
        return proc

    def out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).stdout.decode().strip()

    def init(self, *profiles: str) -> None:
        self.run("init", "--profile", ",".join(profiles or ("test",)))

    def python(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
        """Run Python code with this repo's environment."""
        return subprocess.run([sys.executable, "-c", code], capture_output=True, env=self.env,
                              timeout=timeout, check=False)

    def status(self) -> dict | None:
        env = dict(self.env, IPTF_AUTOSTART="0")
        proc = subprocess.run([*IPTF, "iptf", "status", "--enc=json"], capture_output=True, env=env,
                              timeout=30, check=False)
        if proc.returncode != 0:
            return None
        info = json.loads(proc.stdout)
        self.pids.add(int(info["Pid"]))
        return info

    def _note_pid(self) -> None:
        """Remember the PID of the repo's node, so that stop() can make sure it ends."""
        if any(pid_alive(p) for p in self.pids):
            return
        if (self.path / "api").exists() and (self.path / "api.sock").exists():
            self.status()

    def stop(self) -> None:
        """Stop the repo's node: `iptf shutdown`, then SIGKILL by PID whatever is left."""
        self._note_pid()
        if self.pids:
            subprocess.run([*IPTF, "shutdown"], capture_output=True, env=dict(self.env, IPTF_AUTOSTART="0"),
                           timeout=30, check=False)
        for pid in self.pids:
            if not wait_until(lambda: not pid_alive(pid), 10):
                os.kill(pid, signal.SIGKILL)
                wait_until(lambda: not pid_alive(pid), 5)
