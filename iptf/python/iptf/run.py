"""`iptf python SCRIPT [ARGS]`: run a script with IPTF enabled in TensorFlow."""

from __future__ import annotations

import importlib.util
import runpy
import sys

from .errors import IptfError


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: iptf python SCRIPT [ARGS...]   (or: iptf python -m MODULE [ARGS...])")
        return 0 if argv else 2
    if argv[0] == "-m" and len(argv) > 1:
        # Before TensorFlow loads (and logs): a missing module is one line, as `python -m` says it.
        missing = _not_runnable(argv[1])
        if missing:
            print(f"{sys.executable}: {missing}", file=sys.stderr)
            return 1
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


def _not_runnable(name: str) -> str | None:
    """Why `python -m name` could not run the module (None if it can), in Python's words.
    Looked up before running, so that an ImportError raised by the module itself still
    shows its traceback."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            if importlib.util.find_spec(f"{name}.__main__") is None:
                return f"No module named {name}.__main__; '{name}' is a package and cannot be directly executed"
    except (ImportError, ValueError) as exc:
        return f"Error while finding module specification for {name!r} ({type(exc).__name__}: {exc})"
    return None if spec is not None else f"No module named {name}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
