"""IPTF's own commands, beside kubo's. Each module registers one with `command`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

Handler = Callable[[list[str]], int]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Handler


REGISTRY: dict[str, Command] = {}


def command(name: str, summary: str) -> Callable[[Handler], Handler]:
    """Register a handler as `iptf NAME`; it gets the remaining arguments and returns an exit code."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = Command(name, summary, handler)
        return handler

    return register


def load() -> dict[str, Command]:
    """Import every command module and return the registry."""
    from . import cache, lock, python, reflog, serve, status, tensorboard, writeback  # noqa: F401  (each registers itself)

    return REGISTRY
