"""IPTF: TensorFlow with an IPFS node baked in.

`import iptf` does not import TensorFlow: `add`, `cat`, `cid_of` and `node` only need the
bundled node; `load_model` and `enable` import TensorFlow when called.
"""

from typing import Any

from .content import add, cat, cid_of
from .errors import InvalidArgument, IptfError, NodeUnavailable, NotFound
from .node import Node, node, shutdown

__all__ = [
    "add",
    "cat",
    "cid_of",
    "load_model",
    "enable",
    "node",
    "shutdown",
    "Node",
    "IptfError",
    "NodeUnavailable",
    "NotFound",
    "InvalidArgument",
]
__version__ = "0.1.0"


def load_model(path: str, **kwargs: Any) -> Any:
    """Load a `.keras` model or a SavedModel from an iptf:// (or local) path."""
    from .tf import load_model as _load

    return _load(path, **kwargs)


def enable() -> None:
    """Register the iptf:// scheme with TensorFlow if the plugin did not register itself."""
    from .tf import enable as _enable

    _enable()
