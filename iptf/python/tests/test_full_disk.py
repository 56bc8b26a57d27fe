"""A full disk loses nothing: a repo on a small tmpfs, written through TensorFlow until it is full.

A close either succeeds, and the file then reads back exactly, or raises ResourceExhaustedError,
and the path keeps what it held before. A write queued before the disk filled up (a node killed
with it queued, the disk filled, the node restarted) is listed by `iptf status`, reported by
every read of its path, kept across restarts, and applied by `iptf writeback retry` once space is
free again. Real TensorFlow, real node, a real filesystem that runs out of space (mounting one
needs root, which CI has).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from harness import IptfRepo, random_bytes
from harness.tf_support import run_tf

ROOT = "iptf://repo/root"
MiB = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], IptfRepo]]:
    """Makes a repo on a tmpfs of the given size in MiB; stops its node and unmounts it after."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small filesystem needs root (CI runs the tests as root)")
    made: list[tuple[IptfRepo, Path]] = []

    def make(mib: int) -> IptfRepo:
        mount = tmp_path / f"disk{len(made)}"
        mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(mount)], check=True)
        repo = IptfRepo(mount / "repo")
        made.append((repo, mount))
        repo.init()
        return repo

    yield make
    for repo, mount in made:
        repo.stop()
        subprocess.run(["umount", "-l", str(mount)], check=False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


# Writes random (incompressible, never deduplicated) files in 4 MiB appends; prints, per write,
# the content's sha256 or the error's class and first line.
WRITER = """
import hashlib, json, os, sys
results = []
for path, mib, seed in json.loads(sys.argv[1]):
    data = os.urandom(mib << 20)
    try:
        with tf.io.gfile.GFile(path, 'wb') as f:
            for i in range(0, len(data), 4 << 20):
                f.write(data[i:i + (4 << 20)])
        results.append(['ok', hashlib.sha256(data).hexdigest()])
    except tf.errors.OpError as e:
        results.append([type(e).__name__, str(e).splitlines()[0]])
print(json.dumps(results))
"""

READER = """
import hashlib, json, sys
out = []
for path in json.loads(sys.argv[1]):
    try:
        with tf.io.gfile.GFile(path, 'rb') as f:
            out.append(['ok', hashlib.sha256(f.read()).hexdigest()])
    except tf.errors.OpError as e:
        out.append([type(e).__name__, str(e).splitlines()[0]])
print(json.dumps(out))
"""


def write_files(repo: IptfRepo, writes: list[tuple[str, int]]) -> list[list[str]]:
    proc = run_tf(repo, WRITER, argv=(json.dumps([[p, mib, i] for i, (p, mib) in enumerate(writes)]),))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_files(repo: IptfRepo, paths: list[str]) -> list[list[str]]:
    proc = run_tf(repo, READER, argv=(json.dumps(paths),))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_close_on_a_full_disk_fails_and_keeps_the_old_content(small_disk) -> None:
    """20 MiB, then 30 MiB over it, on a 64 MiB disk: the second cannot fit beside the first.
    Every close that returned holds its bytes; the failed one raised ResourceExhaustedError and
    the path still holds the 20 MiB."""
    repo = small_disk(64)
    first, second, other = write_files(repo, [(f"{ROOT}/model.bin", 20), (f"{ROOT}/model.bin", 30),
                                              (f"{ROOT}/other.bin", 30)])
    assert first[0] == "ok", first
    assert second[0] == "ResourceExhaustedError", second
    assert "no space left" in second[1] and "model.bin" in second[1], second
    assert other[0] in ("ok", "ResourceExhaustedError"), other

    expected = [first]
    paths = [f"{ROOT}/model.bin"]
    if other[0] == "ok":
        expected.append(other)
        paths.append(f"{ROOT}/other.bin")
    assert read_files(repo, paths) == expected
    if other[0] != "ok":
        exists = run_tf(repo, f"print(tf.io.gfile.exists('{ROOT}/other.bin'))")
        assert exists.stdout.strip() == "False", exists.stderr
    assert not repo.status().get("FailedWrites"), "a failed close left a queued failure behind"
    verify = repo.run("repo", "verify", check=False)
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()


def test_an_append_cut_short_by_a_full_disk_fails_the_close_with_the_same_class(small_disk) -> None:
    """48 MiB in 4 MiB appends on a 32 MiB disk: an append lands in part, and the close that
    follows raises ResourceExhaustedError too (never an InternalError about a short staging
    file); the path does not appear and no staging file is left behind."""
    repo = small_disk(32)
    target = f"{ROOT}/too-big.bin"
    [result] = write_files(repo, [(target, 48)])
    assert result[0] == "ResourceExhaustedError" and "no space left" in result[1], result
    exists = run_tf(repo, f"print(tf.io.gfile.exists('{target}'))")
    assert exists.stdout.strip() == "False", exists.stderr
    assert not repo.status().get("FailedWrites")
    staged = [p.name for p in (repo.path / "staging").glob("write-*") if p.stat().st_size > 0]
    assert staged == [], staged


def test_a_queued_write_that_meets_a_full_disk_is_kept_reported_and_retried(small_disk) -> None:
    repo = small_disk(160)
    target = f"{ROOT}/ckpt.bin"
    assert write_files(repo, [(target, 1)])[0][0] == "ok"
    before = repo.out("files", "stat", "--hash", "/ckpt.bin")

    # 40 MiB closed (queued: the disk has room), and the node killed before it imports them.
    data = random_bytes(40 * MiB, seed=7)
    closed = repo.path.parent.parent / "closed.bin"  # beside the small disk, not on it
    closed.write_bytes(data)
    killed = run_tf(repo, f"""
import json, os, signal, subprocess, sys
status = subprocess.run([sys.executable, '-m', 'iptf', 'status', '--json'], capture_output=True, check=True)
pid = json.loads(status.stdout)['Pid']
data = open(sys.argv[1], 'rb').read()
with tf.io.gfile.GFile('{target}', 'wb') as f:
    f.write(data)
os.kill(pid, signal.SIGKILL)
""", argv=(str(closed),))
    assert killed.returncode == 0, killed.stderr[-3000:]
    journal = repo.path / "staging" / "writeback.jsonl"
    assert '"path":"/ckpt.bin"' in journal.read_text().replace(" ", ""), "the node applied the write before the kill"

    # Something else fills the disk; the next node cannot import the queued file.
    filler = repo.path.parent / "filler"
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, free_bytes(repo.path) - 4 * MiB)
    read = read_files(repo, [target])[0]
    assert read[0] == "ResourceExhaustedError", read
    assert "iptf writeback retry" in read[1] and "ckpt.bin" in read[1], read
    # Nothing was lost: the tree still holds the old content, the staging folder the new bytes.
    assert repo.out("files", "stat", "--hash", "/ckpt.bin") == before
    failed = repo.status()["FailedWrites"]
    assert [(f["Kind"], f["Uri"], f["Code"]) for f in failed] == [("write", target, "ResourceExhausted")], failed
    staged = Path(failed[0]["Staged"])
    assert sha(staged.read_bytes()[:len(data)]) == sha(data)
    text = repo.out("status")
    assert f"could not apply the write of {target}" in text and "iptf writeback retry" in text, text

    # The failure outlives the node.
    repo.stop()
    repo.out("files", "ls", "/")  # starts the next node
    assert [f["Uri"] for f in repo.status()["FailedWrites"]] == [target]

    # Space again: retry applies exactly the bytes that were closed.
    filler.unlink()
    retried = repo.out("writeback", "retry", target)
    assert retried == f"write {target}", retried
    assert read_files(repo, [target]) == [["ok", sha(data)]]
    assert not repo.status().get("FailedWrites")
    assert not staged.exists(), "the retried write's staging file was left behind"

