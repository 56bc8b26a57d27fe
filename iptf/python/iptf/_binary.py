"""Where the bundled node binary is."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import IptfError

ENV_NODE_BINARY = "IPTF_NODE_BINARY"


def node_binary() -> str:
    """Return the path of the `iptf-node` executable shipped with this package."""
    override = os.environ.get(ENV_NODE_BINARY)
    path = Path(override) if override else Path(__file__).resolve().parent / "bin" / "iptf-node"
    if not os.access(path, os.X_OK):
        raise IptfError(f"the IPTF node binary is missing at {path} (build it with `make venv`)")
    return str(path)
