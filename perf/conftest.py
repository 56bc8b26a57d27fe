"""Benchmarks share the tests' helpers and real peers (iptf/python/tests)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "iptf" / "python" / "tests"))

from helpers import IptfRepo  # noqa: E402


@pytest.fixture(scope="session")
def tf_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IptfRepo]:
    """The repo of in-process TensorFlow benchmarks (the plugin talks to one repo per process)."""
    from tf_support import start_session_repo

    r = start_session_repo(tmp_path_factory.mktemp("tfbench") / "repo")
    yield r
    r.stop()
