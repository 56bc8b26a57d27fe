"""Run locks: what a training run read and wrote, by CID, in a small file kept beside the code.

A lock is made from the reflog (`lock(pid=…)`, `lock(program=…, since=…)`): every iptf:// file
the run read that it had not written itself is an input, every file it wrote an output, each with
the CID of its bytes and their size. `RunLock.pin()` fetches and keeps all of it, so the run can
be repeated a year later; `RunLock.compare(later)` tells whether a later run read exactly the same
bytes (by CID, whatever path it read them under) and which outputs came out the same.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterable

from . import protocol
from .client import run_node_command
from .errors import InvalidArgument, NotFound
from .paths import IPFS_PREFIX
from .records import reflog

FORMAT = 1  # the lock file's format version, written as its "iptf-lock" key


@dataclass(frozen=True)
class Locked:
    """One file of a run: the iptf:// path it was read or written at, its bytes' CID and size."""

    path: str
    cid: str
    size: int

    @property
    def uri(self) -> str:
        """The file's bytes by content: `iptf://ipfs/<cid>`."""
        return IPFS_PREFIX + self.cid

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "cid": self.cid, "size": self.size}


@dataclass(frozen=True)
class Difference:
    """An input of the lock the later run did not read, or read with other bytes, or an extra one."""

    kind: str  # "changed", "missing" (not read by the later run) or "extra" (read only by it)
    path: str
    cid: str = ""  # the lock's CID ("" for extra)
    later_cid: str = ""  # the later run's CID ("" for missing)
    later_path: str = ""  # where the later run read a changed file, when not at path

    def __str__(self) -> str:
        if self.kind == "changed":
            where = f" (read at {self.later_path})" if self.later_path and self.later_path != self.path else ""
            return f"changed  {self.path}: {self.cid} -> {self.later_cid}{where}"
        if self.kind == "missing":
            return f"missing  {self.path} ({self.cid}): not read by the later run"
        return f"extra    {self.path} ({self.later_cid}): read only by the later run"


@dataclass(frozen=True)
class Comparison:
    """A later run against a lock: input differences, and which outputs came out byte for byte."""

    differences: tuple[Difference, ...]
    same_outputs: tuple[Locked, ...]
    other_outputs: tuple[Locked, ...]

    @property
    def same_inputs(self) -> bool:
        """Whether the later run read exactly the lock's input bytes, no more and no fewer."""
        return not self.differences


@dataclass(frozen=True)
class RunLock:
    """The inputs and outputs of one run (one process, or the processes of a time window)."""

    programs: tuple[str, ...]
    pids: tuple[int, ...]
    started: str
    ended: str
    inputs: tuple[Locked, ...]
    outputs: tuple[Locked, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[protocol.ReflogEntry]) -> RunLock:
        """The lock of these reflog entries. A read of bytes the run wrote itself before (a
        checkpoint it restores, a SavedModel's shards merged under a temporary name) is no input;
        a path written several times keeps its last CID."""
        entries = list(entries)
        written: set[str] = set()
        inputs: dict[tuple[str, str], Locked] = {}
        outputs: dict[str, Locked] = {}
        for e in entries:
            if e.op == "write":
                written.add(e.cid)
                outputs.pop(e.path, None)
                outputs[e.path] = Locked(e.path, e.cid, e.size)
            elif e.op == "read" and e.cid not in written:
                inputs.setdefault((e.path, e.cid), Locked(e.path, e.cid, e.size))
        return cls(
            programs=tuple(dict.fromkeys(e.program for e in entries)),
            pids=tuple(dict.fromkeys(e.pid for e in entries)),
            started=entries[0].time if entries else "",
            ended=entries[-1].time if entries else "",
            inputs=tuple(inputs.values()),
            outputs=tuple(outputs.values()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "iptf-lock": FORMAT,
            "programs": list(self.programs),
            "pids": list(self.pids),
            "started": self.started,
            "ended": self.ended,
            "inputs": [i.to_json() for i in self.inputs],
            "outputs": [o.to_json() for o in self.outputs],
        }

    @classmethod
    def from_json(cls, j: Any, source: str = "lock") -> RunLock:
        """Decode a lock file's JSON; anything else is an InvalidArgument naming source."""
        try:
            if j.get("iptf-lock") != FORMAT:
                raise ValueError(f"no \"iptf-lock\": {FORMAT} key")
            files = {key: tuple(Locked(str(f["path"]), str(f["cid"]), int(f["size"])) for f in j[key])
                     for key in ("inputs", "outputs")}
            return cls(tuple(str(p) for p in j["programs"]), tuple(int(p) for p in j["pids"]),
                       str(j["started"]), str(j["ended"]), files["inputs"], files["outputs"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"{source}: not an IPTF run lock ({_reason(exc)})") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the lock as JSON (stable order: the order the run first touched each file)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2)
            f.write("\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RunLock:
        """Read a lock file written by `save` (or `iptf lock`)."""
        name = os.fspath(path)
        try:
            with open(name, encoding="utf-8") as f:
                j = json.load(f)
        except FileNotFoundError:
            raise NotFound(f"{name}: no such lock file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidArgument(f"{name}: not an IPTF run lock ({_reason(exc)})") from None
        return cls.from_json(j, source=name)

    def cids(self) -> list[str]:
        """Every distinct CID the lock names, inputs first."""
        return list(dict.fromkeys(f.cid for f in (*self.inputs, *self.outputs)))

    def pin(self) -> list[str]:
        """Fetch everything the lock names and keep it from cache eviction and GC (progress on a
        terminal); returns the pinned `iptf://ipfs/<cid>` URIs."""
        uris = [IPFS_PREFIX + c for c in self.cids()]
        if uris:
            progress = ["--progress"] if sys.stderr.isatty() else []
            run_node_command(["pin", "add", *progress, "--", *uris], show_progress=bool(progress))
        return uris

    def compare(self, later: RunLock) -> Comparison:
        """How a later run's reads and writes compare with this lock: inputs by their bytes
        (the same CID under another path is the same input), outputs by whether the later run
        wrote the same bytes anywhere."""
        mine = {i.cid for i in self.inputs}
        theirs = {i.cid for i in later.inputs}
        unmatched = [i for i in later.inputs if i.cid not in mine]  # bytes the lock does not name
        at_place: dict[str, Locked] = {}
        for i in unmatched:
            at_place.setdefault(_place(i.path), i)
        differences: list[Difference] = []
        for i in self.inputs:
            if i.cid in theirs:
                continue
            other = at_place.pop(_place(i.path), None)
            if other is not None:
                differences.append(Difference("changed", i.path, i.cid, other.cid, other.path))
            else:
                differences.append(Difference("missing", i.path, i.cid))
        changed = {d.later_cid for d in differences}
        extra = {i.cid: i for i in unmatched if i.cid not in changed}
        differences += [Difference("extra", i.path, later_cid=i.cid) for i in extra.values()]
        written = {o.cid for o in later.outputs}
        return Comparison(
            differences=tuple(differences),
            same_outputs=tuple(o for o in self.outputs if o.cid in written),
            other_outputs=tuple(o for o in self.outputs if o.cid not in written),
        )


def lock(*, pid: int | None = None, program: str | None = None, since: str | None = None,
         until: str | None = None) -> RunLock:
    """The lock of the reflog entries matching every filter (as `iptf reflog` takes them): a
    process (`pid`), a program (`program` contained in its command line) and/or a time window."""
    if pid is None and not program and not since and not until:
        raise InvalidArgument("say which run to lock: a pid, a program, or a time window (since/until)")
    entries = reflog(pid=pid, program=program, since=since, until=until)
    if not entries:
        said = ", ".join(f"{k} {v}" for k, v in
                         (("pid", pid), ("program", program), ("since", since), ("until", until)) if v)
        raise NotFound(f"the reflog has no reads or writes for {said}")
    return RunLock.from_entries(entries)


def _place(path: str) -> str:
    """Where a file sits, for pairing a changed input with the file that replaced it: its path,
    or within a CID's tree its path below the CID (`train/0.tfrecord` of a dataset's old and
    new version)."""
    if path.startswith(IPFS_PREFIX):
        _, _, below = path[len(IPFS_PREFIX):].partition("/")
        if below:
            return "ipfs:" + below
    return path


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"missing key {text}" if isinstance(exc, KeyError) else text
