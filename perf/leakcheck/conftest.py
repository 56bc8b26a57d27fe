"""Leak checks (`make leakcheck`): isolated repos whose nodes stay up for the whole check."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
from harness import IptfRepo


@pytest.fixture
def node_repo(tmp_path: Path) -> Iterator[IptfRepo]:
    """A fresh `iptf init --profile test` repo, offline, whose on-demand node does not stop
    while idle during the check; the node is stopped by PID and the repo deleted after."""
    r = IptfRepo(tmp_path / "repo", extra_env={"IPTF_IDLE_TIMEOUT": "60m"})
    r.init()
    yield r
    r.stop()
    shutil.rmtree(r.path, ignore_errors=True)  # can be gigabytes; pytest keeps old tmp dirs

