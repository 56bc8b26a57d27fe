"""A child process spoken to in JSON lines, with a deadline on every answer and kill by PID."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
import weakref
from collections.abc import Sequence
from typing import Self
from pathlib import Path
from typing import IO, Any


class PeerProcessError(RuntimeError):
    """The peer process is gone or answered something that is not a JSON line."""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL one process by its PID and reap it."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


class JsonLinesProcess:
    """Runs `argv`; `request()` writes one JSON object and reads one JSON line back."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        cwd: Path | None = None,
        stderr: IO[bytes] | int | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            self.argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            close_fds=True,
        )
        self.pid = self._proc.pid
        self._buf = b""
        self._finalizer = weakref.finalize(self, _kill, self._proc)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send `message`; return the answer. On timeout kill the process and raise TimeoutError."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise PeerProcessError(f"{self.name} process {self.pid} is not running (closed or killed)")
        assert proc.stdin is not None
        try:
            proc.stdin.write((json.dumps(message) + "\n").encode())
            proc.stdin.flush()
        except BrokenPipeError as exc:
            raise PeerProcessError(f"{self.name} process {self.pid} closed its input") from exc
        line = self._readline(timeout)
        if line is None:
            self.kill()
            what = message.get("op") or message.get("cmd")
            raise TimeoutError(f"{self.name}: no answer to {what} within {timeout:g}s; process {self.pid} killed")
        if not line:
            raise PeerProcessError(f"{self.name} process {self.pid} exited (code {proc.wait()}) before answering")
        try:
            answer = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PeerProcessError(f"{self.name} process {self.pid} sent a non-JSON line: {line[:80]!r}") from exc
        if not isinstance(answer, dict):
            raise PeerProcessError(f"{self.name} process {self.pid} sent a non-object answer: {line[:80]!r}")
        return answer

    def _readline(self, timeout: float) -> bytes | None:
        """One line from stdout: b"" at EOF, None when the deadline passes."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b""
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def close(self, grace: float = 10.0) -> None:
        """Close stdin, give the process `grace` seconds to exit, then kill it by PID."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        """Kill the process by PID now and release its pipes."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _kill(proc)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self._finalizer.detach()


class PeerProcess:
    """Base of the test peers that run in a JsonLinesProcess: a context manager that closes
    the peer, and the PID of its process while it runs."""

    _proc: JsonLinesProcess | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # overridden
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        """PID of the peer's process while it runs."""
        return self._proc.pid if self._proc and self._proc.alive else None
