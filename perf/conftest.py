"""Benchmarks share the tests' harness (iptf/python/tests/harness) and real peers."""

from __future__ import annotations

from typing import Iterator

import pytest

from harness import IptfRepo


@pytest.fixture(scope="session")
def tf_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IptfRepo]:
    """The repo of in-process TensorFlow benchmarks (the plugin talks to one repo per process)."""
    from harness.tf_support import start_session_repo

    r = start_session_repo(tmp_path_factory.mktemp("tfbench") / "repo")
    yield r
    r.stop()
