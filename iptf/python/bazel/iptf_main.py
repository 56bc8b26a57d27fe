"""`bazel run //iptf/python:iptf -- ARGS`: the `iptf` command, with the Bazel-built node and
plugin; `-- python foo.py` runs foo.py (relative to where Bazel was run) with IPTF enabled."""

from __future__ import annotations

import sys

from runfiles_env import enter

if __name__ == "__main__":
    enter()
    from iptf.cli import main

    sys.exit(main(sys.argv[1:]))
