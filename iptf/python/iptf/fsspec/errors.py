"""The node's error classes as Python's own exceptions, for fsspec callers.

The node classifies every filesystem error once and says so in a "<Code>: " prefix (NotFound,
PermissionDenied, FailedPrecondition, AlreadyExists, InvalidArgument, Unavailable, OutOfRange,
ResourceExhausted, Internal). This module maps that code, never the rest of the text, to the
class a Python program expects from a filesystem:

    NotFound           FileNotFoundError
    PermissionDenied   PermissionError
    AlreadyExists      FileExistsError
    FailedPrecondition NotADirectoryError (a parent is a file); where the operation can
                       also mean "is a directory" or "not empty", the caller looks at what
                       stands at the path (see calls.precondition), never at the text
    InvalidArgument    ValueError (a malformed CID or URI, a bad pattern)
    Unavailable        TimeoutError (content not retrievable within $IPTF_TIMEOUT)
    OutOfRange         EOFError
    ResourceExhausted  OSError(ENOSPC)
    Internal, other    OSError(EIO)
    no node reachable  ConnectionError
"""

from __future__ import annotations

import errno
import re

from ..errors import IptfError, NodeUnavailable

_CODE = re.compile(r"^(?:Error: )?([A-Z][A-Za-z]+): ")

_SIMPLE: dict[str, tuple[type[Exception], int | None]] = {
    "NotFound": (FileNotFoundError, errno.ENOENT),
    "PermissionDenied": (PermissionError, errno.EACCES),
    "AlreadyExists": (FileExistsError, errno.EEXIST),
    "InvalidArgument": (ValueError, None),
    "Unavailable": (TimeoutError, errno.ETIMEDOUT),
    "OutOfRange": (EOFError, None),
    "ResourceExhausted": (OSError, errno.ENOSPC),
}

# What a FailedPrecondition means for the operation that got it.
IS_A_DIRECTORY = (IsADirectoryError, errno.EISDIR)
NOT_A_DIRECTORY = (NotADirectoryError, errno.ENOTDIR)
NOT_EMPTY = (OSError, errno.ENOTEMPTY)


def code_of(exc: IptfError) -> str | None:
    """The node's error code carried by exc (an attribute, else the message's prefix)."""
    code = getattr(exc, "code", None)
    if code:
        return str(getattr(code, "value", code))
    m = _CODE.match(str(exc))
    return m.group(1) if m else None


def translate(exc: IptfError, failed_precondition: tuple[type[Exception], int] = NOT_A_DIRECTORY) -> Exception:
    """The Python exception for an error from the node.

    failed_precondition is what a FailedPrecondition means for the operation at hand: the node
    uses that one code for "is a directory" (reading or writing a directory), "not a
    directory" (listing a file, a file used as a parent) and "directory not empty".
    """
    message = str(exc).removeprefix("Error: ")
    if isinstance(exc, NodeUnavailable):
        return ConnectionError(errno.ECONNREFUSED, message)
    code = code_of(exc)
    if code == "FailedPrecondition":
        cls, num = failed_precondition
    else:
        cls, num = _SIMPLE.get(code or "", (OSError, errno.EIO))
    if num is None:
        return cls(message)
    return cls(num, message)
