"""A small client for the node's HTTP RPC API over its Unix socket."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any, Iterable
from urllib.parse import urlencode

from .errors import IptfError, NodeUnavailable, from_node_message

API_PREFIX = "/api/v0/"


class _TrailerResponse(http.client.HTTPResponse):
    """A response that keeps its chunked trailer: the node reports an error that happens after
    the answer started (a block that cannot be fetched mid-stream) as `X-Stream-Error` there."""

    trailers: dict[str, str]

    def _read_and_discard_trailer(self) -> None:  # http.client's hook for the trailer section
        self.trailers = {}
        while True:
            line = self.fp.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                return
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                self.trailers[name.strip().lower()] = value.strip()


class _UnixConnection(http.client.HTTPConnection):
    response_class = _TrailerResponse

    def __init__(self, socket_path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class RpcClient:
    """Calls kubo RPC commands (`/api/v0/<command>`) on a node listening on a Unix socket."""

    def __init__(self, socket_path: str, timeout: float | None = 60.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, command: str, args: Iterable[str] = (), **options: Any) -> bytes:
        """Run a command and return its raw response body; raise IptfError on failure."""
        query: list[tuple[str, str]] = [("arg", a) for a in args]
        for name, value in options.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            query.append((name.replace("_", "-"), str(value)))
        url = API_PREFIX + command + ("?" + urlencode(query) if query else "")
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("POST", url)
            resp = conn.getresponse()
            body = resp.read()
            trailer_error = getattr(resp, "trailers", {}).get("x-stream-error") or resp.getheader("X-Stream-Error")
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NodeUnavailable(f"no IPTF node answers on {self.socket_path}: {exc.strerror}") from None
        except (socket.timeout, TimeoutError):
            raise NodeUnavailable(f"the IPTF node did not answer {command} within {self.timeout}s") from None
        finally:
            conn.close()
        if resp.status != 200:
            raise from_node_message(_error_message(body) or f"{command}: HTTP {resp.status}")
        if trailer_error:
            raise from_node_message(trailer_error)
        return body

    def call_json(self, command: str, args: Iterable[str] = (), **options: Any) -> Any:
        """Run a command whose response is one JSON value."""
        return json.loads(self.call(command, args, **options))


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["Message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip()


__all__ = ["RpcClient", "IptfError"]
