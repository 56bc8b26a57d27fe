"""A node killed (SIGKILL) at random moments, 100 times, while TensorFlow writes and renames files:
nothing whose close (or rename) returned is lost, and the repo verifies clean.

One writer process writes files of random sizes through `tf.io.gfile.GFile`, some under a
temporary name renamed afterwards (as checkpoints are), and reports each file once its close
or rename has returned. Operations that fail while the node is down are retried by the writer
with new names; they count for nothing. Meanwhile the test kills whatever node serves the repo
at random delays; the plugin starts the next one on demand, which applies the write-back
journal the killed one left. Real TensorFlow, real node, real signals.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from harness import IptfRepo, pid_alive, wait_until
from harness.tf_support import SUBPROCESS_PRELUDE

ROUNDS = 100

WRITER = SUBPROCESS_PRELUDE + """
import hashlib, os, random, sys
rng = random.Random(int(sys.argv[1]))
root = 'iptf://repo/root/k'
tf.io.gfile.makedirs(root)
print('ready', flush=True)
i = 0
while True:
    i += 1
    name = f'{root}/f{i:05d}.bin'
    data = rng.randbytes(rng.choice([10, 5000, 300000, 1200000]))
    renamed = rng.random() < 0.3
    try:
        target = name + '.tmp' if renamed else name
        with tf.io.gfile.GFile(target, 'wb') as f:
            f.write(data)
        if renamed:
            tf.io.gfile.rename(target, name, overwrite=True)
    except tf.errors.OpError as e:
        print('failed', name, type(e).__name__, flush=True)
        continue
    print('done', name, hashlib.sha256(data).hexdigest(), len(data), flush=True)
"""


def node_pid(repo: IptfRepo) -> int | None:
    info = repo.status()
    return int(info["Pid"]) if info else None


def test_sigkill_at_random_points_loses_nothing_closed(repo: IptfRepo, tmp_path) -> None:
    rng = random.Random(2026)
    log = tmp_path / "writer.log"
    out = open(log, "w+")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, "5"], stdout=out, stderr=subprocess.STDOUT,
                              env=dict(repo.env, TF_CPP_MIN_LOG_LEVEL="3"))
    kills = 0
    try:
        assert wait_until(lambda: "ready" in log.read_text() or writer.poll() is not None, 120)
        assert writer.poll() is None, log.read_text()[-3000:]
        deadline = time.monotonic() + 600
        while kills < ROUNDS and time.monotonic() < deadline:
            assert writer.poll() is None, "the writer died"
            time.sleep(rng.uniform(0.0, 0.4))
            pid = node_pid(repo)
            if pid is None:
                continue  # between nodes: the writer starts the next one
            os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda: not pid_alive(pid), 10)
            kills += 1
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert kills == ROUNDS, f"only {kills} kills in 10 minutes"

    out.seek(0)
    lines = out.read().splitlines()
    done = [line.split()[1:] for line in lines if line.startswith("done ")]
    failed = [line for line in lines if line.startswith("failed ")]
    assert len(done) >= ROUNDS, f"the writer completed only {len(done)} files ({len(failed)} failed)"
    # Read everything back through TensorFlow in one process (it starts a node, which applies
    # what the last killed one left queued).
    check = SUBPROCESS_PRELUDE + """
import hashlib, json, sys
out = {}
for name in json.load(open(sys.argv[1])):
    try:
        with tf.io.gfile.GFile(name, 'rb') as f:
            b = f.read()
        out[name] = [hashlib.sha256(b).hexdigest(), len(b)]
    except tf.errors.OpError as e:
        out[name] = [type(e).__name__, str(e).splitlines()[0]]
print(json.dumps(out))
"""
    names = tmp_path / "names.json"
    names.write_text(json.dumps([d[0] for d in done]))
    proc = subprocess.run([sys.executable, "-c", check, str(names)], capture_output=True, text=True,
                          env=repo.env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    lost = {name: (got[name], [digest, int(size)]) for name, digest, size in done if got[name] != [digest, int(size)]}
    assert not lost, f"{len(lost)} of {len(done)} closed files lost or changed after {kills} kills: " \
                     f"{dict(list(lost.items())[:5])}"
    verify = repo.run("repo", "verify", check=False)
    assert verify.returncode == 0, verify.stdout.decode()[-2000:] + verify.stderr.decode()[-2000:]
    assert not repo.status().get("FailedWrites")
