"""PyTorch reading shards by CID through fsspec, as its users install it: the wheel with its
`[fsspec]` extra and PyPI's torch (run on the CPU) in a new venv, no TensorFlow; the example in
`examples/pytorch_shards.py` run as its docstring says, with DataLoader workers sharing one node."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import pytest

from harness import IptfRepo, random_bytes
from harness.venvs import ROOT, Venv, built_wheel, make_env, make_repo

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "examples" / "pytorch_shards.py"


@pytest.fixture(scope="module")
def with_torch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Venv, IptfRepo]]:
    tmp = tmp_path_factory.mktemp("wheel-torch")
    env = make_env(tmp, f"{built_wheel()}[fsspec]", "torch", "numpy")
    repo = make_repo(env, tmp / "repo")
    yield env, repo
    repo.stop()


def reads_in_reflog(repo: IptfRepo, prefix: str) -> list[dict]:
    lines = (repo.path / "reflog.jsonl").read_text().split("\n")[:-1]
    return [e for e in map(json.loads, lines) if e["Path"].startswith(prefix)]


def test_dataloader_workers_read_shards_by_cid_on_one_node(with_torch: tuple[Venv, IptfRepo],
                                                           tmp_path: Path) -> None:
    env, repo = with_torch
    proc = env.py("import importlib.util; print(importlib.util.find_spec('tensorflow'))", repo)
    assert proc.stdout.decode().strip() == "None", "TensorFlow is in the venv"
    shards = {f"shard-{i:02d}.bin": random_bytes(300_000 + 4099 * i, seed=700 + i) for i in range(9)}
    folder = tmp_path / "shards"
    folder.mkdir()
    for name, data in shards.items():
        (folder / name).write_bytes(data)
    added = env.run(["iptf", "add", "-r", "-Q", str(folder)], repo)
    assert added.returncode == 0, added.stderr.decode()
    cid = added.stdout.decode().strip()
    node_before = repo.status()
    assert node_before is not None

    run = env.run([env.python, str(EXAMPLE), f"iptf://ipfs/{cid}", "--workers", "3"], repo, timeout=600)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    lines = [json.loads(line) for line in run.stdout.decode().splitlines()]
    items, main = lines[:-1], lines[-1]["main"]
    assert [(i["name"], i["size"], i["sha256"]) for i in items] == [
        (name, len(data), hashlib.sha256(data).hexdigest()) for name, data in sorted(shards.items())]
    workers = {i["worker"] for i in items}
    assert len(workers) == 3 and main not in workers, (workers, main)

    # One node served every worker: the same process as before, and the reflog records each
    # shard's read by the worker that loaded it.
    node_after = repo.status()
    assert node_after is not None and node_after["Pid"] == node_before["Pid"]
    reads = reads_in_reflog(repo, f"iptf://ipfs/{cid}/")
    by_name = {e["Path"].rsplit("/", 1)[-1]: e["Pid"] for e in reads}
    assert by_name == {i["name"]: i["worker"] for i in items}
