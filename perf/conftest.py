"""Benchmarks share the tests' helpers and real peers (iptf/python/tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "iptf" / "python" / "tests"))
