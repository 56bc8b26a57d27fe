"""python_env: the Python environment Bazel builds and runs with.

The interpreter is $IPTF_PYTHON, else the workspace's .venv/bin/python (`make venv` makes it).
TensorFlow's headers, library and minor version come from that environment, asked through
iptf/cpp/Makefile's print-tf (the one place that knows how to find them), as tensorflow-io's
configure step does; nothing names a path in a checked-in file.

The repository holds:
  :tensorflow         cc_library: TensorFlow's headers and libtensorflow_framework
  :python_toolchain   the interpreter, as Bazel's Python toolchain
  defs.bzl            TF_MINOR, TF_DIR
"""

def _python_env_impl(ctx):
    workspace = ctx.path(Label("//third_party/bazel:python_env.bzl")).dirname.dirname.dirname
    python = ctx.os.environ.get("IPTF_PYTHON") or str(workspace) + "/.venv/bin/python"
    if not ctx.path(python).exists:
        fail("no Python environment at %s: run `make venv`, or set IPTF_PYTHON to a Python with tensorflow" % python)
    found = ctx.execute(["make", "--no-print-directory", "-s", "-C", str(workspace) + "/iptf/cpp", "print-tf", "PYTHON=" + python])
    if found.return_code != 0:
        fail("finding TensorFlow with %s: %s" % (python, found.stderr))
    tf_dir, tf_minor = found.stdout.strip().split(" ")
    ctx.symlink(tf_dir + "/include", "include")
    ctx.symlink(tf_dir + "/libtensorflow_framework.so.2", "libtensorflow_framework.so.2")
    ctx.file("defs.bzl", 'TF_MINOR = "%s"\nTF_DIR = "%s"\nPYTHON = "%s"\n' % (tf_minor, tf_dir, python))
    ctx.file("BUILD", """
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

cc_library(
    name = "tensorflow",
    # What the plugin includes, and what that includes.
    hdrs = glob(["include/tensorflow/c/**/*.h", "include/tensorflow/core/platform/*.h", "include/tsl/platform/*.h", "include/xla/tsl/c/*.h"]),
    includes = ["include"],
    srcs = ["libtensorflow_framework.so.2"],
)

py_runtime(
    name = "python3",
    interpreter_path = "%s",
    python_version = "PY3",
)

py_runtime_pair(
    name = "runtimes",
    py3_runtime = ":python3",
)

toolchain(
    name = "python_toolchain",
    toolchain = ":runtimes",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""" % python)

python_env = repository_rule(
    implementation = _python_env_impl,
    environ = ["IPTF_PYTHON"],
    local = True,
)
