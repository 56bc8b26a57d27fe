"""Write-back: closing a file hands it to the node, which puts it in the tree in the background.
Every reader (TensorFlow, kubo's `files` commands, cid_of) still sees it; renames of a file not yet
in the tree follow its write; a node killed with writes queued applies them when it next runs.
Real TensorFlow, real node."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from harness import IptfRepo, pid_alive, random_bytes, wait_until
from harness.tf_support import run_tf

ROOT = "iptf://repo/root"
SIZE = 96 << 20  # takes the node well over 100 ms to import


def journal(repo: IptfRepo) -> list[dict]:
    path = repo.path / "staging" / "writeback.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def write(tf, path: str, data: bytes) -> None:
    with tf.io.gfile.GFile(path, "wb") as f:
        for i in range(0, len(data), 8 << 20):
            f.write(data[i:i + (8 << 20)])


def test_close_hands_over_and_every_reader_waits(tf, tf_repo: IptfRepo, tmp_path: Path) -> None:
    data = random_bytes(SIZE, seed=41)
    name = f"wb-{uuid.uuid4().hex[:8]}.bin"
    write(tf, f"{ROOT}/{name}", data)
    closed = datetime.now(timezone.utc)
    queued = [e for e in journal(tf_repo) if e.get("path") == f"/{name}"]
    assert queued and queued[0]["kind"] == "write", "close waited for the import instead of queueing it"

    # kubo's own files command waits for the queued write, and sees `iptf add`'s CID.
    local = tmp_path / name
    local.write_bytes(data)
    expected = tf_repo.out("add", "-Q", "--only-hash", str(local))
    assert tf_repo.out("files", "stat", "--hash", f"/{name}") == expected
    assert tf.io.gfile.stat(f"{ROOT}/{name}").length == SIZE
    with tf.io.gfile.GFile(f"{ROOT}/{name}", "rb") as f:
        assert f.read() == data
    assert not list((tf_repo.path / "staging").glob("write-*")), "staged files left after their import"
    # The reflog dates the write when the file was closed, not when the import ended.
    entries = [json.loads(line) for line in (tf_repo.path / "reflog.jsonl").read_text().split("\n")[:-1]]
    wrote = [e for e in entries if e["Path"] == f"{ROOT}/{name}" and e["Op"] == "write"]
    assert len(wrote) == 1 and wrote[0]["Cid"] == expected
    assert datetime.fromisoformat(wrote[0]["Time"].replace("Z", "+00:00")) <= closed


def test_rename_of_a_file_still_queued(tf, tf_repo: IptfRepo) -> None:
    """TensorFlow's checkpoints write a temporary name and rename it: the rename joins the queue."""
    data = random_bytes(SIZE, seed=42)
    work = f"{ROOT}/ckpt-{uuid.uuid4().hex[:8]}"
    tf.io.gfile.makedirs(work)
    write(tf, f"{work}/shard.tempstate", data)
    tf.io.gfile.rename(f"{work}/shard.tempstate", f"{work}/shard")
    kinds = [e.get("kind") for e in journal(tf_repo) if e.get("path") == f"{work[len(ROOT):]}/shard.tempstate"]
    assert kinds == ["write", "move"], kinds
    assert tf.io.gfile.listdir(work) == ["shard"]
    with tf.io.gfile.GFile(f"{work}/shard", "rb") as f:
        assert f.read() == data
    # A file replaced while queued ends as the last write, in order.
    for i in range(3):
        write(tf, f"{work}/state", f"step {i}".encode())
    with tf.io.gfile.GFile(f"{work}/state", "rb") as f:
        assert f.read() == b"step 2"


def test_staging_files_are_reused_and_only_their_content_imported(tf, tf_repo: IptfRepo, tmp_path: Path) -> None:
    """An imported staging file is kept as a spare; the next writer overwrites the largest spare
    in place, so it still holds the old bytes past what was written: only the new bytes reach the
    tree, through close (queued) and through flush (imported at once) alike. Earlier tests of the
    session may have left spares of other sizes."""
    staging = tf_repo.path / "staging"
    big = f"{ROOT}/spare-big-{uuid.uuid4().hex[:8]}"
    write(tf, big, random_bytes(8 << 20, seed=43))
    tf.io.gfile.stat(big)  # waits for the import, after which the file is a spare
    spares = {p.stat().st_ino: p.stat().st_size for p in staging.glob("spares/spare-*")}
    assert spares and max(spares.values()) >= 8 << 20, f"no spare kept after an import: {spares}"

    small = random_bytes(1000, seed=44)
    target = f"{ROOT}/spare-small-{uuid.uuid4().hex[:8]}"
    with tf.io.gfile.GFile(target, "wb") as f:
        f.write(small[:600])
        f.flush()  # imported now, from a staging file far longer than 600 bytes
        reused = [p.stat() for p in staging.glob("write-*") if p.stat().st_ino in spares]
        assert reused, "the writer did not take a spare over"
        assert reused[0].st_size == spares[reused[0].st_ino] == max(spares.values()), \
            f"the writer took a {reused[0].st_size}-byte spare, not the largest of {sorted(spares.values())}"
        assert tf.io.gfile.stat(target).length == 600
        f.write(small[600:])
    local = tmp_path / "small"
    local.write_bytes(small)
    assert tf_repo.out("files", "stat", "--hash", target[len(ROOT):]) == tf_repo.out("add", "-Q", "--only-hash", str(local))
    with tf.io.gfile.GFile(target, "rb") as f:
        assert f.read() == small
    assert len(list(staging.glob("spares/spare-*"))) <= 4


def test_queued_writes_survive_a_killed_node(repo_factory) -> None:
    r: IptfRepo = repo_factory("killed")
    killed = run_tf(r, f"""
import json, os, signal, subprocess, sys
tf.io.gfile.exists('iptf://repo/root')  # starts the node
status = subprocess.run([sys.executable, '-m', 'iptf', 'status', '--json'], capture_output=True, check=True)
pid = json.loads(status.stdout)['Pid']
with tf.io.gfile.GFile('iptf://repo/root/big.bin', 'wb') as f:
    f.write(os.urandom(1 << 20) * {SIZE >> 20})
tf.io.gfile.rename('iptf://repo/root/big.bin', 'iptf://repo/root/kept.bin')
os.kill(pid, signal.SIGKILL)
""")
    assert killed.returncode == 0, killed.stderr
    left = [e["kind"] for e in journal(r) if "kind" in e]
    assert left[-2:] == ["write", "move"], f"the node applied everything before it was killed: {left}"

    # The next node applies the journal: the renamed file arrives whole, the staging is clean.
    size = run_tf(r, "print(tf.io.gfile.stat('iptf://repo/root/kept.bin').length, "
                     "tf.io.gfile.exists('iptf://repo/root/big.bin'))")
    assert size.stdout.split() == [str(SIZE), "False"], size.stderr
    assert r.status()["QueuedWrites"] == 0
    assert journal(r) == [] and not list((r.path / "staging").glob("write-*"))


def test_queued_writes_survive_a_node_stopped_while_applying_them(repo_factory) -> None:
    """`iptf shutdown` (as Ctrl-C and the idle stop do) right after a burst of writes: the node
    stops applying them before it closes its repo, so none is lost or reported failed, and the
    next node applies what was left."""
    r: IptfRepo = repo_factory("stopped")
    count = 100
    stopped = run_tf(r, f"""
import json, subprocess, sys
tf.io.gfile.makedirs('iptf://repo/root/burst')  # starts the node
status = subprocess.run([sys.executable, '-m', 'iptf', 'status', '--json'], capture_output=True, check=True)
print(json.loads(status.stdout)['Pid'])
for i in range({count}):
    with tf.io.gfile.GFile(f'iptf://repo/root/burst/{{i}}.txt', 'wb') as f:
        f.write(b'file %d' % i)
subprocess.run([sys.executable, '-m', 'iptf', 'shutdown'], check=True)
""")
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    pid = int(stopped.stdout.split()[0])
    assert wait_until(lambda: not pid_alive(pid), 60), "the node did not stop"
    failed = r.path / "staging" / "writeback.failed.jsonl"
    assert not failed.exists() or not failed.read_text().strip(), failed.read_text()

    read = run_tf(r, f"print([tf.io.gfile.GFile(f'iptf://repo/root/burst/{{i}}.txt', 'rb').read().decode() "
                     f"for i in range({count})] == ['file %d' % i for i in range({count})])")
    assert read.returncode == 0 and read.stdout.split() == ["True"], read.stderr[-3000:]
    info = r.status()
    assert info["QueuedWrites"] == 0 and not info.get("FailedWrites"), info
    assert journal(r) == []


def test_flushed_bytes_survive_a_killed_node_and_their_writer(repo_factory, tmp_path: Path) -> None:
    """A flush queues what was written so far and returns: the node killed right after applies it
    when it next runs, a later flush follows it, and the writer killed before close loses nothing
    it flushed. The file then holds exactly the flushed bytes, under `add`'s CID."""
    r: IptfRepo = repo_factory("flushed")
    first, second, unflushed = random_bytes(SIZE, seed=51), random_bytes(3 << 20, seed=52), b"never flushed"
    (tmp_path / "first.bin").write_bytes(first)
    (tmp_path / "second.bin").write_bytes(second)
    writer = run_tf(r, f"""
import json, os, signal, subprocess, sys
tf.io.gfile.exists('iptf://repo/root')  # starts the node
status = subprocess.run([sys.executable, '-m', 'iptf', 'status', '--json'], capture_output=True, check=True)
f = tf.io.gfile.GFile('iptf://repo/root/events.log', 'wb')
f.write(open(sys.argv[1], 'rb').read())
f.flush()
os.kill(json.loads(status.stdout)['Pid'], signal.SIGKILL)
print(open(sys.argv[3]).read(), flush=True)  # what the killed node had journaled
f.write(open(sys.argv[2], 'rb').read())
f.flush()  # reaches the next node, started on demand
f.write({unflushed!r})
os.kill(os.getpid(), signal.SIGKILL)  # the writer dies before close
""", argv=(str(tmp_path / "first.bin"), str(tmp_path / "second.bin"), str(r.path / "staging" / "writeback.jsonl")))
    assert writer.returncode == -9, writer.stderr[-3000:]
    journaled = [json.loads(line) for line in writer.stdout.splitlines() if line.startswith("{")]
    assert any(e.get("keep") and e.get("path") == "/events.log" for e in journaled), \
        f"the flush was not queued (or was applied before the kill): {journaled}"
    read = run_tf(r, "import hashlib; print(hashlib.sha256(tf.io.gfile.GFile('iptf://repo/root/events.log', 'rb')"
                     ".read()).hexdigest())")
    assert read.returncode == 0, read.stderr[-3000:]
    assert read.stdout.split()[-1] == hashlib.sha256(first + second).hexdigest()
    (tmp_path / "flushed.bin").write_bytes(first + second)
    assert r.out("files", "stat", "--hash", "/events.log") == r.out("add", "-Q", "--only-hash", str(tmp_path / "flushed.bin"))
    assert r.status()["QueuedWrites"] == 0 and not r.status().get("FailedWrites")


def test_a_huge_and_a_damaged_journal_line_do_not_poison_the_tree(repo_factory) -> None:
    """A journaled 200,000-character name and a damaged line left by a killed node: the next node
    applies the rest of the queue, moves the damaged line aside and reports it."""
    r: IptfRepo = repo_factory("poisoned")
    long_name = "n" * 200_000
    killed = run_tf(r, f"""
import json, os, signal, subprocess, sys
tf.io.gfile.exists('iptf://repo/root')  # starts the node
status = subprocess.run([sys.executable, '-m', 'iptf', 'status', '--json'], capture_output=True, check=True)
pid = json.loads(status.stdout)['Pid']
with tf.io.gfile.GFile('iptf://repo/root/big.bin', 'wb') as f:
    f.write(os.urandom(1 << 20) * {SIZE >> 20})
with tf.io.gfile.GFile('iptf://repo/root/' + 'n' * {len(long_name)}, 'wb') as f:
    f.write(b'long')
with tf.io.gfile.GFile('iptf://repo/root/after.txt', 'wb') as f:
    f.write(b'after')
os.kill(pid, signal.SIGKILL)
""")
    assert killed.returncode == 0, killed.stderr
    path = r.path / "staging" / "writeback.jsonl"
    queued = [e.get("path", "") for e in journal(r)]
    assert f"/{long_name}" in queued and "/after.txt" in queued, "the node applied everything before it was killed"
    with open(path, "ab") as f:
        f.write(b'{"seq":99,"kind":"write","path":"/torn\x00\xff\n')

    after = run_tf(r, "print(tf.io.gfile.stat('iptf://repo/root/big.bin').length)\n"
                      "print(tf.io.gfile.GFile('iptf://repo/root/after.txt', 'rb').read().decode())")
    assert after.returncode == 0 and after.stdout.split() == [str(SIZE), "after"], after.stderr
    info = r.status()
    assert info["QueuedWrites"] == 0
    damaged = [f for f in info.get("FailedWrites") or [] if f["Kind"] == "damaged journal entry"]
    quarantine = r.path / "staging" / "writeback.damaged.jsonl"
    assert len(damaged) == 1 and damaged[0]["Staged"] == str(quarantine), info
    assert b'"path":"/torn' in quarantine.read_bytes()
    assert journal(r) == []
    text = r.out("status")
    assert "damaged journal entry" in text and str(quarantine) in text, text


def test_a_writer_killed_before_close_is_reported(repo_factory) -> None:
    """Its staging file is listed by `iptf status` (kept, for its bytes), a live writer's is not."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from harness.tf_support import SUBPROCESS_PRELUDE

    repo = repo_factory("killed-writer")
    repo.out("files", "ls", "/")  # the node is up
    code = SUBPROCESS_PRELUDE + (
        "f = tf.io.gfile.GFile('iptf://repo/root/unfinished.bin', 'wb')\n"
        "f.write(b'x' * (8 << 20))\n"
        "print('ready', flush=True)\n"
        "import time; time.sleep(600)\n")
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=repo.env)
    try:
        assert writer.stdout.readline().strip() == "ready"
        staged = [p for p in (repo.path / "staging").glob("write-*")]
        assert len(staged) == 1, staged
        assert staged[0].stat().st_size == 8 << 20
        long_ago = time.time() - 600  # as a writer that stopped writing ten minutes ago
        os.utime(staged[0], (long_ago, long_ago))
        assert not repo.status().get("AbandonedWrites"), "a live writer's file is not abandoned"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    abandoned = repo.status().get("AbandonedWrites")
    assert [(a["Path"], a["Size"]) for a in abandoned] == [(str(staged[0]), 8 << 20)], abandoned
    text = repo.out("status")
    assert f"8388608 bytes kept in {staged[0]}" in text, text
