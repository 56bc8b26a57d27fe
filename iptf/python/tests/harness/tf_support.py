"""Support for TensorFlow tests: one isolated repo for the whole session, set before TF loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .repo import IptfRepo

SUBPROCESS_PRELUDE = "import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3'); import tensorflow as tf\n"


def start_session_repo(path: Path) -> IptfRepo:
    """Make the repo every in-process TensorFlow test uses, and point this process at it."""
    repo = IptfRepo(path)
    repo.init()
    os.environ.update({k: repo.env[k] for k in ("IPTF_PATH", "IPTF_OFFLINE", "IPTF_IDLE_TIMEOUT")})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    return repo


def run_tf(repo: IptfRepo, code: str, timeout: float = 300, argv: tuple[str, ...] = (),
           **env: str) -> subprocess.CompletedProcess[str]:
    """Run TensorFlow code in a fresh process (plain `import tensorflow`, no `import iptf`), with argv."""
    return subprocess.run([sys.executable, "-c", SUBPROCESS_PRELUDE + code, *argv], capture_output=True, text=True,
                          env=dict(repo.env, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", **env),
                          timeout=timeout, check=False)
