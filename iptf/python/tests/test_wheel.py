"""The wheel as users get it: installed by pip into new virtual environments outside the source tree.

One environment has the supported TensorFlow (the `[tensorflow-cpu]` extra); plain `import
tensorflow` must serve iptf:// paths, the `iptf` command must work, `iptf tensorboard` must serve,
and `pip uninstall` must take the plugin away. A second one has another TensorFlow minor: TensorFlow
must still import, and iptf:// must say which version it needs. The wheel is `make wheel`'s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from typing import Iterator

import pytest

from harness import IptfRepo, free_port, random_bytes, wait_for_tensorboard_run
from harness.venvs import Venv, built_wheel, make_env, make_repo

pytestmark = pytest.mark.slow

SUPPORTED_TF = "2.21"
OTHER_TF = "2.20"


@pytest.fixture(scope="module")
def supported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Venv, IptfRepo]]:
    """The wheel with its `[tensorflow-cpu]` extra (TensorFlow 2.21) in a new venv."""
    tmp = tmp_path_factory.mktemp("wheel-supported")
    env = make_env(tmp, f"{built_wheel()}[tensorflow-cpu]")
    repo = make_repo(env, tmp / "repo")
    yield env, repo
    repo.stop()


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Venv, IptfRepo]]:
    """The wheel beside TensorFlow 2.20, a minor the plugin was not built for."""
    tmp = tmp_path_factory.mktemp("wheel-mismatched")
    env = make_env(tmp, f"tensorflow-cpu=={OTHER_TF}.*")
    env.pip("install", "--no-deps", str(built_wheel()))
    repo = make_repo(env, tmp / "repo")
    yield env, repo
    repo.stop()


@pytest.fixture(scope="module")
def without_tensorflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Venv, IptfRepo]]:
    """The wheel with its `[fsspec]` extra and TensorBoard, and no TensorFlow."""
    tmp = tmp_path_factory.mktemp("wheel-without-tensorflow")
    env = make_env(tmp, f"{built_wheel()}[fsspec]", f"tensorboard=={SUPPORTED_TF}.*")
    repo = make_repo(env, tmp / "repo")
    yield env, repo
    repo.stop()


def test_wheel_is_tagged_manylinux_and_carries_a_stripped_node() -> None:
    from elftools.elf.elffile import ELFFile

    wheel = built_wheel()
    assert "-py3-none-manylinux_" in wheel.name and wheel.name.endswith("_x86_64.whl"), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "tensorflow-plugins/libiptf_fs.so" in names
        assert not [n for n in names if "libtensorflow" in n], "TensorFlow's own library must not be bundled"
        node = z.getinfo("iptf/bin/iptf-node")
        assert (node.external_attr >> 16) & 0o111, "the node must keep its executable bit"
        with z.open(node) as f:
            elf = ELFFile(f)
            sections = {s.name for s in elf.iter_sections()}
            assert elf["e_machine"] == "EM_X86_64"
            assert ".symtab" not in sections and ".debug_info" not in sections, "the node is not stripped"
            assert not any(seg["p_type"] == "PT_INTERP" for seg in elf.iter_segments()), "the node is not static"
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Provides-Extra: tensorflow-cpu" in metadata
    assert f"Requires-Dist: tensorflow=={SUPPORTED_TF}.*; extra == 'tensorflow'" in metadata
    assert f"Requires-Dist: tensorflow-cpu=={SUPPORTED_TF}.*; extra == 'tensorflow-cpu'" in metadata
    assert f"TensorFlow {SUPPORTED_TF}" in metadata.split("\n\n", 1)[0]  # the summary names the minor


def test_plain_tensorflow_reads_and_writes_iptf_paths(supported: tuple[Venv, IptfRepo]) -> None:
    env, repo = supported
    code = f"""
import sys, tensorflow as tf
assert tf.__version__.startswith("{SUPPORTED_TF}."), tf.__version__
assert "iptf" in tf.io.gfile.get_registered_schemes()
assert "iptf.tf" not in sys.modules  # the plugin registered itself: nothing called iptf.enable()
tf.io.gfile.makedirs("iptf://repo/root/wheel")
with tf.io.gfile.GFile("iptf://repo/root/wheel/hello.txt", "w") as f:
    f.write("hello from the wheel")
print(tf.io.gfile.GFile("iptf://repo/root/wheel/hello.txt").read())
print(tf.io.gfile.listdir("iptf://repo/root/wheel"))
"""
    proc = env.py(code, repo)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert proc.stdout.decode().splitlines() == ["hello from the wheel", "['hello.txt']"]
    # The same bytes are in the node's tree.
    proc = env.run(["iptf", "files", "read", "/wheel/hello.txt"], repo)
    assert proc.returncode == 0 and proc.stdout == b"hello from the wheel", proc.stderr.decode()


def test_iptf_command_adds_and_cats(supported: tuple[Venv, IptfRepo]) -> None:
    env, repo = supported
    data = random_bytes(3 << 20, seed=15)
    src = env.cwd / "data.bin"
    src.write_bytes(data)
    proc = env.run(["iptf", "add", "-Q", "data.bin"], repo)
    assert proc.returncode == 0, proc.stderr.decode()
    cid = proc.stdout.decode().strip()
    proc = env.run(["iptf", "cat", cid], repo)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == data


SUMMARIES = """
import tensorflow as tf
w = tf.summary.create_file_writer("iptf://repo/root/logs/run1")
with w.as_default():
    for step in range(5):
        tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
w.close()
"""


def test_iptf_tensorboard_serves_an_iptf_logdir(supported: tuple[Venv, IptfRepo]) -> None:
    env, repo = supported
    proc = env.py(SUMMARIES, repo)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    port = free_port()
    log = env.cwd / "tensorboard.log"
    with open(log, "wb") as out:
        tb = subprocess.Popen(["iptf", "tensorboard", "--logdir", "iptf://repo/root/logs", "--host", "127.0.0.1",
                               "--port", str(port)], cwd=env.cwd, env=env.env(repo), stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_tensorboard_run(port, tb, log)
    finally:
        os.killpg(tb.pid, signal.SIGTERM)
        tb.wait(timeout=30)


def test_iptf_plugin_names_the_plugin_that_serves(supported: tuple[Venv, IptfRepo]) -> None:
    """Where several copies of the plugin are installed (a Bazel build run in this environment),
    $IPTF_PLUGIN names the one that registers; the others stay quiet."""
    env, repo = supported
    installed = env.site_packages() / "tensorflow-plugins" / "libiptf_fs.so"
    for chosen, registered in ((installed, "True"), (env.cwd / "elsewhere" / "libiptf_fs.so", "False")):
        proc = env.py(f"import os; os.environ['IPTF_PLUGIN'] = {str(chosen)!r}\n"
                      "import tensorflow as tf; print('iptf' in tf.io.gfile.get_registered_schemes())", repo)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        assert proc.stdout.decode().strip() == registered, (chosen, proc.stdout, proc.stderr.decode()[-2000:])


def test_pip_uninstall_leaves_no_plugin(supported: tuple[Venv, IptfRepo]) -> None:
    env, repo = supported
    repo.stop()  # the node runs from the package being removed
    site = env.site_packages()
    assert (site / "tensorflow-plugins" / "libiptf_fs.so").is_file()
    env.pip("uninstall", "-y", "iptf-tensorflow")
    left = [p for p in (site / "tensorflow-plugins" / "libiptf_fs.so", site / "iptf", site / "iptf-tensorflow.pth",
                        env.path / "bin" / "iptf") if p.exists()]
    assert not left, f"left behind by pip uninstall: {left}"
    proc = env.py("import tensorflow as tf; print('iptf' in tf.io.gfile.get_registered_schemes())", repo)
    assert proc.returncode == 0 and proc.stdout.decode().strip() == "False", proc.stderr.decode()[-3000:]


def test_other_tensorflow_minor_imports_and_names_the_supported_one(mismatched: tuple[Venv, IptfRepo]) -> None:
    env, repo = mismatched
    assert (env.site_packages() / "tensorflow-plugins" / "libiptf_fs.so").is_file()
    code = f"""
import tensorflow as tf
assert tf.__version__.startswith("{OTHER_TF}."), tf.__version__
maps = open("/proc/self/maps").read()
assert "libiptf_fs.so" in maps, "TensorFlow did not load the plugin"
for op in (lambda: tf.io.gfile.exists("iptf://repo/root/x"),
           lambda: tf.io.gfile.GFile("iptf://repo/root/x", "w").write("x"),
           lambda: tf.io.gfile.stat("iptf://repo/root")):
    try:
        op()
    except tf.errors.FailedPreconditionError as e:
        print(e.message)
    else:
        raise AssertionError("an iptf:// operation worked under TensorFlow {OTHER_TF}")
print(tf.io.gfile.exists("/"))  # every other filesystem still works
"""
    proc = env.py(code, repo)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    lines = proc.stdout.decode().splitlines()
    assert lines[-1] == "True"
    assert len(lines) == 4
    for message in lines[:3]:
        assert f"TensorFlow {SUPPORTED_TF}.x" in message and f"TensorFlow {OTHER_TF}." in message, message


def test_tensorboard_without_tensorflow_lists_an_iptf_run(without_tensorflow: tuple[Venv, IptfRepo]) -> None:
    """TensorBoard installed without TensorFlow reads iptf:// through fsspec: `iptf tensorboard`
    and plain `tensorboard` list a run written through TensorFlow elsewhere."""
    env, repo = without_tensorflow
    proc = env.py("import importlib.util; print(importlib.util.find_spec('tensorflow'))", repo)
    assert proc.stdout.decode().strip() == "None", "TensorFlow is in the venv"
    # The run, written by TensorFlow in another environment (this test's), into the same repo.
    written = subprocess.run([sys.executable, "-c", SUMMARIES], capture_output=True, text=True,
                             env=dict(repo.env, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300, check=False)
    assert written.returncode == 0, written.stderr[-3000:]
    repo.stop()  # the venv's own node serves what follows
    for command in (["iptf", "tensorboard"], ["tensorboard"]):
        port = free_port()
        log = env.cwd / "tensorboard.log"
        with open(log, "wb") as out:
            tb = subprocess.Popen([*command, "--logdir", "iptf://repo/root/logs", "--host", "127.0.0.1",
                                   "--port", str(port)], cwd=env.cwd, env=env.env(repo), stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_tensorboard_run(port, tb, log, name=" ".join(command))
        finally:
            os.killpg(tb.pid, signal.SIGTERM)
            tb.wait(timeout=30)
