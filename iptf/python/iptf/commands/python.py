"""`iptf python`: run a Python script with IPTF enabled."""

from __future__ import annotations

import importlib.util
import os
import sys

from ..errors import IptfError


def run(args: list[str]) -> int:
    if importlib.util.find_spec("tensorflow") is None:
        raise IptfError("TensorFlow is not installed: pip install 'iptf-tensorflow[tensorflow]'")
    if args and not args[0].startswith("-") and not os.path.exists(args[0]):
        raise IptfError(f"{args[0]}: no such script")
    os.execv(sys.executable, [sys.executable, "-m", "iptf.run", *args])
    return 0
