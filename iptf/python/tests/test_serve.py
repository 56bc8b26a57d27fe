"""`iptf serve`: a trustless gateway and routing v1 for other peers, never the API or MFS."""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from harness import IPTF, IptfRepo, random_bytes, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def served(repo: IptfRepo) -> Iterator[tuple[IptfRepo, str]]:
    port = free_port()
    proc = subprocess.Popen([*IPTF, "serve", "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=repo.env)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return get(base + "/routing/v1/providers/bafkqaaa")[0] in (200, 404)
        except urllib.error.URLError:
            return False

    try:
        assert wait_until(up, 30)
        yield repo, base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_trustless_gateway_serves_verifiable_bytes(served, tmp_path: Path) -> None:
    repo, base = served
    data = random_bytes(1_000_000, seed=3)
    (tmp_path / "f").write_bytes(data)
    cid = repo.out("add", "-Q", "--cid-version=1", str(tmp_path / "f"))
    leaf = repo.out("refs", cid).split()[0]
    status, headers, body = get(f"{base}/ipfs/{leaf}?format=raw")
    assert status == 200 and headers["Content-Type"] == "application/vnd.ipld.raw"
    # The CIDv1 is base32 of <version 1><codec raw 0x55><sha2-256 0x12><length 32><digest>.
    raw_cid = base64.b32decode(leaf[1:].upper() + "=" * (-len(leaf[1:]) % 8))
    assert raw_cid[:4] == bytes([1, 0x55, 0x12, 32])
    assert hashlib.sha256(body).digest() == raw_cid[4:]
    status, headers, body = get(f"{base}/ipfs/{leaf}", {"Accept": "application/vnd.ipld.raw", "Range": "bytes=10-19"})
    assert status == 206 and len(body) == 10
    status, headers, car = get(f"{base}/ipfs/{cid}?format=car&dag-scope=entity&entity-bytes=0:99")
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.ipld.car")
    assert len(car) > 100


def test_only_trustless_and_nothing_private(served, tmp_path: Path) -> None:
    repo, base = served
    (tmp_path / "f").write_bytes(b"private notes")
    cid = repo.out("add", "-Q", str(tmp_path / "f"))
    assert get(f"{base}/ipfs/{cid}")[0] == 406  # deserialized responses are not offered
    assert get(f"{base}/api/v0/id")[0] == 404  # the RPC API is not exposed
    assert get(f"{base}/api/v0/files/ls")[0] == 404  # nor the writable tree
    status, _, body = get(f"{base}/routing/v1/providers/{cid}")
    assert status in (200, 404)
    missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    assert get(f"{base}/ipfs/{missing}?format=raw")[0] in (404, 504)  # local blocks only: no fetching


def test_serve_listens_on_loopback_by_default(repo: IptfRepo) -> None:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("port 8080 is in use here")
    proc = subprocess.Popen([*IPTF, "serve"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=repo.env,
                            text=True)
    try:
        lines = []
        assert wait_until(lambda: lines.append(proc.stdout.readline()) or "Daemon is ready" in lines[-1], 30)
        assert any("listening on http://127.0.0.1:8080" in line for line in lines), lines
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_listen_address_is_one_line(repo: IptfRepo) -> None:
    proc = repo.run("serve", "--listen", "nonsense", check=False)
    assert proc.returncode == 1 and proc.stderr.decode().count("\n") == 1
