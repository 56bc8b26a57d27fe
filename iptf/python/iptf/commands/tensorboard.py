"""`iptf tensorboard`: TensorBoard with iptf:// log directories."""

from __future__ import annotations

import importlib.util
import os
import sys

from ..errors import IptfError


def run(args: list[str]) -> int:
    for i, a in enumerate(args):
        value = a.split("=", 1)[1] if a.startswith("--load_fast=") else (
            args[i + 1] if a == "--load_fast" and i + 1 < len(args) else None)
        if value == "true":
            raise IptfError("--load_fast=true uses TensorBoard's Rust data server, which cannot read "
                            "iptf:// paths; leave it at auto or false")
    if importlib.util.find_spec("tensorboard") is None:
        raise IptfError("TensorBoard is not installed: pip install 'iptf-tensorflow[tensorflow]'")
    with_tensorflow = importlib.util.find_spec("tensorflow") is not None
    if not with_tensorflow and importlib.util.find_spec("fsspec") is None:
        raise IptfError("TensorBoard reads iptf:// through TensorFlow or, without it, through fsspec: "
                        "pip install 'iptf-tensorflow[fsspec]'")
    for logdir in _iptf_logdirs(args):
        _check_logdir(logdir)
    if with_tensorflow:
        os.execv(sys.executable, [sys.executable, "-m", "iptf.run", "-m", "tensorboard.main", *args])
    # Without TensorFlow, TensorBoard's own file layer reads iptf:// through fsspec, which finds
    # IPTF's filesystem by its entry point.
    os.execv(sys.executable, [sys.executable, "-m", "tensorboard.main", *args])
    return 0


def _iptf_logdirs(args: list[str]) -> list[str]:
    """The iptf:// directories named by --logdir and --logdir_spec (name:dir,...)."""
    values = []
    for i, a in enumerate(args):
        for flag in ("--logdir", "--logdir_spec"):
            if a.startswith(flag + "="):
                values.append(a[len(flag) + 1:])
            elif a == flag and i + 1 < len(args):
                values.append(args[i + 1])
    dirs = []
    for value in values:
        for part in value.split(","):
            at = part.find("iptf://")
            if at >= 0:
                dirs.append(part[at:])
    return dirs


def _check_logdir(logdir: str) -> None:
    """Refuse a log directory the node cannot ever read (a malformed CID or path): TensorBoard
    would otherwise print a traceback from its reload thread. A directory not yet written is
    fine: TensorBoard waits for it."""
    from ..errors import NotFound
    from ..client import call

    try:
        call("iptf/stat", [logdir])
    except NotFound:
        pass
    except IptfError as exc:
        raise IptfError(f"--logdir {logdir}: {exc}") from None
