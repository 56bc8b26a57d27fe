"""The plugin's own C++ test cases (iptf/cpp/file_system_test.cc), run against a live node."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from harness import IptfRepo

from iptf._binary import node_binary

CPP_TEST = Path(__file__).resolve().parents[3] / "build" / "file_system_test"


def test_cpp_file_system_cases(repo: IptfRepo) -> None:
    assert CPP_TEST.exists(), f"{CPP_TEST} is missing: run make venv"
    proc = subprocess.run([str(CPP_TEST)], capture_output=True, text=True, timeout=600, check=False,
                          env=dict(repo.env, IPTF_NODE_BINARY=node_binary()))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = re.search(r"\[  PASSED  \] (\d+) test", proc.stdout)
    assert passed and int(passed.group(1)) >= 15, proc.stdout[-2000:]
