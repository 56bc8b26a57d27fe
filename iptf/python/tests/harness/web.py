"""Local HTTP services under test: free ports, JSON endpoints, TensorBoard."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from pathlib import Path

from .processes import wait_until


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
