"""`iptf python SCRIPT [ARGS]`: run a script with IPTF enabled in TensorFlow."""

from __future__ import annotations

import runpy
import sys

from .errors import IptfError


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: iptf python SCRIPT [ARGS...]   (or: iptf python -m MODULE [ARGS...])")
        return 0 if argv else 2
    from .tf import enable

    try:
        enable()
    except IptfError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if argv[0] == "-m" and len(argv) > 1:
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path.insert(0, str(__import__("pathlib").Path(argv[0]).resolve().parent))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
