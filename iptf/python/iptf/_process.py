"""How the reflog names the program behind a read or write: its command line."""

from __future__ import annotations

import functools
import os
import sys

_SPECIAL = set(" \t\n'\"\\$")


def _quote(arg: str) -> str:
    if arg and not _SPECIAL.intersection(arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


@functools.cache
def program_name() -> str:
    """The command line running this process, as the TensorFlow plugin names it: the
    executable's base name, then every argument, without the `-m iptf.run` of `iptf python`."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            args = [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        args = [sys.executable, *sys.argv]
    if not args:
        return "unknown"
    if args[1:3] == ["-m", "iptf.run"]:
        del args[1:3]
    return " ".join([os.path.basename(args[0]), *(_quote(a) for a in args[1:])])
