"""Where the bundled node binary is."""

from __future__ import annotations

import os

from .errors import IptfError

ENV_NODE_BINARY = "IPTF_NODE_BINARY"


def node_binary() -> str:
    """Return the path of the `iptf-node` executable shipped with this package."""
    # os.path, not pathlib: every `iptf` command passes through here, and pathlib's import costs
    # a few milliseconds of its start-up.
    path = os.environ.get(ENV_NODE_BINARY) or os.path.join(os.path.dirname(os.path.realpath(__file__)), "bin", "iptf-node")
    if not os.access(path, os.X_OK):
        raise IptfError(f"the IPTF node binary is missing at {path} (build it with `make venv`)")
    return path
