"""IPTF: TensorFlow with an IPFS node baked in.

`import iptf` imports neither TensorFlow nor the node client until a name is used: `add`,
`cat`, `cid_of`, `pin`, `unpin`, `reflog`, `lock` and `node` need only the bundled node;
`load_model`, `save_model` and `enable` import TensorFlow when called. Content addresses are returned as `iptf://ipfs/<cid>` URIs.
"""

# Nothing is imported at module level (not even __future__ or importlib): see _EXPORTS.
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at interpreter start

__version__ = "0.1.0"

# Public name → the module that defines it; imported on first use, so that the interpreter-start
# hook (`iptf-tensorflow.pth`) costs nothing for programs that never use IPTF.
_EXPORTS = {
    "add": "content",
    "cat": "content",
    "cid_of": "content",
    "pin": "content",
    "unpin": "content",
    "node": "client",
    "shutdown": "client",
    "Node": "client",
    "load_model": "models",
    "save_model": "models",
    "enable": "tf",
    "reflog": "records",
    "lock": "runlock",
    "RunLock": "runlock",
    **{name: "errors" for name in (
        "IptfError", "NotFound", "PermissionDenied", "AlreadyExists", "FailedPrecondition",
        "InvalidArgument", "OutOfRange", "ResourceExhausted", "Unavailable", "NodeUnavailable",
    )},
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .content import add, cat, cid_of, pin, unpin
    from .errors import (AlreadyExists, FailedPrecondition, InvalidArgument, IptfError, NodeUnavailable,
                         NotFound, OutOfRange, PermissionDenied, ResourceExhausted, Unavailable)
    from .models import load_model, save_model
    from .client import Node, node, shutdown
    from .tf import enable
    from .records import reflog
    from .runlock import RunLock, lock


# Subpackages reachable as attributes after a plain `import iptf` (`iptf.datasets.mnist.load()`).
_SUBPACKAGES = ("datasets",)


def __getattr__(name: str) -> "object":
    module = _EXPORTS.get(name)
    if name in _SUBPACKAGES:
        from importlib import import_module

        return import_module(f".{name}", __name__)
    if module is None:
        raise AttributeError(f"module 'iptf' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> "list[str]":
    return sorted([*globals(), *_EXPORTS, *_SUBPACKAGES])
