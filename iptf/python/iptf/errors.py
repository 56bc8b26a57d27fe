"""IPTF's exceptions, one class per TensorFlow error class the node reports.

    IptfError                    every IPTF failure; its message is one line meant for the user
    ├── NotFound                 no such path, CID or name
    ├── PermissionDenied         a write outside iptf://repo/root/
    ├── AlreadyExists            the target exists
    ├── FailedPrecondition       a directory used as a file, a file used as a directory
    ├── InvalidArgument          a malformed CID, URI or option
    ├── OutOfRange               a read past the end
    ├── ResourceExhausted        no space left for the write
    └── Unavailable              no node, or content not retrievable in time
        └── NodeUnavailable      the node could not be started or reached

The node classifies every error it sends ("<Class>: <uri>: <why>"); `from_node_message` only
reads that class. Messages without one (kubo's own commands) keep the base class, except the
few kubo messages that name their class plainly.
"""

from __future__ import annotations


class IptfError(Exception):
    """Base class of IPTF's errors; its message is one line meant for the user."""


class NotFound(IptfError):
    """A path, CID or name does not exist."""


class PermissionDenied(IptfError):
    """The path cannot be written (only iptf://repo/root/ is writable)."""


class AlreadyExists(IptfError):
    """The target already exists."""


class FailedPrecondition(IptfError):
    """The path has the wrong kind: a directory used as a file, or a file as a directory."""


class InvalidArgument(IptfError):
    """A malformed CID, URI or option."""


class OutOfRange(IptfError):
    """A read past the end of a file."""


class ResourceExhausted(IptfError):
    """No space is left for the operation."""


class Unavailable(IptfError):
    """No node answers, or the content could not be retrieved in time."""


class NodeUnavailable(Unavailable):
    """The node could not be started or reached."""


# The node's class names (fsapi.Code in the Go node) and their exceptions.
_BY_CODE: dict[str, type[IptfError]] = {
    "NotFound": NotFound,
    "PermissionDenied": PermissionDenied,
    "AlreadyExists": AlreadyExists,
    "FailedPrecondition": FailedPrecondition,
    "InvalidArgument": InvalidArgument,
    "OutOfRange": OutOfRange,
    "ResourceExhausted": ResourceExhausted,
    "Unavailable": Unavailable,
    "Internal": IptfError,
}

# kubo's own commands send unclassified text; these prefixes name their class unambiguously.
_KUBO_PREFIXES: tuple[tuple[str, type[IptfError]], ...] = (
    ("invalid path", InvalidArgument),
    ("invalid cid", InvalidArgument),
    ("no link named", NotFound),
)


def from_node_message(message: str) -> IptfError:
    """Turn an error message from the node into the exception its class names."""
    text = message.strip().removeprefix("Error: ")
    code, sep, rest = text.partition(": ")
    if sep and code in _BY_CODE:
        return _BY_CODE[code](rest)
    lowered = text.lower()
    for prefix, cls in _KUBO_PREFIXES:
        if lowered.startswith(prefix):
            return cls(text)
    return IptfError(text)
