"""One vocabulary for the user: what the reflog and the Python API print pastes into the `iptf`
command; IPTF's own help, version and errors; models by fingerprint; the reflog under final
names; `status` after a crash; the demo's repo kept. Driven as a user drives them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from harness import IPTF, IptfRepo, pid_alive, wait_until
from harness.tf_support import run_tf


def reflog_entries(repo: IptfRepo, *filters: str) -> list[dict]:
    return json.loads(repo.out("reflog", *filters, "--enc=json"))["Entries"]


def test_cli_takes_the_uris_the_reflog_prints(repo: IptfRepo, tmp_path: Path) -> None:
    proc = run_tf(repo, """
tf.io.gfile.makedirs('iptf://repo/root/data')
with tf.io.gfile.GFile('iptf://repo/root/data/labels.csv', 'w') as f:
    f.write('id,label\\n1,cat\\n')
""")
    assert proc.returncode == 0, proc.stderr
    number = reflog_entries(repo, "--path=labels.csv")[-1]["N"]
    shown = repo.out("reflog", "show", str(number))
    pasted = re.search(r"^re-read\s+(iptf://ipfs/\S+)$", shown, re.M).group(1)
    assert repo.out("cat", pasted) == "id,label\n1,cat"
    assert repo.out("cat", "iptf://repo/root/data/labels.csv") == "id,label\n1,cat"
    dir_cid = repo.out("files", "stat", "--hash", "iptf://repo/root/data")
    assert "labels.csv" in repo.out("ls", f"iptf://ipfs/{dir_cid}")
    assert "labels.csv" in repo.out("ls", "iptf://repo/root/data")
    assert repo.out("cat", f"iptf://ipfs/{dir_cid}/labels.csv") == "id,label\n1,cat"
    repo.run("get", "-o", str(tmp_path / "got"), "iptf://repo/root/data")
    assert (tmp_path / "got" / "labels.csv").read_text() == "id,label\n1,cat\n"
    assert "pinned" in repo.out("pin", "add", pasted)
    assert pasted.removeprefix("iptf://ipfs/") in repo.out("pin", "ls", "--type=recursive")
    repo.run("files", "cp", pasted, "iptf://repo/root/data/copy.csv")
    assert repo.out("cat", "iptf://repo/root/data/copy.csv") == "id,label\n1,cat"
    # What does not exist, or is not content, is one line naming the URI.
    missing = repo.run("cat", "iptf://repo/root/data/absent.csv", check=False)
    assert missing.returncode == 1 and "iptf://repo/root/data/absent.csv" in missing.stderr.decode()
    assert "no such file" in missing.stderr.decode() and "Traceback" not in missing.stderr.decode()
    meta = repo.run("cat", "iptf://meta/repo/root/data", check=False)
    assert meta.returncode == 1 and "meta" in meta.stderr.decode()


def test_python_api_takes_every_namespace_and_returns_uris(repo: IptfRepo, tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"weights")
    proc = run_tf(repo, f"""
import iptf
added = iptf.add({str(tmp_path / 'w.bin')!r})
assert added.startswith('iptf://ipfs/Qm'), added
with tf.io.gfile.GFile('iptf://repo/root/w.bin', 'wb') as f:
    f.write(b'weights')
assert iptf.cid_of('iptf://repo/root/w.bin') == added
assert iptf.cat('iptf://repo/root/w.bin') == b'weights'
assert iptf.cat(added, offset=2, length=3) == b'igh'
assert iptf.cat(added.removeprefix('iptf://ipfs/')) == b'weights'
for path, cls in [('iptf://repo/root/absent', iptf.NotFound), ('iptf://ipfs/notacid', iptf.InvalidArgument),
                  ('relative/path', iptf.InvalidArgument)]:
    try:
        iptf.cat(path)
    except cls:
        pass
    else:
        raise AssertionError(path)
try:
    iptf.cid_of('iptf://repo/root/absent')
except iptf.NotFound:
    print('ok')
""", argv=("--flag", "x"))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    # Reads through the Python API are in the reflog, under the whole command line.
    reads = reflog_entries(repo, "--op=read", "--path=iptf://repo/root/w.bin")
    assert reads and reads[0]["Program"].endswith("--flag x"), reads


def test_help_version_and_errors_speak_of_iptf(repo: IptfRepo) -> None:
    texts = {args: repo.run(*args, check=False).stdout.decode() for args in [
        ("--help",), ("add", "--help"), ("cat", "--help"), ("files", "--help"), ("repo", "gc", "--help"),
        ("daemon", "--help"), ("config", "--help"), ("pin", "add", "--help"), ("init", "--help"),
    ]}
    for args, text in texts.items():
        assert text.strip(), args
        for kubo_word in ("~/.ipfs", "IPFS_PATH", "5001"):
            assert kubo_word not in text, (args, kubo_word)
        usage = [line for line in text.splitlines() if re.match(r"\s+ipfs\s", line)]
        assert not usage, (args, usage)
    assert "~/.iptf" in texts[("--help",)] and "IPTF_PATH" in texts[("--help",)]
    assert "api.sock" in texts[("--help",)]
    assert "\n  update " not in texts[("--help",)]
    usage = repo.run("files", "cp", check=False, input=b"").stderr.decode()
    assert "argument \"source\" is required" in usage and "iptf files cp <source> <dest>" in usage
    assert not re.search(r"(^|\s)ipfs [a-z]", usage), usage
    from iptf import __version__

    assert repo.out("--version").startswith(f"iptf version {__version__} (kubo 0.43")
    assert repo.out("version", "--number") == __version__
    update = repo.run("update", check=False)
    assert update.returncode == 1 and "pip install -U iptf-tensorflow" in update.stderr.decode()


def test_autostart_off_creates_no_repo(tmp_path: Path) -> None:
    repo = IptfRepo(tmp_path / "never", extra_env={"IPTF_AUTOSTART": "0"})
    for args in (("repo", "stat"), ("add", "--help"), ("status",), ("files", "ls", "/")):
        proc = repo.run(*args, check=False)
        assert "Traceback" not in proc.stderr.decode(), args
    proc = repo.run("repo", "stat", check=False)
    assert proc.returncode == 1 and "IPTF_AUTOSTART=0" in proc.stderr.decode()
    assert not repo.path.exists()


def test_status_after_the_node_is_killed(repo: IptfRepo, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    repo.run("add", "-Q", str(tmp_path / "f"))
    info = repo.status()
    assert info is not None
    os.kill(info["Pid"], signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(info["Pid"]), 10)
    repo.pids.discard(info["Pid"])
    env = dict(repo.env, IPTF_AUTOSTART="0")
    proc = subprocess.run([*IPTF, "status"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 1
    assert "no IPTF node is running" in proc.stdout + proc.stderr
    assert "pid" not in proc.stdout
    as_json = subprocess.run([*IPTF, "status", "--json"], capture_output=True, text=True, env=env, timeout=60,
                             check=False)
    assert as_json.returncode == 1 and "Pid" not in as_json.stdout


MODELS = """
import iptf, keras, numpy as np
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
model.compile(optimizer='adam', loss=keras.losses.MeanSquaredError())
x = np.ones((2, 4), 'float32')
want = model.predict(x, verbose=0)
tf.io.gfile.makedirs('iptf://repo/root/m')
model.save('iptf://repo/root/m/model.keras')
model.save('iptf://repo/root/m/model.h5')
model.save_weights('iptf://repo/root/m/model.weights.h5')
tf.saved_model.save(tf.Module(), 'iptf://repo/root/m/saved')

class Double(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, v):
        return 2 * v

tf.saved_model.save(Double(), 'iptf://repo/root/m/double')
for name in ('model.keras', 'model.h5'):
    for path in ('iptf://repo/root/m/' + name, iptf.cid_of('iptf://repo/root/m/' + name)):
        got = iptf.load_model(path).predict(x, verbose=0)
        assert np.allclose(got, want), (path, got, want)
double = iptf.load_model(iptf.cid_of('iptf://repo/root/m/double'))
assert double(tf.constant([1.5])).numpy().tolist() == [3.0]
for path, cls in [(iptf.cid_of('iptf://repo/root/m/model.weights.h5'), iptf.InvalidArgument),
                  (iptf.cid_of('iptf://repo/root/m'), iptf.InvalidArgument),
                  ('iptf://repo/root/m/absent.keras', iptf.NotFound)]:
    try:
        iptf.load_model(path)
    except cls as e:
        print(type(e).__name__, e)
    else:
        raise AssertionError(path)
# Keras dates every save; iptf.save_model's bytes depend only on the model.
model.save('iptf://repo/root/m/again.keras')
assert iptf.cid_of('iptf://repo/root/m/again.keras') != iptf.cid_of('iptf://repo/root/m/model.keras')
import time
first = iptf.save_model(model, 'iptf://repo/root/m/stable.keras')
time.sleep(1.1)
second = iptf.save_model(model, 'iptf://repo/root/m/stable2.keras')
assert first == second and first.startswith('iptf://ipfs/'), (first, second)
assert np.allclose(iptf.load_model(first).predict(x, verbose=0), want)
model.fit(x, want + 1, epochs=1, verbose=0)
assert iptf.save_model(model, 'iptf://repo/root/m/trained.keras') != first
print('models ok')
"""


def test_load_model_by_any_fingerprint(repo: IptfRepo) -> None:
    proc = run_tf(repo, MODELS, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("models ok"), proc.stdout
    assert "weights only" in proc.stdout and "not a SavedModel" in proc.stdout


SAVE_TWICE = """
import keras
keras.utils.set_random_seed(3)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation='relu'), keras.layers.Dense(2)])
print(iptf.save_model(model, 'iptf://repo/root/twice-' + str(os.getpid()) + '.keras'))
"""


def test_save_model_gives_one_cid_across_processes(repo: IptfRepo) -> None:
    """The same model built in two processes saves to the same bytes (Keras numbers shared
    objects by memory address; save_model numbers them in order)."""
    cids = []
    for _ in range(2):
        proc = run_tf(repo, "import iptf\n" + SAVE_TWICE, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        cids.append(proc.stdout.strip().splitlines()[-1])
    assert cids[0] == cids[1] and cids[0].startswith("iptf://ipfs/"), cids


TRAINING = """
import keras, numpy as np
keras.utils.set_random_seed(0)
run = 'iptf://repo/root/runs/7'
tf.io.gfile.makedirs(run)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.compile('adam', 'mse')
ckpt = tf.train.Checkpoint(model=model)
manager = tf.train.CheckpointManager(ckpt, run + '/ckpt', max_to_keep=3)

class Save(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        manager.save(checkpoint_number=epoch + 1)

x, y = np.ones((8, 4), 'float32'), np.zeros((8, 2), 'float32')
model.fit(x, y, epochs=2, verbose=0, callbacks=[
    Save(), keras.callbacks.ModelCheckpoint(run + '/best.keras'),
    keras.callbacks.CSVLogger(run + '/log.csv')])
tf.saved_model.save(tf.Module(), run + '/export')
print(tf.io.gfile.GFile(run + '/log.csv').read())
"""


def test_reflog_lists_a_training_run_under_final_names(repo: IptfRepo) -> None:
    proc = run_tf(repo, TRAINING, argv=("--lr", "0.1"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0].startswith("epoch,loss"), proc.stdout  # CSVLogger on iptf://
    writes = reflog_entries(repo, "--op=write", "--path=iptf://repo/root/runs/7/")
    paths = [e["Path"] for e in writes]
    assert not [p for p in paths if "tmp" in p or "_temp" in p], paths
    for final in ("ckpt/ckpt-1.data-00000-of-00001", "ckpt/ckpt-2.index", "ckpt/checkpoint", "best.keras",
                  "export/saved_model.pb", "log.csv"):
        assert f"iptf://repo/root/runs/7/{final}" in paths, (final, paths)
    found = reflog_entries(repo, "--path=ckpt-1.data")
    assert len(found) == 1  # written under a temporary name, renamed: listed once, as it ends
    # Its CID is what the tree holds there, and its program the whole command line.
    held = repo.out("files", "stat", "--hash", "iptf://repo/root/runs/7/ckpt/ckpt-1.data-00000-of-00001")
    assert found[0]["Cid"] == held
    assert found[0]["Program"].endswith("--lr 0.1"), found[0]["Program"]


def test_demo_folder_is_made_anew_and_its_commands_paste(repo_factory, tmp_path: Path) -> None:
    from iptf import demo

    folder = tmp_path / "demo"
    folder.mkdir()
    trainer = repo_factory("demo/trainer")
    (tmp_path / "f").write_bytes(b"x")
    trainer.run("add", "-Q", str(tmp_path / "f"))
    info = trainer.status()
    assert info is not None
    demo.fresh_folder(folder)
    assert wait_until(lambda: not pid_alive(info["Pid"]), 30), "the earlier run's node still runs"
    assert list(folder.iterdir()) == []
    trainer.path.mkdir()
    trainer.init()
    out = subprocess.run([sys.executable, "-c", f"from iptf import demo; from pathlib import Path; "
                          f"demo.print_next_steps(Path({str(trainer.path)!r}))"],
                         capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("IPTF_PATH=")]
    assert len(lines) == 2 and "reflog" in lines[0] and "tensorboard --logdir iptf://" in lines[1]
    pasted = subprocess.run(lines[0], shell=True, capture_output=True, text=True, timeout=120,
                            env=dict(trainer.env, IPTF_PATH=""))
    assert pasted.returncode == 0 and pasted.stdout.startswith("N "), pasted.stderr


def test_interpreter_start_hook_imports_nothing_else() -> None:
    """The `.pth` hook loads two small modules of its own and nothing they would need later."""
    code = "import sys; print(sorted(m for m in sys.modules if m.startswith(('iptf', 'tensorflow', 'keras'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['iptf', 'iptf._hooks']"
