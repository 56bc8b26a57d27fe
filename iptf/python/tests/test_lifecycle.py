"""The node's life: created on first use, started on demand, shared, stopped when idle or asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness import IPTF, IptfRepo, pid_alive, random_bytes, wait_until
from harness.tf_support import run_tf


def node_processes(repo: Path) -> list[int]:
    """PIDs of iptf-node daemons serving the repo (found through /proc, not through the node)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"iptf-node") and b"daemon" in cmdline and \
                f"IPTF_PATH={repo}".encode() in environ and pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def test_first_use_creates_repo_with_iptf_defaults(repo_factory, tmp_path: Path) -> None:
    fresh = repo_factory("fresh", init=False)
    assert not fresh.path.exists()
    f = tmp_path / "f"
    f.write_bytes(b"hello world\n")
    assert fresh.out("add", "-Q", str(f)) == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    cfg = json.loads(fresh.out("config", "show"))
    assert cfg["Addresses"]["API"] == f"/unix{fresh.path}/api.sock"
    assert not cfg["Addresses"]["Gateway"]
    assert cfg["Plugins"]["Plugins"]["telemetry"]["Disabled"] is True
    assert cfg["AutoConf"]["Enabled"] is False
    assert cfg["Bootstrap"] and "auto" not in cfg["Bootstrap"]  # public peers for users' machines
    assert "auto" not in cfg["Routing"].get("DelegatedRouters", []) and "auto" not in cfg["DNS"]["Resolvers"].values()


def test_explicit_test_profile_keeps_api_on_unix_socket(repo: IptfRepo) -> None:
    cfg = json.loads(repo.out("config", "show"))
    assert cfg["Addresses"]["API"] == f"/unix{repo.path}/api.sock"
    assert cfg["Bootstrap"] == [] and cfg["Addresses"]["Swarm"] == ["/ip4/127.0.0.1/tcp/0"]


def test_on_demand_start_and_status(repo: IptfRepo, tmp_path: Path) -> None:
    assert repo.status() is None and node_processes(repo.path) == []
    repo.out("id")
    info = repo.status()
    assert info is not None and info["OnDemand"] is True and info["Online"] is False
    assert node_processes(repo.path) == [info["Pid"]]
    assert (repo.path / "api.sock").exists()
    # The CLI process that started it is gone; the node lives on.
    assert repo.out("status").startswith(f"node {info['ID']} (pid {info['Pid']}, offline, on demand")


def test_processes_share_one_node(repo: IptfRepo, tmp_path: Path) -> None:
    files = []
    for i in range(4):
        f = tmp_path / f"f{i}"
        f.write_bytes(random_bytes(300_000, seed=i))
        files.append(f)
    code = "import iptf, sys; print(iptf.node().pid, iptf.add(sys.argv[1]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=repo.env) for f in files]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    pids = {int(out.split()[0]) for out, _ in results}
    assert len(pids) == 1
    assert node_processes(repo.path) == list(pids)
    repo.pids |= pids


def test_idle_node_stops_and_restarts(repo_factory) -> None:
    r = repo_factory("idle", IPTF_IDLE_TIMEOUT="2s")
    r.out("id")
    pid = r.status()["Pid"]
    assert wait_until(lambda: not pid_alive(pid), 20), "idle node did not stop"
    assert "idle for" in (r.path / "node.log").read_text()
    # The next command starts a new one over the stale socket.
    r.out("id")
    assert r.status()["Pid"] != pid


def test_busy_node_does_not_stop(repo_factory, tmp_path: Path) -> None:
    r = repo_factory("busy", IPTF_IDLE_TIMEOUT="3s")
    r.out("id")
    pid = r.status()["Pid"]
    f = tmp_path / "f"
    f.write_bytes(b"x")
    for _ in range(5):
        r.out("add", "-Q", str(f))
        time.sleep(1)
    assert pid_alive(pid)


def test_a_node_serving_a_peer_does_not_stop(repo_factory, tmp_path: Path) -> None:
    """Blocks sent to a peer count as activity: a node a peer keeps reading from stays up past its
    idle timeout without a command of its own, and stops once the peer stops asking."""
    source = repo_factory("serving", IPTF_IDLE_TIMEOUT="3s")
    reader = repo_factory("reading")
    for r in (source, reader):
        r.env.pop("IPTF_OFFLINE")
    cids = []
    for i in range(8):
        (tmp_path / f"part-{i}").write_bytes(random_bytes(256 << 10, seed=70 + i))
        cids.append(source.out("add", "-Q", str(tmp_path / f"part-{i}")))
    addr = next(a for a in source.out("id", "-f=<addrs>").split() if a.startswith("/ip4/127.0.0.1/tcp/"))
    reader.run("swarm", "connect", f"{addr}/p2p/{source.out('id', '-f=<id>')}")
    pid = source.status()["Pid"]
    started = time.monotonic()
    for i, cid in enumerate(cids):  # about 8 s of reads, a second apart, none a command on source
        assert reader.run("cat", cid).stdout == (tmp_path / f"part-{i}").read_bytes()
        time.sleep(max(0.0, started + i + 1 - time.monotonic()))
    assert pid_alive(pid), "the node stopped while a peer was reading from it"
    assert wait_until(lambda: not pid_alive(pid), 30), "the node did not stop once the peer stopped reading"


def test_foreground_daemon_never_idles_and_shutdown_stops_it(repo_factory) -> None:
    r = repo_factory("fg", IPTF_IDLE_TIMEOUT="1s")
    daemon = subprocess.Popen([*IPTF, "daemon"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=r.env)
    try:
        assert wait_until(lambda: r.status() is not None, 30)
        info = r.status()
        assert info["OnDemand"] is False and info["Pid"] == daemon.pid or pid_alive(info["Pid"])
        time.sleep(3)
        assert daemon.poll() is None
        r.run("shutdown")
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def test_serve_is_daemon(repo_factory) -> None:
    r = repo_factory("serve")
    daemon = subprocess.Popen([*IPTF, "serve"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=r.env)
    try:
        assert wait_until(lambda: r.status() is not None, 30)
        assert r.status()["OnDemand"] is False
        r.run("shutdown")
        assert daemon.wait(timeout=30) == 0
        assert b"Daemon is ready" in daemon.stdout.read()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def test_sigkill_during_add_leaves_a_valid_repo(repo: IptfRepo, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(random_bytes(300 << 20, seed=42))
    repo.out("id")
    pid = repo.status()["Pid"]
    add = subprocess.Popen([*IPTF, "add", "-Q", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=repo.env)
    blocks = repo.path / "blocks"
    assert wait_until(lambda: sum(1 for _ in blocks.rglob("*.data")) > 40, 60), "add made no progress"
    os.kill(pid, signal.SIGKILL)
    assert add.wait(timeout=60) != 0
    assert wait_until(lambda: not pid_alive(pid), 10)
    verify = repo.out("repo", "verify")
    assert verify.endswith("verify complete, all blocks validated."), verify
    expected = repo.out("add", "-Q", "-n", str(big))
    assert repo.out("add", "-Q", str(big)) == expected


def test_api_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    env = dict(os.environ, IPTF_PATH=str(deep), IPTF_OFFLINE="1")
    proc = subprocess.run([*IPTF, "id"], capture_output=True, env=env, check=False)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "too long for its API socket" in err and err.count("\n") == 1


def test_failed_init_leaves_nothing_behind(tmp_path: Path) -> None:
    """`iptf init` is all or nothing: a socket path that cannot fit is refused before anything is
    written; an init that fails part way removes what it made and keeps what was there."""
    deep = tmp_path / ("d" * 100)
    env = dict(os.environ, IPTF_PATH=str(deep), IPTF_OFFLINE="1")
    proc = subprocess.run([*IPTF, "init", "--profile", "test"], capture_output=True, env=env, check=False)
    assert proc.returncode == 1 and "too long for its API socket" in proc.stderr.decode(), proc.stderr
    assert not deep.exists(), f"a failed init left {sorted(p.name for p in deep.iterdir())}"
    # The next command must not find a repo (with kubo's TCP API) to start: it fails the same way.
    add = subprocess.run([*IPTF, "add", "-Q", "--only-hash", __file__], capture_output=True, env=env, check=False)
    assert add.returncode == 1 and not deep.exists(), add.stderr

    # kubo's init fails after writing its config (the blocks store cannot be made): only what
    # the user had in the folder remains.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    (mine / "blocks").write_text("a file where the block store goes")
    env = dict(os.environ, IPTF_PATH=str(mine), IPTF_OFFLINE="1")
    proc = subprocess.run([*IPTF, "init", "--profile", "test"], capture_output=True, env=env, check=False)
    assert proc.returncode != 0, proc.stdout
    assert sorted(p.name for p in mine.iterdir()) == ["blocks", "notes.txt"]
    assert (mine / "notes.txt").read_text() == "mine"


def test_online_test_profile_listens_on_loopback_only(repo_factory) -> None:
    r = repo_factory("online")
    r.env.pop("IPTF_OFFLINE")
    r.out("id")
    pid = r.status()["Pid"]
    ss = subprocess.run(["ss", "-tulnpH"], capture_output=True, text=True, check=True).stdout
    mine = [line for line in ss.splitlines() if f"pid={pid}," in line]
    assert mine, "the online node listens on nothing"
    for line in mine:
        local = line.split()[4]
        assert local.startswith("127.0.0.1:"), line


DYING_NODE = """
import json, os, signal, subprocess, sys, threading, time

def node_pid():
    status = subprocess.run([sys.executable, '-m', 'iptf', 'status', '--json'], capture_output=True, check=True)
    return json.loads(status.stdout)['Pid']

def under_a_dying_node(call):
    # The frozen node takes the connection (the kernel queues it) but never answers; then it
    # dies, which resets the connection of the call waiting on it.
    tf.io.gfile.exists('iptf://repo/root')  # a node runs (the last one died)
    pid = node_pid()
    os.kill(pid, signal.SIGSTOP)
    result = []
    def run():
        try:
            result.append(repr(call()))
        except Exception as e:
            result.append(type(e).__name__)
    t = threading.Thread(target=run)
    t.start()
    time.sleep(1)
    os.kill(pid, signal.SIGKILL)
    t.join(120)
    return result[0] if result else 'hung'

with tf.io.gfile.GFile('iptf://repo/root/f.txt', 'w') as f:
    f.write('kept')
print('stat', under_a_dying_node(lambda: tf.io.gfile.stat('iptf://repo/root/f.txt').length))
print('read', under_a_dying_node(lambda: tf.io.gfile.GFile('iptf://repo/root/f.txt', 'rb').read()))
print('listdir', under_a_dying_node(lambda: tf.io.gfile.listdir('iptf://repo/root')))
print('mkdir', under_a_dying_node(lambda: tf.io.gfile.mkdir('iptf://repo/root/d')))
"""


def test_reads_are_resent_once_when_the_node_dies_under_them(repo_factory) -> None:
    """A read whose connection the dying node resets is sent again, once, to a new node; a
    change to the tree is not (the node may have made it before it died)."""
    r: IptfRepo = repo_factory("dying")
    proc = run_tf(r, DYING_NODE)
    assert proc.returncode == 0, proc.stderr
    results = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert results == {"stat": "4", "read": "b'kept'", "listdir": "['f.txt']", "mkdir": "UnavailableError"}, results
    r.status()  # the last node started, for the fixture to stop
