"""The node's block map: where each byte range of a file sits in the blockstore's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import IptfRepo, random_bytes

SETTINGS = {
    "default": [],
    "cidv1-raw-leaves": ["--cid-version=1"],
    "trickle": ["--trickle"],
    "small-chunks-deep-tree": ["--chunker=size-1000", "--max-file-links=8"],
    "v1-dag-pb-leaves": ["--cid-version=1", "--raw-leaves=false", "--chunker=size-4096"],
}


def blockmap(repo: IptfRepo, path: str, *flags: str) -> dict:
    return json.loads(repo.out("iptf", "blockmap", "--enc=json", *flags, path))


def read_spans(m: dict) -> bytes:
    out = bytearray()
    for span in m["Spans"]:
        assert span["Local"] and span["File"], span
        assert span["Offset"] == len(out)
        with open(span["File"], "rb") as f:
            f.seek(span.get("FileOffset", 0))
            out += f.read(span["Length"])
    return bytes(out)


@pytest.mark.parametrize("flags", SETTINGS.values(), ids=SETTINGS.keys())
def test_spans_reassemble_the_file_from_block_files(repo: IptfRepo, tmp_path: Path, flags: list[str]) -> None:
    data = random_bytes(3 * 262144 + 4321, seed=9)
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    cid = repo.out("add", "-Q", *flags, str(f))
    m = blockmap(repo, f"/ipfs/{cid}")
    assert m["Type"] == "file" and m["Size"] == len(data) and m["Cid"] == cid
    assert read_spans(m) == data
    # Every block file named is inside the repo's blockstore.
    assert all(Path(s["File"]).is_relative_to(repo.path / "blocks") for s in m["Spans"])


def test_empty_and_single_block_files(repo: IptfRepo, tmp_path: Path) -> None:
    for data in (b"", b"x", random_bytes(1000, seed=1)):
        f = tmp_path / "f"
        f.write_bytes(data)
        for flags in ([], ["--cid-version=1"]):
            m = blockmap(repo, "/ipfs/" + repo.out("add", "-Q", *flags, str(f)))
            assert m["Size"] == len(data)
            assert read_spans(m) == data


def test_missing_blocks_are_marked_not_local(repo: IptfRepo, tmp_path: Path) -> None:
    data = random_bytes(5 * 262144, seed=3)
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    cid = repo.out("add", "-Q", "--pin=false", str(f))
    spans = blockmap(repo, f"/ipfs/{cid}")["Spans"]
    victim = spans[2]["Cid"]
    repo.run("block", "rm", victim)
    after = blockmap(repo, f"/ipfs/{cid}")["Spans"]
    assert [s["Local"] for s in after] == [True, True, False, True, True]
    assert after[2]["Cid"] == victim and "File" not in after[2]
    assert (after[2]["Offset"], after[2]["Length"]) == (2 * 262144, 262144)


def test_paths_inside_directories_mfs_and_ipns(repo: IptfRepo, tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    data = random_bytes(700_000, seed=4)
    (d / "sub" / "x.bin").write_bytes(data)
    root = repo.out("add", "-r", "-Q", str(d))
    assert read_spans(blockmap(repo, f"/ipfs/{root}/sub/x.bin")) == data
    assert blockmap(repo, f"/ipfs/{root}/sub")["Type"] == "directory"
    repo.run("files", "cp", f"/ipfs/{root}", "/data")
    assert read_spans(blockmap(repo, "/data/sub/x.bin", "--mfs")) == data
    repo.run("name", "publish", "--allow-offline", root)
    peer = repo.out("id", "-f=<id>")
    assert read_spans(blockmap(repo, f"/ipns/{peer}/sub/x.bin")) == data


def test_bad_paths_fail_cleanly(repo: IptfRepo) -> None:
    for args in (["/ipfs/not-a-cid"], ["/nope/x"], ["/missing", "--mfs"], ["relative", "--mfs"]):
        proc = repo.run("iptf", "blockmap", *args, check=False)
        assert proc.returncode == 1, args
        assert proc.stderr.decode().startswith("Error:"), args
