"""`iptf lock`: write a run's inputs and outputs by CID to a lock file, pin them, check a later run."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from datetime import datetime, timezone

from ..errors import NotFound
from ..runlock import Comparison, RunLock, lock
from ..sizes import count_text, size_text

DEFAULT_FILE = "iptf.lock"

USAGE = """\
iptf lock write [-o FILE] [--pid N] [--program TEXT] [--since T] [--until T]
iptf lock run [-o FILE] -- COMMAND [ARGS…]
iptf lock pin FILE
iptf lock check FILE [--pid N] [--program TEXT] [--since T] [--until T] | -- COMMAND [ARGS…]
iptf lock show FILE

A lock names every iptf:// file a run read (its inputs) and wrote (its outputs) with the CID of
its bytes and their size, from the reflog. `write` locks a process or a time window (T as in
`iptf reflog`: 2026-11-24, RFC 3339, 36h, 7d); `run` runs COMMAND and locks what its process
read and wrote; `pin` fetches and keeps everything a lock names; `check` compares a later run
(selected the same ways, or run as COMMAND) with the lock: it exits 0 when the run read exactly
the same bytes, 1 with the differences otherwise. FILE defaults to iptf.lock."""


def run(args: list[str]) -> int:
    command_args: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, command_args = args[:cut], args[cut + 1:]
    parser = _parser()
    opts = parser.parse_args(args)
    if opts.action == "run" and not command_args:
        parser.error("lock run needs a command after --")
    if opts.action in ("write", "pin", "show") and command_args:
        parser.error(f"lock {opts.action} runs no command")
    if opts.action == "write":
        return _write(_select(opts), opts.output)
    if opts.action == "run":
        return _run_and(command_args, lambda run: _write(run, opts.output))
    if opts.action == "pin":
        the_lock = RunLock.load(opts.file)
        uris = the_lock.pin()
        print(f"pinned {count_text(len(uris), 'CID')} ({_total(the_lock.inputs + the_lock.outputs)}) of {opts.file}")
        return 0
    if opts.action == "show":
        _show(RunLock.load(opts.file))
        return 0
    the_lock = RunLock.load(opts.file)
    if command_args:
        return _run_and(command_args, lambda run: _check(the_lock, run))
    return _check(the_lock, _select(opts))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iptf lock", usage=USAGE, add_help=True)
    sub = parser.add_subparsers(dest="action", required=True, metavar="write|run|pin|check|show")
    for name in ("write", "run"):
        p = sub.add_parser(name, usage=USAGE)
        p.add_argument("-o", "--output", default=DEFAULT_FILE, help="the lock file to write")
    for name in ("pin", "check", "show"):
        sub.add_parser(name, usage=USAGE).add_argument("file", nargs="?", default=DEFAULT_FILE)
    for name in ("write", "check"):
        p = sub.choices[name]
        p.add_argument("--pid", type=int, help="the run's process")
        p.add_argument("--program", help="text its command line contains")
        p.add_argument("--since", help="the window's start")
        p.add_argument("--until", help="the window's end")
    return parser


def _select(opts: argparse.Namespace) -> RunLock:
    return lock(pid=opts.pid, program=opts.program, since=opts.since, until=opts.until)


def _run_and(argv: list[str], then) -> int:
    """Run argv, then lock what its process read and wrote and hand that to `then`. The
    process is the command's own: `python …` and `iptf python …` keep their pid."""
    # Whole seconds, rounded down: the bound stays before the command's first read.
    start = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        proc = subprocess.Popen(argv)
    except OSError as exc:
        raise NotFound(f"{argv[0]}: {exc.strerror}") from None
    code = proc.wait()
    if code != 0:
        print(f"Error: `{shlex.join(argv)}` exited with {code}; nothing locked", file=sys.stderr)
        return code
    try:
        run = lock(pid=proc.pid, since=start)
    except NotFound:
        raise NotFound(f"`{shlex.join(argv)}` read and wrote no iptf:// file (only its own process "
                       "is locked; lock a program that starts others with --since/--until)") from None
    return then(run)


def _write(run: RunLock, output: str) -> int:
    run.save(output)
    programs = "; ".join(run.programs)
    print(f"locked {count_text(len(run.inputs), 'input')} ({_total(run.inputs)}) and "
          f"{count_text(len(run.outputs), 'output')} ({_total(run.outputs)}) of `{programs}` in {output}")
    return 0


def _check(the_lock: RunLock, run: RunLock) -> int:
    result = the_lock.compare(run)
    _report(result, len(the_lock.inputs))
    return 0 if result.same_inputs else 1


def _report(result: Comparison, n_inputs: int) -> None:
    if result.same_inputs:
        print(f"same inputs: the run read the {n_inputs} locked files, byte for byte, and nothing else")
    else:
        print(f"different inputs: {len(result.differences)} of the run's reads differ from the lock")
        for d in result.differences:
            print(f"  {d}")
    n_out = len(result.same_outputs) + len(result.other_outputs)
    if n_out:
        print(f"outputs: {len(result.same_outputs)} of {n_out} locked outputs written again with the same bytes")
        for o in result.other_outputs:
            print(f"  other bytes  {o.path} (locked {o.cid})")


def _show(run: RunLock) -> None:
    print(f"programs  {'; '.join(run.programs)}")
    print(f"pids      {' '.join(str(p) for p in run.pids)}")
    print(f"from      {run.started}")
    print(f"to        {run.ended}")
    for title, files in (("inputs", run.inputs), ("outputs", run.outputs)):
        print(f"{title} ({len(files)}, {_total(files)}):")
        for f in files:
            print(f"  {f.uri}  {f.size:>12}  {f.path}")


def _total(files) -> str:
    """The files' bytes in all, in words."""
    return size_text(sum(f.size for f in files))
