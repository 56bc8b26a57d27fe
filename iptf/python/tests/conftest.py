"""Shared fixtures: isolated IPTF repos (loopback-only, offline by default) and their nodes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import IptfRepo  # noqa: E402


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[IptfRepo]:
    """A fresh repo made with `iptf init --profile test`; its node runs offline and is stopped after."""
    r = IptfRepo(tmp_path / "repo")
    r.init()
    yield r
    r.stop()


@pytest.fixture
def repo_factory(tmp_path: Path) -> Iterator:
    """Makes more isolated repos on demand; all their nodes are stopped after the test."""
    made: list[IptfRepo] = []

    def make(name: str, init: bool = True, **env: str) -> IptfRepo:
        r = IptfRepo(tmp_path / name, extra_env=env)
        if init:
            r.init()
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()
