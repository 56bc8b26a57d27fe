"""`iptf lock`: a run's inputs and outputs by CID, pinned, and a later run checked against them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes

from iptf.runlock import Locked, RunLock

# A run that reads two files of a dataset through the Python API, writes one output with fsspec
# and reads that output back (a run restoring its own checkpoint: not an input).
WORK = """
import sys, fsspec, iptf
root = sys.argv[1]
a = iptf.cat(root + "/train/a.bin")
b = iptf.cat(root + "/labels.txt")
with fsspec.open("iptf://repo/root/runs/out.bin", "wb") as f:
    f.write(a[:100] + b)
iptf.cat("iptf://repo/root/runs/out.bin")
print("done", len(a), len(b))
"""


def _dataset(folder: Path, seed: int) -> Path:
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "a.bin").write_bytes(random_bytes(700_000, seed))
    (folder / "labels.txt").write_text("0 1 2 3\n")
    return folder


def _lock_run(repo: IptfRepo, lock: Path, script: Path, root: str, action: str = "run") -> tuple[int, str, str]:
    """`iptf lock run` (or `lock check`) of the script reading root; its exit code, stdout, stderr."""
    args = ["lock", action, "-o", str(lock)] if action == "run" else ["lock", "check", str(lock)]
    proc = repo.run(*args, "--", sys.executable, str(script), root, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_lock_run_pin_and_check(repo: IptfRepo, tmp_path: Path) -> None:
    script = tmp_path / "work.py"
    script.write_text(WORK)
    data = _dataset(tmp_path / "v1", seed=1)
    root = "iptf://ipfs/" + repo.out("add", "-r", "-Q", str(data))
    lock = tmp_path / "iptf.lock"

    code, out, err = _lock_run(repo, lock, script, root)
    assert code == 0, err
    assert "locked 2 inputs" in out and "1 output (" in out, out
    locked = RunLock.load(lock)
    by_path = {i.path: i for i in locked.inputs}
    assert set(by_path) == {f"{root}/train/a.bin", f"{root}/labels.txt"}
    # The locked CIDs are the files' own: what `iptf add` gives the same bytes.
    assert by_path[f"{root}/train/a.bin"].cid == repo.out("add", "-Q", "--only-hash", str(data / "train" / "a.bin"))
    assert by_path[f"{root}/train/a.bin"].size == 700_000
    assert [o.path for o in locked.outputs] == ["iptf://repo/root/runs/out.bin"]
    assert locked.outputs[0].cid == repo.out("files", "stat", "--hash", "iptf://repo/root/runs/out.bin")
    assert len(locked.pids) == 1 and "work.py" in locked.programs[0]

    # Pinned, everything it names survives gc and is read back by CID.
    pin = repo.run("lock", "pin", str(lock))
    assert f"pinned {len(locked.cids())} CID" in pin.stdout.decode()
    pinned = repo.out("pin", "ls", "--type=recursive", "--quiet").split()
    assert set(locked.cids()) <= set(pinned)
    repo.run("files", "rm", "-r", "/runs")
    repo.run("repo", "gc")
    assert repo.run("cat", locked.outputs[0].uri).stdout[:100] == (data / "train" / "a.bin").read_bytes()[:100]

    # The same run again: the same bytes in, the same bytes out.
    code, out, err = _lock_run(repo, lock, script, root, action="check")
    assert code == 0, out + err
    assert "same inputs: the run read the 2 locked files" in out
    assert "outputs: 1 of 1 locked outputs written again with the same bytes" in out

    # A new version of the dataset: one file changed, one the same. The changed file is paired
    # with its old version by its place in the tree, though the root's CID differs.
    data2 = _dataset(tmp_path / "v2", seed=2)
    root2 = "iptf://ipfs/" + repo.out("add", "-r", "-Q", str(data2))
    new_a = repo.out("add", "-Q", "--only-hash", str(data2 / "train" / "a.bin"))
    code, out, err = _lock_run(repo, lock, script, root2, action="check")
    assert code == 1, out + err
    assert "different inputs: 1 of the run's reads differ from the lock" in out
    assert f"changed  {root}/train/a.bin: {by_path[f'{root}/train/a.bin'].cid} -> {new_a} " \
           f"(read at {root2}/train/a.bin)" in out
    assert "outputs: 0 of 1" in out and "other bytes  iptf://repo/root/runs/out.bin" in out


def test_lock_write_by_program_and_window(repo: IptfRepo, tmp_path: Path) -> None:
    data = _dataset(tmp_path / "d", seed=3)
    root = "iptf://ipfs/" + repo.out("add", "-r", "-Q", str(data))
    for name in ("alpha.py", "beta.py"):
        (tmp_path / name).write_text(f"import iptf\niptf.cat({root + '/labels.txt'!r})\n")
        proc = subprocess.run([sys.executable, str(tmp_path / name)], env=repo.env, capture_output=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
    lock = tmp_path / "alpha.lock"
    out = repo.out("lock", "write", "-o", str(lock), "--program", "alpha.py", "--since", "1h")
    assert "locked 1 input (" in out
    locked = RunLock.load(lock)
    assert [i.path for i in locked.inputs] == [f"{root}/labels.txt"]
    assert all("alpha.py" in p for p in locked.programs)

    shown = repo.out("lock", "show", str(lock))
    assert f"iptf://ipfs/{locked.inputs[0].cid}" in shown and "alpha.py" in shown

    # beta read the same bytes: its window checks out against alpha's lock.
    check = repo.run("lock", "check", str(lock), "--program", "beta.py", check=False)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


@pytest.mark.parametrize("args, message", [
    (["write", "--program", "no-such-program"], "the reflog has no reads or writes for program no-such-program"),
    (["write"], "say which run to lock"),
    (["pin", "missing.lock"], "missing.lock: no such lock file"),
    (["check", "bad.lock", "--since", "1h"], "bad.lock: not an IPTF run lock"),
    (["write", "--since", "yesterday-ish"], "cannot read time"),
])
def test_lock_errors_are_one_line(repo: IptfRepo, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.lock").write_text('{"inputs": []}')
    proc = repo.run("lock", *[str(tmp_path / a) if a.endswith(".lock") else a for a in args], check=False)
    err = proc.stderr.decode().strip()
    assert proc.returncode != 0
    assert message in err and len(err.splitlines()) == 1, err


def test_compare_pairs_inputs_by_bytes_then_place() -> None:
    lock = RunLock(("train.py",), (1,), "t0", "t1",
                   inputs=(Locked("iptf://ipfs/R1/a", "A", 1), Locked("iptf://ipfs/R1/b", "B", 1),
                           Locked("iptf://repo/root/c", "C", 1)),
                   outputs=(Locked("iptf://repo/root/m", "M", 1),))
    # The same bytes under other paths are the same inputs.
    same = RunLock(("train.py",), (2,), "t2", "t3",
                   inputs=(Locked("iptf://ipfs/A", "A", 1), Locked("iptf://ipfs/R2/b", "B", 1),
                           Locked("iptf://repo/root/c", "C", 1)),
                   outputs=(Locked("iptf://repo/root/run2/m", "M", 1),))
    result = lock.compare(same)
    assert result.same_inputs and [o.cid for o in result.same_outputs] == ["M"]
    later = RunLock(("train.py",), (3,), "t2", "t3",
                    inputs=(Locked("iptf://ipfs/R2/a", "A2", 1), Locked("iptf://repo/root/c", "C", 1),
                            Locked("iptf://ipfs/X", "X", 1)),
                    outputs=())
    kinds = [(d.kind, d.path, d.cid, d.later_cid) for d in lock.compare(later).differences]
    assert kinds == [("changed", "iptf://ipfs/R1/a", "A", "A2"), ("missing", "iptf://ipfs/R1/b", "B", ""),
                     ("extra", "iptf://ipfs/X", "", "X")]
    assert RunLock.from_json(lock.to_json()) == lock
