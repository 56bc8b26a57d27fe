"""iptf:// through TensorFlow itself: gfile, tf.data, checkpoints, SavedModel, Keras, summaries,
TensorBoard, error classes, persistence, several processes. Real TensorFlow, real node."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes, wait_until
from harness.tf_support import run_tf

ROOT = "iptf://repo/root"


@pytest.fixture
def work(tf) -> str:
    """A fresh directory under the writable tree."""
    d = f"{ROOT}/t-{uuid.uuid4().hex[:8]}"
    tf.io.gfile.makedirs(d)
    return d


def test_plain_import_registers_scheme(tf_repo: IptfRepo) -> None:
    proc = run_tf(tf_repo, "print('iptf' in tf.io.gfile.get_registered_schemes())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
    again = run_tf(tf_repo, "import iptf; iptf.enable(); iptf.enable(); print(tf.io.gfile.exists('iptf://repo/root'))")
    assert again.returncode == 0 and again.stdout.strip() == "True", again.stderr


def test_gfile_operations(tf, work: str) -> None:
    gf = tf.io.gfile
    assert gf.isdir(work) and gf.listdir(work) == []
    with gf.GFile(f"{work}/a.txt", "w") as f:
        f.write("hello ")
    with gf.GFile(f"{work}/a.txt", "a") as f:
        f.write("world")
    with gf.GFile(f"{work}/a.txt") as f:
        assert f.read() == "hello world"
    assert gf.stat(f"{work}/a.txt").length == 11 and not gf.stat(f"{work}/a.txt").is_directory
    gf.makedirs(f"{work}/sub/deeper")
    gf.copy(f"{work}/a.txt", f"{work}/sub/b.txt")
    gf.rename(f"{work}/sub/b.txt", f"{work}/sub/deeper/c.txt")
    assert sorted(gf.listdir(work)) == ["a.txt", "sub/"] or sorted(gf.listdir(work)) == ["a.txt", "sub"]
    assert gf.glob(f"{work}/sub/*/*.txt") == [f"{work}/sub/deeper/c.txt"]
    assert [p for p, _, _ in gf.walk(work)][0] == work
    gf.rename(f"{work}/a.txt", f"{work}/sub/deeper/c.txt", overwrite=True)
    assert not gf.exists(f"{work}/a.txt")
    # Up the tree: the destination's folder holds the source's folder.
    gf.copy(f"{work}/sub/deeper/c.txt", f"{work}/sub/deeper/up.txt")
    gf.rename(f"{work}/sub/deeper/up.txt", f"{work}/up.txt")
    assert gf.listdir(f"{work}/sub/deeper") == ["c.txt"] and gf.exists(f"{work}/up.txt")
    gf.remove(f"{work}/up.txt")
    with gf.GFile(f"{work}/sub/deeper/c.txt", "rb") as f:
        f.seek(6)
        assert f.read(5) == b"world"
    gf.remove(f"{work}/sub/deeper/c.txt")
    gf.rmtree(f"{work}/sub")
    assert gf.listdir(work) == []


def test_large_file_round_trip_and_cid(tf, tf_repo: IptfRepo, work: str, tmp_path: Path) -> None:
    data = random_bytes(5 * 1024 * 1024 + 123, seed=77)
    with tf.io.gfile.GFile(f"{work}/big.bin", "wb") as f:
        for i in range(0, len(data), 1 << 20):
            f.write(data[i:i + (1 << 20)])
    with tf.io.gfile.GFile(f"{work}/big.bin", "rb") as f:
        assert f.read() == data
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    import iptf

    # Written through TensorFlow, the file has the CID `iptf add` gives the same bytes.
    assert iptf.cid_of(f"{work}/big.bin") == "iptf://ipfs/" + tf_repo.out("add", "-Q", str(local))


def test_read_file_in_tf_function(tf, tf_repo: IptfRepo, tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"bytes by content")
    cid = tf_repo.out("add", "-Q", str(f))

    @tf.function
    def read(path):
        return tf.io.read_file(path)

    assert read(tf.constant(f"iptf://ipfs/{cid}")).numpy() == b"bytes by content"


def test_tfrecords_written_then_read_by_cid(tf, tf_repo: IptfRepo, work: str, tmp_path: Path) -> None:
    path = f"{work}/data.tfrecord"
    with tf.io.TFRecordWriter(path) as w:
        for i in range(1000):
            w.write(f"record-{i}".encode() * (i % 7 + 1))
    import iptf

    cid = iptf.cid_of(path)
    records = [r.numpy() for r in tf.data.TFRecordDataset(cid)]
    assert len(records) == 1000 and records[10] == b"record-10" * 4
    # The same bytes inside a directory added with `iptf add -r`, read by path under its CID.
    local = tmp_path / "ds"
    local.mkdir()
    tf.io.gfile.copy(path, str(local / "data.tfrecord"))
    folder = tf_repo.out("add", "-r", "-Q", str(local))
    parsed = list(tf.data.TFRecordDataset(f"iptf://ipfs/{folder}/data.tfrecord").take(3).as_numpy_iterator())
    assert parsed == [b"record-0", b"record-1" * 2, b"record-2" * 3]


def test_checkpoint_and_manager(tf, work: str) -> None:
    v = tf.Variable([1.0, 2.0, 3.0])
    ckpt = tf.train.Checkpoint(v=v, step=tf.Variable(0))
    manager = tf.train.CheckpointManager(ckpt, f"{work}/ckpt", max_to_keep=2)
    for step in range(3):
        ckpt.step.assign(step)
        v.assign_add([1.0, 1.0, 1.0])
        manager.save()
    assert len(manager.checkpoints) == 2
    # TensorFlow's temporary shard folders are renamed out of and deleted.
    assert not [n for n in tf.io.gfile.listdir(f"{work}/ckpt") if "_temp" in n]
    assert tf.train.latest_checkpoint(f"{work}/ckpt") == manager.latest_checkpoint
    restored = tf.train.Checkpoint(v=tf.Variable([0.0, 0.0, 0.0]), step=tf.Variable(-1))
    restored.restore(manager.latest_checkpoint).assert_consumed()
    assert restored.v.numpy().tolist() == [4.0, 5.0, 6.0] and int(restored.step) == 2


def test_saved_model_and_load_model(tf, work: str) -> None:
    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x):
            return 2 * x

    tf.saved_model.save(Doubler(), f"{work}/sm")
    assert tf.io.gfile.exists(f"{work}/sm/saved_model.pb")
    import iptf

    loaded = iptf.load_model(f"{work}/sm")
    assert loaded(tf.constant([1.0, 4.0])).numpy().tolist() == [2.0, 8.0]


def test_keras_model_save_load(tf, work: str) -> None:
    import keras
    import numpy as np

    import iptf

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    x = np.arange(8, dtype="float32").reshape(2, 4)
    model.save(f"{work}/m.keras")
    model.save_weights(f"{work}/m.weights.h5")
    assert np.allclose(iptf.load_model(f"{work}/m.keras")(x), model(x))
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    other.load_weights(f"{work}/m.weights.h5")
    assert np.allclose(other(x), model(x))


def test_keras_legacy_h5_works_without_local_folder(tf_repo: IptfRepo, tmp_path: Path) -> None:
    # A plain process (no `import iptf`): the hook installed with the package does the work.
    code = """
import keras, numpy as np
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
model.save('iptf://repo/root/legacy.h5')
x = np.ones((1, 4), dtype='float32')
print(np.allclose(keras.models.load_model('iptf://repo/root/legacy.h5')(x), model(x)))
"""
    proc = subprocess.run([sys.executable, "-c", "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'\n" + code],
                          capture_output=True, text=True, env=tf_repo.env, cwd=tmp_path, timeout=300, check=False)
    assert proc.stdout.strip().endswith("True"), proc.stderr
    assert not (tmp_path / "iptf:").exists()
    assert tf_repo.out("iptf", "stat", "iptf://repo/root/legacy.h5").count('"file"') == 1


def test_summary_writer_and_tensorboard(tf, tf_repo: IptfRepo) -> None:
    logdir = f"{ROOT}/logs-{uuid.uuid4().hex[:6]}"
    for run in ("run-a", "run-b"):
        writer = tf.summary.create_file_writer(f"{logdir}/{run}")
        with writer.as_default():
            for step in range(5):
                tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
        writer.flush()
        writer.close()
    assert len(tf.io.gfile.glob(f"{logdir}/run-a/events.out.tfevents.*")) == 1

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    board = subprocess.Popen(
        ["tensorboard", "--logdir", logdir, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(tf_repo.env, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"))
    try:
        def runs() -> list[str]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=5) as r:
                    return json.loads(r.read())
            except OSError:
                return []
        assert wait_until(lambda: sorted(runs()) == ["run-a", "run-b"], 90, interval=1), runs()
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=run-a&tag=loss", timeout=10) as r:
            points = json.loads(r.read())
        assert [p[1] for p in points] == [0, 1, 2, 3, 4]
    finally:
        board.terminate()
        board.wait(timeout=30)


def test_growing_event_file_is_readable_while_written(tf, tf_repo: IptfRepo) -> None:
    path = f"{ROOT}/growing-{uuid.uuid4().hex[:6]}.txt"
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("first\n")
        f.flush()
        seen = run_tf(tf_repo, f"print(tf.io.gfile.GFile({path!r}).read(), end='')")
        assert seen.stdout == "first\n", seen.stderr
        f.write("second\n")
        f.flush()
        seen = run_tf(tf_repo, f"print(tf.io.gfile.GFile({path!r}).read(), end='')")
        assert seen.stdout == "first\nsecond\n", seen.stderr


def error_of(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout.strip()


CLASSIFY = """
def check(fn):
    try:
        fn()
    except tf.errors.OpError as e:
        print(type(e).__name__, '|', e.message)
        return
    print('no error')
"""


@pytest.mark.parametrize("expr,error", [
    ("tf.io.gfile.GFile('iptf://ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/missing').read()", "NotFoundError"),
    ("tf.io.gfile.GFile('iptf://repo/root/nope/x.txt').read()", "NotFoundError"),
    ("tf.io.gfile.GFile('iptf://ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/x', 'w').write('x')", "PermissionDeniedError"),
    ("(tf.io.gfile.GFile('iptf://repo/root/exists.txt', 'w').write('x'), "
     "tf.io.gfile.copy('iptf://repo/root/exists.txt', 'iptf://repo/root/exists.txt', overwrite=False))",
     "AlreadyExistsError"),
    ("tf.io.gfile.GFile('iptf://repo/root').read()", "FailedPreconditionError"),
    ("tf.io.gfile.GFile('iptf://ipfs/not-a-cid').read()", "InvalidArgumentError"),
    ("tf.io.gfile.GFile('iptf://elsewhere/x').read()", "InvalidArgumentError"),
])
def test_error_classes(tf_repo: IptfRepo, expr: str, error: str) -> None:
    proc = run_tf(tf_repo, CLASSIFY + f"check(lambda: {expr})")
    name, _, message = error_of(proc).partition(" | ")
    assert name == error, proc.stdout + proc.stderr
    assert "\n" not in message
    if error != "AlreadyExistsError":  # that one is TensorFlow's own check, before the plugin
        assert "iptf://" in message


def test_content_that_is_no_unixfs_file_has_its_class(tf_repo: IptfRepo) -> None:
    """dag-cbor and dag-json blocks, and paths below a file, are the user's mistake, not Internal."""
    cbor = tf_repo.out("dag", "put", "--store-codec=dag-cbor", input=b'{"a": 1}')
    dag_json = tf_repo.out("dag", "put", "--store-codec=dag-json", "--input-codec=dag-json", input=b'{"a": 1}')
    file_cid = tf_repo.out("add", "-Q", input=b"a file\n")
    cases = [(f"tf.io.gfile.GFile('iptf://ipfs/{c}').read()", "InvalidArgumentError") for c in (cbor, dag_json)]
    cases += [(f"tf.io.gfile.stat('iptf://ipfs/{cbor}')", "InvalidArgumentError"),
              (f"tf.io.gfile.GFile('iptf://ipfs/{file_cid}/child').read()", "FailedPreconditionError"),
              (f"tf.io.gfile.stat('iptf://ipfs/{file_cid}/child')", "FailedPreconditionError")]
    code = CLASSIFY + "\n".join(f"check(lambda: {expr})" for expr, _ in cases)
    proc = run_tf(tf_repo, code)
    got = [line.partition(" | ")[0] for line in proc.stdout.splitlines() if " | " in line or line == "no error"]
    assert got == [error for _, error in cases], proc.stdout + proc.stderr[-2000:]


def test_paths_under_a_file_are_failed_precondition(tf_repo: IptfRepo) -> None:
    """A path that runs under a file is FailedPrecondition for every operation, as TensorFlow's
    POSIX filesystem answers ENOTDIR: never NotFound, AlreadyExists, InvalidArgument or Internal."""
    base = f"{ROOT}/under-{uuid.uuid4().hex[:8]}"
    file_cid = tf_repo.out("add", "-Q", input=b"a file\n")
    setup = (f"tf.io.gfile.makedirs('{base}'); tf.io.gfile.GFile('{base}/f', 'w').write('a file'); "
             f"tf.io.gfile.GFile('{base}/g', 'w').write('another')")
    # (tf.io.gfile.listdir is left out: TensorFlow's Python raises its own NotFoundError when
    # isdir is False, before it asks the filesystem.)
    reads = ["tf.io.gfile.stat('{u}')", "tf.io.gfile.exists('{u}')", "tf.io.gfile.GFile('{u}').read()",
             "tf.io.gfile.isdir('{u}') or tf.io.gfile.stat('{u}')", f"tf.io.gfile.copy('{{u}}', '{base}/copy')"]
    writes = ["tf.io.gfile.GFile('{u}', 'w').write('x')", "tf.io.gfile.GFile('{u}', 'a').write('x')",
              "tf.io.gfile.mkdir('{u}')", "tf.io.gfile.makedirs('{u}')", "tf.io.gfile.makedirs('{u}/z')",
              "tf.io.gfile.remove('{u}')", "tf.io.gfile.rmtree('{u}')",
              f"tf.io.gfile.rename('{{u}}', '{base}/moved')", f"tf.io.gfile.rename('{base}/g', '{{u}}', True)",
              f"tf.io.gfile.copy('{base}/g', '{{u}}', True)"]
    cases = [op.format(u=u) for u in (f"{base}/f/x", f"{base}/f/x/y") for op in reads + writes]
    cases += [op.format(u=u) for u in (f"iptf://ipfs/{file_cid}/x", f"iptf://ipfs/{file_cid}/x/y") for op in reads]
    proc = run_tf(tf_repo, CLASSIFY + setup + "\n" + "\n".join(f"check(lambda: {c})" for c in cases))
    got = [line.partition(" | ")[0] for line in proc.stdout.splitlines() if " | " in line or line == "no error"]
    assert len(got) == len(cases), proc.stdout + proc.stderr[-2000:]
    wrong = [(c, g) for c, g in zip(cases, got) if g != "FailedPreconditionError"]
    assert not wrong, wrong

    api = tf_repo.python(
        "import iptf\n"
        f"for u in ('{base}/f/x', 'iptf://ipfs/{file_cid}/x'):\n"
        "    try:\n"
        "        iptf.cat(u)\n"
        "    except iptf.FailedPrecondition as e:\n"
        "        print('FailedPrecondition', e)\n")
    assert api.stdout.decode().count("FailedPrecondition") == 2, api.stdout.decode() + api.stderr.decode()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _cid_v1(codec: int, hash_code: int, digest: bytes) -> str:
    """A CIDv1 in base32, built by hand: kubo's tools refuse to make one the node cannot read."""
    raw = _varint(1) + _varint(codec) + _varint(hash_code) + _varint(len(digest)) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def test_content_the_node_cannot_read_is_invalid_argument(tf_repo: IptfRepo) -> None:
    """A subpath into dag-cbor or dag-json, or a CID of a codec or hash function the node does not
    know, is the user's mistake (InvalidArgument), not Internal."""
    cbor = tf_repo.out("dag", "put", "--store-codec=dag-cbor", input=b'{"a": 1}')
    dag_json = tf_repo.out("dag", "put", "--store-codec=dag-json", "--input-codec=dag-json", input=b'{"a": 1}')
    unknown_codec = _cid_v1(0x9999, 0x12, hashlib.sha256(b"?").digest())  # no decoder for codec 0x9999
    unknown_hash = _cid_v1(0x55, 0x9999, b"ab")  # raw, hashed by a function registered nowhere
    uris = [f"iptf://ipfs/{c}{sub}" for c in (cbor, dag_json) for sub in ("/a", "/b", "/a/b")]
    uris += [f"iptf://ipfs/{unknown_codec}/a", f"iptf://ipfs/{unknown_hash}", f"iptf://ipfs/{unknown_hash}/a"]
    proc = run_tf(tf_repo, CLASSIFY + "\n".join(f"check(lambda: tf.io.gfile.stat('{u}'))" for u in uris))
    got = [line.partition(" | ")[0] for line in proc.stdout.splitlines() if " | " in line or line == "no error"]
    assert got == ["InvalidArgumentError"] * len(uris), proc.stdout + proc.stderr[-2000:]


def test_unreachable_content_is_unavailable_within_the_timeout(repo_factory, tmp_path: Path) -> None:
    online = repo_factory("online-empty")
    online.env.pop("IPTF_OFFLINE")  # online, but with no peers: nobody has the block
    missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    start = time.monotonic()
    proc = run_tf(online, CLASSIFY + f"check(lambda: tf.io.gfile.GFile('iptf://ipfs/{missing}').read())",
                  IPTF_TIMEOUT="3")
    assert time.monotonic() - start < 60
    assert error_of(proc).startswith(f"UnavailableError | iptf://ipfs/{missing}: content not retrievable in time"), \
        proc.stdout + proc.stderr


def test_no_node_binary_is_unavailable(tf_repo: IptfRepo, tmp_path: Path) -> None:
    r = IptfRepo(tmp_path / "never-started")
    proc = run_tf(r, CLASSIFY + "check(lambda: tf.io.gfile.exists('iptf://repo/root/x') or "
                                "tf.io.gfile.GFile('iptf://repo/root/x').read())",
                  IPTF_NODE_BINARY=str(tmp_path / "no-such-binary"))
    assert error_of(proc).startswith("UnavailableError"), proc.stdout + proc.stderr


def test_persistence_across_processes_and_restarts(tf_repo: IptfRepo, repo_factory) -> None:
    r = repo_factory("persist")
    wrote = run_tf(r, "tf.io.gfile.makedirs('iptf://repo/root/keep'); "
                      "tf.io.gfile.GFile('iptf://repo/root/keep/f.txt', 'w').write('survives')")
    assert wrote.returncode == 0, wrote.stderr
    r.run("shutdown")
    assert wait_until(lambda: r.status() is None, 20)
    read = run_tf(r, "print(tf.io.gfile.GFile('iptf://repo/root/keep/f.txt').read())")
    assert read.stdout.strip() == "survives", read.stderr


def test_readers_in_several_processes_and_forked_children(tf_repo: IptfRepo, tmp_path: Path) -> None:
    data = random_bytes(3 * 1024 * 1024, seed=12)
    (tmp_path / "d.bin").write_bytes(data)
    cid = tf_repo.out("add", "-Q", str(tmp_path / "d.bin"))
    code = f"""
import hashlib, multiprocessing as mp
path = 'iptf://ipfs/{cid}'
def digest(offset):
    with tf.io.gfile.GFile(path, 'rb') as f:
        f.seek(offset)
        return hashlib.sha256(f.read(1 << 20)).hexdigest()
first = digest(0)                         # the parent uses the plugin before forking
with mp.get_context('fork').Pool(3) as pool:
    print(first == pool.map(digest, [0])[0], pool.map(digest, [0, 1 << 20, 2 << 20]))
"""
    procs = [subprocess.Popen([sys.executable, "-c", "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; "
                               "import tensorflow as tf\n" + code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=tf_repo.env) for _ in range(2)]
    import hashlib

    want = [hashlib.sha256(data[i << 20:(i + 1) << 20]).hexdigest() for i in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.strip() == f"True {want}"


def test_meta_paths_and_publish(tf, tf_repo: IptfRepo, work: str) -> None:
    with tf.io.gfile.GFile(f"{work}/w.txt", "w") as f:
        f.write("weights")
    meta = json.loads(tf.io.gfile.GFile(work.replace("iptf://", "iptf://meta/") + "/w.txt").read())
    import iptf

    assert meta["IpfsPath"] == iptf.cid_of(f"{work}/w.txt")
    peer = iptf.node().peer_id
    assert meta["IpnsPath"] == f"iptf://ipns/{peer}/{work.removeprefix(ROOT + '/')}/w.txt"
    with tf.io.gfile.GFile("iptf://meta/repo/root", "w") as f:
        f.write(json.dumps({"command": "publish"}))
    assert tf.io.gfile.GFile(meta["IpnsPath"]).read() == "weights"


def test_publish_to_a_missing_meta_path_is_not_found(tf, work: str) -> None:
    missing = work.replace("iptf://", "iptf://meta/") + f"/absent-{uuid.uuid4().hex[:8]}"
    with pytest.raises(tf.errors.NotFoundError) as err:
        with tf.io.gfile.GFile(missing, "w") as f:
            f.write(json.dumps({"command": "publish"}))
    assert "absent-" in str(err.value) and "\n" not in str(err.value).strip()


def test_reflog_records_reads_and_writes(tf, tf_repo: IptfRepo, work: str) -> None:
    path = f"{work}/logged.txt"
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("logged bytes")
    assert tf.io.gfile.GFile(path).read() == "logged bytes"
    entries = json.loads(tf_repo.out("reflog", f"--path={path}", f"--pid={os.getpid()}", "--enc=json"))["Entries"]
    ops = [e["Op"] for e in entries]
    assert ops[0] == "write" and "read" in ops
    import iptf

    cid = iptf.cid_of(path).removeprefix("iptf://ipfs/")
    assert {e["Cid"] for e in entries} == {cid}
    # Program: the interpreter's base name and what it runs (pytest's module, or a script that
    # runs pytest), as this process's command line has them.
    argv = [a.decode() for a in Path("/proc/self/cmdline").read_bytes().split(b"\0")[:-1]]
    assert all(e["Pid"] == os.getpid() and e["Program"].startswith("python") and
               e["Program"].split()[:3] == [os.path.basename(argv[0]), *argv[1:3]] for e in entries), (argv, entries)
    shown = tf_repo.out("reflog", "show", str(entries[-1]["N"]))
    assert f"iptf://ipfs/{cid}" in shown


def test_cid_of_local_paths(tf_repo: IptfRepo, tmp_path: Path) -> None:
    import iptf

    (tmp_path / "f").write_bytes(b"hello world\n")
    assert iptf.cid_of(tmp_path / "f") == "iptf://ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    with pytest.raises(iptf.NotFound):
        iptf.cid_of(tmp_path / "absent")
