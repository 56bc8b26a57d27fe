"""The node's block map: where each byte range of a file sits in the blockstore's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes

from iptf.protocol import FileMap, decode

SETTINGS = {
    "default": [],
    "cidv1-raw-leaves": ["--cid-version=1"],
    "trickle": ["--trickle"],
    "small-chunks-deep-tree": ["--chunker=size-1000", "--max-file-links=8"],
    "v1-dag-pb-leaves": ["--cid-version=1", "--raw-leaves=false", "--chunker=size-4096"],
}


def blockmap(repo: IptfRepo, uri: str) -> FileMap:
    """The node's block map of uri, decoded as the package decodes it."""
    return decode("iptf/blockmap", repo.out("iptf", "blockmap", "--enc=json", uri), FileMap.from_json)


def read_spans(m: FileMap) -> bytes:
    out = bytearray()
    for span in m.spans:
        assert span.local and span.file, span
        assert span.offset == len(out)
        with open(span.file, "rb") as f:
            f.seek(span.file_offset)
            out += f.read(span.length)
    return bytes(out)


@pytest.mark.parametrize("flags", SETTINGS.values(), ids=SETTINGS.keys())
def test_spans_reassemble_the_file_from_block_files(repo: IptfRepo, tmp_path: Path, flags: list[str]) -> None:
    data = random_bytes(3 * 262144 + 4321, seed=9)
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    cid = repo.out("add", "-Q", *flags, str(f))
    m = blockmap(repo, f"iptf://ipfs/{cid}")
    assert m.type == "file" and m.size == len(data) and m.cid == cid
    assert read_spans(m) == data
    # Every block file named is inside the repo's blockstore.
    assert all(Path(s.file).is_relative_to(repo.path / "blocks") for s in m.spans)


def test_empty_and_single_block_files(repo: IptfRepo, tmp_path: Path) -> None:
    for data in (b"", b"x", random_bytes(1000, seed=1)):
        f = tmp_path / "f"
        f.write_bytes(data)
        for flags in ([], ["--cid-version=1"]):
            m = blockmap(repo, "iptf://ipfs/" + repo.out("add", "-Q", *flags, str(f)))
            assert m.size == len(data)
            assert read_spans(m) == data


def test_missing_blocks_are_marked_not_local(repo: IptfRepo, tmp_path: Path) -> None:
    data = random_bytes(5 * 262144, seed=3)
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    cid = repo.out("add", "-Q", "--pin=false", str(f))
    spans = blockmap(repo, f"iptf://ipfs/{cid}").spans
    victim = spans[2].cid
    repo.run("block", "rm", victim)
    after = blockmap(repo, f"iptf://ipfs/{cid}").spans
    assert [s.local for s in after] == [True, True, False, True, True]
    assert after[2].cid == victim and after[2].file == ""
    assert (after[2].offset, after[2].length) == (2 * 262144, 262144)


def test_paths_inside_directories_mfs_and_ipns(repo: IptfRepo, tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    data = random_bytes(700_000, seed=4)
    (d / "sub" / "x.bin").write_bytes(data)
    root = repo.out("add", "-r", "-Q", str(d))
    assert read_spans(blockmap(repo, f"iptf://ipfs/{root}/sub/x.bin")) == data
    assert blockmap(repo, f"iptf://ipfs/{root}/sub").type == "directory"
    repo.run("files", "cp", f"/ipfs/{root}", "/data")
    assert read_spans(blockmap(repo, "iptf://repo/root/data/sub/x.bin")) == data
    repo.run("name", "publish", "--allow-offline", root)
    peer = repo.out("id", "-f=<id>")
    assert read_spans(blockmap(repo, f"iptf://ipns/{peer}/sub/x.bin")) == data


def test_bad_paths_fail_cleanly(repo: IptfRepo) -> None:
    # kubo's /ipfs/ paths are not IPTF's: its own commands take iptf:// URIs only.
    bad = {"iptf://ipfs/not-a-cid": "InvalidArgument", "/ipfs/bafkqaaa": "InvalidArgument",
           "iptf://nope/x": "InvalidArgument", "iptf://repo/root/missing": "NotFound",
           "iptf://meta/repo/root": "InvalidArgument"}
    for uri, error_class in bad.items():
        proc = repo.run("iptf", "blockmap", uri, check=False)
        assert proc.returncode == 1, uri
        assert proc.stderr.decode().startswith(f"Error: {error_class}: "), (uri, proc.stderr)
