"""`bazel run //iptf/python:file_system_test`: the Python filesystem tests (tests/file_system_test.py)
against the Bazel-built node and plugin. Arguments after `--` go to pytest."""

from __future__ import annotations

import os
import sys

from runfiles_env import PYTHON_DIR, runfiles_env

if __name__ == "__main__":
    os.environ.update(runfiles_env())
    import pytest

    tests = PYTHON_DIR / "tests"
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(tests),
                          str(tests / "file_system_test.py"), *sys.argv[1:]]))
