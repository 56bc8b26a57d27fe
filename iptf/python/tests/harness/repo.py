"""IptfRepo: run `iptf` against an isolated repo and clean up its node by PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from .processes import pid_alive, wait_until

IPTF = [sys.executable, "-m", "iptf"]


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
