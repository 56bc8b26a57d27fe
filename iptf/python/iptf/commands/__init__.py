"""IPTF's own commands, beside kubo's: one table of their names and summaries. `iptf NAME` is
carried out by `run(args)` of the module iptf.commands.NAME, imported only when it runs, so that
a kubo command (most of what `iptf` runs) starts with little more than `os` and `sys` imported."""

from __future__ import annotations

import importlib


class Command:
    """`iptf NAME` and its line in `iptf --help`."""

    __slots__ = ("name", "summary")

    def __init__(self, name: str, summary: str) -> None:
        self.name, self.summary = name, summary

    def run(self, args: list[str]) -> int:
        """Run the command with the arguments after its name; returns its exit code."""
        return importlib.import_module(f"{__name__}.{self.name}").run(args)


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("cache", "Show the cache's limit, and what the repo keeps and may evict"),
    Command("lock", "Lock a run's inputs and outputs by CID; pin them; check that a later run read the same bytes"),
    Command("python", "Run a Python script with iptf:// paths enabled in TensorFlow"),
    Command("reflog", "List reads and writes of iptf:// files and their CIDs (`reflog show N` for one)"),
    Command("serve", "Run the node and serve a trustless gateway and routing v1 (default 127.0.0.1:8080)"),
    Command("status", "Show whether a node runs for the repo, without starting one"),
    Command("tensorboard", "Run TensorBoard on iptf:// log directories (--logdir iptf://repo/root/logs)"),
    Command("writeback", "Retry or discard closed files that could not be put in the tree (`iptf status` lists them)"),
)}
