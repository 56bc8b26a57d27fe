"""The `iptf` command: IPTF's own commands, and every kubo command through the bundled node."""

from __future__ import annotations

import os
import sys

from ._binary import node_binary
from .commands import COMMANDS
from .errors import IptfError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `iptf` console script."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if not args or args in (["--help"], ["-h"], ["help"]):
            return _help()
        own = COMMANDS.get(args[0])
        if own is not None:
            return own.run(args[1:])
        binary = node_binary()
        os.execv(binary, [binary, *args])
    except IptfError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one line, never a traceback (IPTF_DEBUG=1 shows it)
        if os.environ.get("IPTF_DEBUG") == "1":
            raise
        print(f"Error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0  # not reached: execv replaced the process


def _help() -> int:
    """Print the node's command list (kubo's commands, in IPTF's words), then IPTF's own commands."""
    import subprocess

    proc = subprocess.run([node_binary(), "--help"], capture_output=True, text=True, check=False)
    print(proc.stdout.rstrip())
    print("\nIPTF COMMANDS")
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        print(f"  {cmd.name:<12} {cmd.summary}")
    print("\n  Every other command is kubo's, run by IPTF's node (`iptf <command> --help`).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
