"""IPTF's exceptions: one class per failure a caller may want to handle."""

from __future__ import annotations


class IptfError(Exception):
    """Base class of IPTF's errors; its message is one line meant for the user."""


class NodeUnavailable(IptfError):
    """The node could not be started or reached."""


class NotFound(IptfError):
    """A path or CID does not exist."""


class InvalidArgument(IptfError):
    """A malformed CID, path or option."""


def from_node_message(message: str) -> IptfError:
    """Turn an error message from the node into the matching exception."""
    text = message.strip().removeprefix("Error: ")
    code = text.split(":", 1)[0]  # the node's errors read "<Code>: <uri>: <why>"
    if code in _BY_CODE:
        return _BY_CODE[code](text)
    lowered = text.lower()
    if "no link named" in lowered or "not found" in lowered or "does not exist" in lowered:
        return NotFound(text)
    if "invalid" in lowered or "failed to parse" in lowered or "malformed" in lowered:
        return InvalidArgument(text)
    return IptfError(text)


_BY_CODE: dict[str, type[IptfError]] = {"NotFound": NotFound, "InvalidArgument": InvalidArgument}
