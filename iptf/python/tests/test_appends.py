"""Appends and flushes extend a file instead of importing it again, and the file ends with the
CID `iptf add` gives for its bytes: reopened with 'ab' through TensorFlow and fsspec, flushed
while open, written by TensorBoard's summary writer, and in a repo whose import settings are
CIDv1 with raw leaves. Real TensorFlow, real node; the cost is measured in perf/test_appends.py."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from harness import IptfRepo
from harness.tf_support import run_tf

ROOT = "iptf://repo/root"

# Appends in rounds: reopen with 'ab', write, sometimes flush midway, close. Prints the bytes.
APPENDER = """
import hashlib, json, os, random, sys
path, rounds = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
content = b''
for i in range(rounds):
    with tf.io.gfile.GFile(path, 'ab') as f:
        for j in range(rng.randint(1, 3)):
            part = rng.randbytes(rng.choice([1, 1000, 262144, 300001]))
            f.write(part)
            content += part
            if rng.random() < 0.5:
                f.flush()
                assert f.tell() == len(content)
open(sys.argv[3], 'wb').write(content)
with tf.io.gfile.GFile(path, 'rb') as f:
    assert f.read() == content, 'read back differs'
print(len(content))
"""


def added_cid(repo: IptfRepo, local: Path) -> str:
    return repo.out("add", "-Q", "--only-hash", str(local))


def tree_cid(repo: IptfRepo, tree_path: str) -> str:
    return repo.out("files", "stat", "--hash", tree_path)


@pytest.mark.parametrize("settings", ["default", "cidv1"])
def test_appends_and_flushes_end_with_the_cid_of_add(repo_factory, tmp_path: Path, settings: str) -> None:
    repo: IptfRepo = repo_factory(f"appends-{settings}")
    if settings == "cidv1":
        repo.run("config", "--json", "Import.CidVersion", "1")
    name = f"log-{uuid.uuid4().hex[:6]}.bin"
    local = tmp_path / name
    proc = run_tf(repo, APPENDER, argv=(f"{ROOT}/{name}", "12", str(local)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) == local.stat().st_size
    want = added_cid(repo, local)
    assert tree_cid(repo, f"/{name}") == want
    if settings == "cidv1":
        assert want.startswith("bafy") or want.startswith("bafk"), want
    # The reflog names the final content of each close by a CID that reads it back.
    entries = json.loads(repo.out("reflog", "--path", f"{ROOT}/{name}", "--enc=json"))["Entries"]
    assert entries and entries[-1]["Cid"] == want


def test_tensorboard_event_file_keeps_the_cid_of_add(repo_factory, tmp_path: Path) -> None:
    """A summary writer flushes its event file again and again; the file ends as `add` has it."""
    repo: IptfRepo = repo_factory("events")
    proc = run_tf(repo, f"""
import numpy as np
w = tf.summary.create_file_writer('{ROOT}/logs/run1', flush_millis=10**6)
with w.as_default():
    for step in range(300):
        tf.summary.scalar('loss', 1.0 / (step + 1), step=step)
        tf.summary.histogram('w', np.random.RandomState(step).rand(500), step=step)
        if step % 25 == 0:
            w.flush()
w.close()
""")
    assert proc.returncode == 0, proc.stderr[-3000:]
    [event] = [line.split()[-1] for line in repo.out("files", "ls", "/logs/run1").splitlines()]
    local = tmp_path / event
    local.write_bytes(repo.run("files", "read", f"/logs/run1/{event}").stdout)
    assert local.stat().st_size > 300 * 500
    assert tree_cid(repo, f"/logs/run1/{event}") == added_cid(repo, local)


def test_fsspec_appends_end_with_the_cid_of_add(repo_factory, tmp_path: Path) -> None:
    repo: IptfRepo = repo_factory("fsspec-appends")
    code = """
import fsspec, sys
parts = [bytes([i]) * n for i, n in enumerate([5, 262144, 262145, 7, 600000])]
for part in parts:
    with fsspec.open(sys.argv[1], 'ab') as f:
        f.write(part)
open(sys.argv[2], 'wb').write(b''.join(parts))
with fsspec.open(sys.argv[1], 'rb') as f:
    assert f.read() == b''.join(parts)
"""
    local = tmp_path / "fs.bin"
    proc = subprocess.run([sys.executable, "-c", code, f"{ROOT}/fs.bin", str(local)], capture_output=True,
                          env=repo.env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert tree_cid(repo, "/fs.bin") == added_cid(repo, local)


# Another writer between two appends of one process: fsspec in a child process (the same node).
INTERLEAVED = """
import os, subprocess, sys
path, staging = sys.argv[1], sys.argv[2]
def other(code):
    subprocess.run([sys.executable, '-c', 'import fsspec, sys; p = sys.argv[1]; ' + code, path], check=True)
def append(data):
    with tf.io.gfile.GFile(path, 'ab') as f:
        f.write(data)
def content():
    with tf.io.gfile.GFile(path, 'rb') as f:
        return f.read()
append(b'a1')
# The close handed this process the staging file of its next append, which it holds open.
held = [n for n in os.listdir(staging) if n.startswith('next-')]
assert held, os.listdir(staging)
other("f = fsspec.open(p, 'ab').open(); f.write(b'b1'); f.close()")
append(b'a2')  # written into that next file: it still goes after b1
assert held[0] not in os.listdir(staging)
assert content() == b'a1b1a2', content()
other("f = fsspec.open(p, 'wb').open(); f.write(b'new'); f.close()")
append(b'a3')
assert content() == b'newa3', content()
other("fsspec.filesystem('iptf').rm(p)")
append(b'a4')
assert content() == b'a4', content()
print('ok')
"""


def test_an_append_goes_after_what_another_writer_left(repo_factory) -> None:
    """A process's appends after its first need no staging round trip (the close of one hands
    out the next one's file), yet each still lands at the end of the file as it is then, as
    O_APPEND writes do: after another process's append, over its rewrite, onto its removal."""
    repo: IptfRepo = repo_factory("interleaved")
    proc = run_tf(repo, INTERLEAVED, argv=(f"{ROOT}/shared.log", str(repo.path / "staging")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == "ok"
    assert repo.run("cat", f"{ROOT}/shared.log").stdout == b"a4"
