"""`iptf tensorboard`: TensorBoard with iptf:// log directories."""

from __future__ import annotations

import importlib.util
import os
import sys

from ..errors import IptfError
from . import command


@command("tensorboard", "Run TensorBoard on iptf:// log directories (--logdir iptf://repo/root/logs)")
def tensorboard(args: list[str]) -> int:
    for i, a in enumerate(args):
        value = a.split("=", 1)[1] if a.startswith("--load_fast=") else (
            args[i + 1] if a == "--load_fast" and i + 1 < len(args) else None)
        if value == "true":
            raise IptfError("--load_fast=true uses TensorBoard's Rust data server, which cannot read "
                            "iptf:// paths; leave it at auto or false")
    if importlib.util.find_spec("tensorboard") is None:
        raise IptfError("TensorBoard is not installed: pip install 'iptf-tensorflow[tensorflow]'")
    os.execv(sys.executable, [sys.executable, "-m", "iptf.run", "-m", "tensorboard.main", *args])
    return 0
