"""The reflog keeps what it names: content named by entries younger than the retention period
survives `iptf repo gc`; `iptf reflog expire` ends that, and the next gc frees it. Real node,
isolated repo, writes and reads through fsspec (the same node commands TensorFlow uses)."""

from __future__ import annotations

import json

from harness import IptfRepo

LABELS = "iptf://repo/root/data/labels.csv"

# A few blocks' worth of labels (the expressions run in the writer's process too).
OLD_EXPR = 'b"id,label\\n" + b"".join(b"%d,cat\\n" % i for i in range(60_000))'
NEW_EXPR = OLD_EXPR.replace("cat", "dog")
OLD, NEW = eval(OLD_EXPR), eval(NEW_EXPR)


def write_read_overwrite(repo: IptfRepo) -> None:
    proc = repo.python(f"""
import fsspec
OLD, NEW = {OLD_EXPR}, {NEW_EXPR}
fs = fsspec.filesystem("iptf")
fs.makedirs("iptf://repo/root/data", exist_ok=True)
with fs.open({LABELS!r}, "wb") as f:
    f.write(OLD)
assert fs.cat({LABELS!r}) == OLD
with fs.open({LABELS!r}, "wb") as f:
    f.write(NEW)
assert fs.cat({LABELS!r}) == NEW
""")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]


def reflog_cids(repo: IptfRepo) -> list[str]:
    entries = json.loads(repo.out("reflog", "--path", LABELS, "--enc=json"))["Entries"]
    return [e["Cid"] for e in entries]


def cat_offline(repo: IptfRepo, cid: str):
    return repo.run("cat", "--offline", cid, check=False)


def test_gc_keeps_what_the_reflog_names_until_expired(repo: IptfRepo) -> None:
    write_read_overwrite(repo)
    cids = reflog_cids(repo)
    old, new = cids[0], cids[-1]
    assert old != new and set(cids) == {old, new}
    assert "the reflog keeps 2 CIDs" in repo.out("status")

    repo.run("repo", "gc")
    assert cat_offline(repo, old).stdout == OLD, "gc removed content the reflog names"
    repo.run("repo", "verify")

    # Entries younger than the age stay (and with them their content).
    kept = json.loads(repo.out("reflog", "expire", "--older-than", "1h", "--enc=json"))
    assert kept["Removed"] == 0 and kept["Keeps"]["Cids"] == 2
    repo.run("repo", "gc")
    assert cat_offline(repo, old).stdout == OLD

    expired = repo.out("reflog", "expire", "--older-than", "now")
    assert expired.startswith(f"removed {len(cids)} reflog entries; the reflog keeps 0 CIDs")
    assert "removed" in repo.out("repo", "gc")
    gone = cat_offline(repo, old)
    assert gone.returncode != 0 and gone.stdout == b""
    # What the tree still holds is not the reflog's to free.
    assert cat_offline(repo, new).stdout == NEW
    # New entries are numbered after the expired ones.
    write_read_overwrite(repo)
    numbers = [e["N"] for e in json.loads(repo.out("reflog", "--enc=json"))["Entries"]]
    assert numbers[0] > len(cids)


def test_retention_period_comes_from_the_config(repo: IptfRepo) -> None:
    repo.run("config", "--json", "Plugins.Plugins.iptf.Config", json.dumps({"ReflogRetention": "0"}))
    write_read_overwrite(repo)
    old = reflog_cids(repo)[0]
    assert "the reflog keeps 0 CIDs" in repo.out("status")
    repo.run("repo", "gc")
    assert cat_offline(repo, old).returncode != 0, "a zero retention period kept content"
    bad = repo.run("config", "--json", "Plugins.Plugins.iptf.Config", json.dumps({"ReflogRetention": "soon"}))
    assert bad.returncode == 0
    failed = repo.run("repo", "gc", check=False)
    assert failed.returncode != 0 and b"ReflogRetention" in failed.stderr
