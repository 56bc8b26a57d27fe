"""What makes IPTF run from a Bazel runfiles tree: its package, node and plugin are laid out
there as an installed wheel lays them out (bazel/site-packages/, which the Python launcher puts on
the path of this process and of every process it starts)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _runfiles() -> Path:
    """The runfiles tree of the running binary: $RUNFILES_DIR, else the tree the main script
    was started from (this module's own path is resolved into the source tree by Python, where
    the built parts are not)."""
    if os.environ.get("RUNFILES_DIR"):
        return Path(os.environ["RUNFILES_DIR"])
    main = Path(os.path.abspath(sys.modules["__main__"].__file__))
    for folder in main.parents:
        if folder.name.endswith(".runfiles"):
            return folder
    raise SystemExit(f"{main} is not in a Bazel runfiles tree: run it with `bazel run`")


# iptf/python in the runfiles tree (workspace "iptf").
PYTHON_DIR = _runfiles() / "iptf" / "iptf" / "python"
SITE = PYTHON_DIR / "bazel" / "site-packages"


def runfiles_env() -> dict[str, str]:
    """The variables that make every process started from here use the Bazel-built plugin."""
    # The Python environment may hold an installed plugin as well: this one serves.
    return {"IPTF_PLUGIN": str(SITE / "tensorflow-plugins" / "libiptf_fs.so")}


def enter() -> None:
    """Set runfiles_env() in this process's environment, then work in the folder the user ran
    `bazel run` from (Bazel starts a binary in its runfiles tree)."""
    os.environ.update(runfiles_env())
    os.chdir(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()))
