"""`bazel run //iptf/python:iptf -- …` as a user runs it, from a folder of their own in the
workspace: a TFRecord file added and read back by CID through tf.data in `python foo.py`, served
by the Bazel-built node; `tensorboard --logdir iptf://…` serving a run. Run by `make bazel-test`
(after Bazel's own tests)."""

from __future__ import annotations

import json
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

WORKSPACE = Path(__file__).resolve().parents[3]
from harness import free_port, wait_for_tensorboard_run

FOO = """
import hashlib, sys
import tensorflow as tf

records = list(tf.data.TFRecordDataset(sys.argv[1]).as_numpy_iterator())
print(len(records), hashlib.sha256(b"".join(records)).hexdigest())
"""


@pytest.fixture
def folder(tmp_path: Path):
    """A folder of the user's inside the workspace (Bazel runs only from within one), and an
    isolated repo whose node is stopped after."""
    (WORKSPACE / "build").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bazel-run-", dir=WORKSPACE / "build"))
    env = dict(os.environ, IPTF_PATH=str(tmp_path / "repo"), IPTF_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    yield work, env
    subprocess.run(["bazel", "run", "//iptf/python:iptf", "--", "shutdown"], cwd=work, env=env,
                   capture_output=True, check=False)
    shutil.rmtree(work, ignore_errors=True)


def iptf(folder: Path, env: dict[str, str], *args: str) -> str:
    """`bazel run //iptf/python:iptf -- args` from folder; its standard output."""
    proc = subprocess.run(["bazel", "run", "--ui_event_filters=-info,-stdout", "--noshow_progress",
                           "//iptf/python:iptf", "--", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout.strip()


def test_a_script_reads_a_tfrecord_file_by_cid(folder) -> None:
    work, env = folder
    records = [f"record {i} ".encode() * (i + 1) for i in range(500)]
    writer = ("import sys, tensorflow as tf\n"
              "with tf.io.TFRecordWriter(sys.argv[1]) as w:\n"
              "    for record in sys.stdin.buffer.read().split(b'\\n'): w.write(record)\n")
    made = subprocess.run([sys.executable, "-c", writer, "data.tfrecord"], input=b"\n".join(records), cwd=work,
                          env=env, capture_output=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr[-2000:]

    iptf(work, env, "init", "--profile", "test")
    cid = iptf(work, env, "add", "-Q", "data.tfrecord").splitlines()[-1]
    (work / "foo.py").write_text(FOO)
    out = iptf(work, env, "python", "foo.py", f"iptf://ipfs/{cid}")
    assert out.splitlines()[-1] == f"{len(records)} {hashlib.sha256(b''.join(records)).hexdigest()}"

    # The node that served is the Bazel-built one (laid out in the runfiles' site-packages).
    pid = json.loads(iptf(work, env, "status", "--json"))["Pid"]
    exe = os.readlink(f"/proc/{pid}/exe")
    assert "bazel-out" in exe and exe.endswith("bazel/site-packages/iptf/bin/iptf-node"), exe


SUMMARIES = """
import tensorflow as tf
w = tf.summary.create_file_writer("iptf://repo/root/logs/run1")
with w.as_default():
    for step in range(5):
        tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
w.close()
"""


def test_tensorboard_serves_an_iptf_logdir(folder) -> None:
    work, env = folder
    iptf(work, env, "init", "--profile", "test")
    (work / "summaries.py").write_text(SUMMARIES)
    iptf(work, env, "python", "summaries.py")
    port = free_port()
    log = work / "tensorboard.log"
    with open(log, "wb") as out:
        tb = subprocess.Popen(["bazel", "run", "//iptf/python:iptf", "--", "tensorboard", "--logdir",
                               "iptf://repo/root/logs", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_tensorboard_run(port, tb, log, timeout=300)
    finally:
        os.killpg(tb.pid, signal.SIGTERM)
        tb.wait(timeout=30)

