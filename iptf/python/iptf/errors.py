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
reads that class, never the rest of the text. IPTF's own commands always name one; kubo's `add`
(which `add` and `cid_of` run) names it when the node knows it, and a message without one keeps
the base class.
"""

from __future__ import annotations


class IptfError(Exception):
    """Base class of IPTF's errors; its message is one line meant for the user."""

    code: str | None = None  # the node's name for the class (TensorFlow's), None when unclassified


class NotFound(IptfError):
    """A path, CID or name does not exist."""

    code = "NotFound"


class PermissionDenied(IptfError):
    """The path cannot be written (only iptf://repo/root/ is writable)."""

    code = "PermissionDenied"


class AlreadyExists(IptfError):
    """The target already exists."""

    code = "AlreadyExists"


class FailedPrecondition(IptfError):
    """The path has the wrong kind: a directory used as a file, or a file as a directory."""

    code = "FailedPrecondition"


class InvalidArgument(IptfError):
    """A malformed CID, URI or option."""

    code = "InvalidArgument"


class OutOfRange(IptfError):
    """A read past the end of a file."""

    code = "OutOfRange"


class ResourceExhausted(IptfError):
    """No space is left for the operation."""

    code = "ResourceExhausted"


class Unavailable(IptfError):
    """No node answers, or the content could not be retrieved in time."""

    code = "Unavailable"


class NodeUnavailable(Unavailable):
    """The node could not be started or reached."""


# The node's class names (fsapi.Code in the Go node) and their exceptions.
_BY_CODE: dict[str, type[IptfError]] = {
    cls.code: cls for cls in (NotFound, PermissionDenied, AlreadyExists, FailedPrecondition, InvalidArgument,
                              OutOfRange, ResourceExhausted, Unavailable)
}
_BY_CODE["Internal"] = IptfError


def from_node_message(message: str) -> IptfError:
    """Turn an error message from the node into the exception its class names."""
    text = message.strip().removeprefix("Error: ")
    code, sep, rest = text.partition(": ")
    if sep and code in _BY_CODE:
        return _BY_CODE[code](rest)
    return IptfError(text)

