"""Shared fixtures: isolated IPTF repos (loopback-only, offline by default) and their nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from harness import IptfRepo


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


@pytest.fixture(scope="session")
def tf_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IptfRepo]:
    """The repo of in-process TensorFlow tests (the plugin talks to one repo per process)."""
    from harness.tf_support import start_session_repo

    r = start_session_repo(tmp_path_factory.mktemp("tf") / "repo")
    yield r
    r.stop()


@pytest.fixture
def tf(tf_repo: IptfRepo):
    """TensorFlow, imported plainly: the iptf:// plugin registers itself."""
    import tensorflow

    return tensorflow
