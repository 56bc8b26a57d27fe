"""IPTF: TensorFlow with an IPFS node baked in.

This module stays importable without TensorFlow: `iptf.add`, `iptf.cat` and `iptf.node`
only need the bundled node.
"""

from .content import add, cat
from .errors import InvalidArgument, IptfError, NodeUnavailable, NotFound
from .node import Node, node, shutdown

__all__ = [
    "add",
    "cat",
    "node",
    "shutdown",
    "Node",
    "IptfError",
    "NodeUnavailable",
    "NotFound",
    "InvalidArgument",
]
__version__ = "0.1.0"
