"""fsspec: iptf:// for pandas, PyArrow and PyTorch-style loaders, on the same node, namespaces,
reflog and CIDs as TensorFlow. Real node, real fsspec, pandas and PyArrow; TensorFlow where the
test is about it."""

from __future__ import annotations

import json
import multiprocessing
import os
import uuid
from pathlib import Path

import fsspec
import pytest

import iptf
from iptf.client import node as current_node
from harness import IptfRepo, random_bytes
from iptf.fsspec import IptfFileSystem, calls

ROOT = "iptf://repo/root"


@pytest.fixture
def fs(tf_repo: IptfRepo) -> IptfFileSystem:
    """The filesystem in this process, on the session's repo (the one TensorFlow tests use)."""
    assert current_node(refresh=True).repo == tf_repo.path
    return fsspec.filesystem("iptf")


@pytest.fixture
def work(fs: IptfFileSystem) -> str:
    """A fresh directory in the writable tree."""
    path = f"{ROOT}/fsspec-{uuid.uuid4().hex[:8]}"
    fs.mkdir(path)
    return path


def only_hash(repo: IptfRepo, data: bytes, tmp_path: Path) -> str:
    """The CID `iptf add` gives these bytes."""
    local = tmp_path / f"h-{uuid.uuid4().hex[:8]}"
    local.write_bytes(data)
    return repo.out("add", "-Q", "--only-hash", str(local))


def reflog(repo: IptfRepo, path: str) -> list[dict]:
    lines = (repo.path / "reflog.jsonl").read_text().split("\n")[:-1]
    return [e for e in map(json.loads, lines) if e["Path"] == path]


class NodeReads:
    """Counts the reads that went to the node instead of the block files."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple] = []
        for name in ("read", "cat"):
            real = getattr(calls, name)

            def counted(*args, _real=real, _name=name):
                self.calls.append((_name, *args))
                return _real(*args)

            monkeypatch.setattr(calls, name, counted)


def test_entry_point_needs_no_import(repo: IptfRepo, tmp_path: Path) -> None:
    """fsspec finds iptf:// through the package's entry point; TensorFlow is never imported."""
    data = random_bytes(300_000, seed=1)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "part-0.bin").write_bytes(data)
    cid = repo.out("add", "-r", "-Q", str(tmp_path / "d"))
    proc = repo.python(f"""
import sys, fsspec
with fsspec.open("iptf://ipfs/{cid}/part-0.bin", "rb") as f:
    f.seek(1000)
    sys.stdout.buffer.write(f.read(5000))
assert "tensorflow" not in sys.modules
print(type(fsspec.filesystem("iptf")).__module__, file=sys.stderr)
""")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert proc.stdout == data[1000:6000]
    assert proc.stderr.decode().strip() == "iptf.fsspec.filesystem"


def test_ipfs_reads_local_blocks_from_their_files(fs: IptfFileSystem, tf_repo: IptfRepo, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bytes((3 << 20) + 4321, seed=2)  # a dozen blocks and a partial one
    d = tmp_path / "ds"
    (d / "train").mkdir(parents=True)
    (d / "train" / "part-0.bin").write_bytes(data)
    (d / "train" / "part-1.bin").write_bytes(data[::-1])
    (d / "README").write_bytes(b"shards\n")
    cid = tf_repo.out("add", "-r", "-Q", str(d))
    base = f"iptf://ipfs/{cid}"

    assert fs.ls(base, detail=False) == [f"ipfs/{cid}/README", f"ipfs/{cid}/train"]
    assert {e["name"]: e["type"] for e in fs.ls(f"{base}/train")} == {
        f"ipfs/{cid}/train/part-0.bin": "file", f"ipfs/{cid}/train/part-1.bin": "file"}
    info = fs.info(f"{base}/train/part-0.bin")
    assert (info["type"], info["size"]) == ("file", len(data))
    assert info["cid"] == only_hash(tf_repo, data, tmp_path)
    assert fs.info(base)["type"] == "directory" and fs.isdir(f"{base}/train")
    assert fs.glob(f"{base}/train/part-*.bin") == [f"ipfs/{cid}/train/part-0.bin", f"ipfs/{cid}/train/part-1.bin"]
    assert fs.glob(f"{base}/*/part-1.*") == [f"ipfs/{cid}/train/part-1.bin"]
    assert fs.glob(f"{base}/**/*.bin") == [f"ipfs/{cid}/train/part-0.bin", f"ipfs/{cid}/train/part-1.bin"]
    assert fs.find(base) == [f"ipfs/{cid}/README", f"ipfs/{cid}/train/part-0.bin", f"ipfs/{cid}/train/part-1.bin"]

    node_reads = NodeReads(monkeypatch)
    with fs.open(f"{base}/train/part-0.bin", "rb") as f:
        assert f.read(10) == data[:10]
        f.seek(262_140)  # across a block boundary
        assert f.read(100) == data[262_140:262_240]
        f.seek(-4321, os.SEEK_END)
        assert f.read() == data[-4321:]
        assert f.read(10) == b""
        f.seek(0)
        assert f.read() == data
    assert fs.cat_file(f"{base}/train/part-1.bin", start=5, end=70_000) == data[::-1][5:70_000]
    assert fs.cat(f"{base}/README") == b"shards\n"
    assert node_reads.calls == [], "local blocks were read through the node"


def test_missing_blocks_are_fetched_from_a_peer(repo_factory, tmp_path: Path) -> None:
    source, reader = repo_factory("source"), repo_factory("reader")
    for r in (source, reader):
        r.env.pop("IPTF_OFFLINE")
    data = random_bytes((5 << 20) + 17, seed=3)
    (tmp_path / "remote.bin").write_bytes(data)
    cid = source.out("add", "-Q", str(tmp_path / "remote.bin"))
    addr = next(a for a in source.out("id", "-f=<addrs>").split() if a.startswith("/ip4/127.0.0.1/tcp/"))
    reader.run("swarm", "connect", f"{addr}/p2p/{source.out('id', '-f=<id>')}")
    proc = reader.python(f"""
import hashlib, sys, fsspec
with fsspec.open("iptf://ipfs/{cid}", "rb") as f:
    f.seek(3 << 20)
    tail = f.read()
    f.seek(0)
    head = f.read(3 << 20)
sys.stdout.write(hashlib.sha256(head + tail).hexdigest())
""")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    import hashlib

    assert proc.stdout.decode() == hashlib.sha256(data).hexdigest()
    assert reader.run("cat", "--offline", cid).stdout == data, "fetched blocks did not stay in the repo"


def test_repo_round_trip_same_cid_and_reflog(fs: IptfFileSystem, tf_repo: IptfRepo, work: str,
                                             tmp_path: Path) -> None:
    data = random_bytes((2 << 20) + 99, seed=4)
    path = f"{work}/data/shard.bin"
    fs.makedirs(f"{work}/data", exist_ok=True)
    with fs.open(path, "wb") as f:
        for i in range(0, len(data), 100_000):  # small writes gather in a buffer
            f.write(data[i:i + 100_000])
        assert f.tell() == len(data)
    expected = only_hash(tf_repo, data, tmp_path)
    assert fs.info(path)["cid"] == expected and fs.info(path)["size"] == len(data)
    assert fs.cat(path) == data
    assert tf_repo.out("files", "stat", "--hash", path.removeprefix(ROOT)) == expected
    entries = reflog(tf_repo, path)
    assert [(e["Op"], e["Cid"], e["Pid"]) for e in entries] == [("write", expected, os.getpid()),
                                                               ("read", expected, os.getpid())]
    assert entries[0]["Size"] == len(data) and "pytest" in entries[0]["Program"]

    # Append (from the current content), text mode, rename, copy, remove.
    with fs.open(path, "ab") as f:
        f.write(b"tail")
    assert fs.cat(path) == data + b"tail"
    with fs.open(f"{work}/notes.txt", "w") as f:
        f.write("line 1\nline 2\n")
    with fs.open(f"{work}/notes.txt", "r") as f:
        assert f.readlines() == ["line 1\n", "line 2\n"]
    fs.mv(f"{work}/notes.txt", f"{work}/data/notes.txt")
    assert not fs.exists(f"{work}/notes.txt")
    fs.cp_file(f"{work}/data/notes.txt", f"{work}/copy.txt")
    assert fs.info(f"{work}/copy.txt")["cid"] == fs.info(f"{work}/data/notes.txt")["cid"]
    fs.touch(f"{work}/empty")
    assert fs.info(f"{work}/empty")["size"] == 0
    assert sorted(fs.ls(work, detail=False)) == [f"{work[7:]}/copy.txt", f"{work[7:]}/data", f"{work[7:]}/empty"]
    fs.rm_file(f"{work}/empty")
    fs.rm(f"{work}/data", recursive=True)
    fs.rm(f"{work}/copy.txt")
    assert fs.ls(work) == []
    fs.rmdir(work)
    assert not fs.exists(work)


def test_a_file_opened_again_is_read_with_the_map_held_only_while_it_is_the_same_cid(
        fs: IptfFileSystem, tf_repo: IptfRepo, work: str, tmp_path: Path) -> None:
    """A process keeps the block maps of files it opened; the node, told the CID of the map
    held (iptf/open's `known`), leaves the spans out while the file is that CID, records the
    reads in the reflog, and answers a changed file with its new map."""
    first, second = random_bytes(3 << 20, seed=41), random_bytes(3 << 20, seed=42)
    path = f"{work}/weights.bin"
    fs.pipe_file(path, first)
    cid = fs.info(path)["cid"]
    assert fs.cat(path) == first

    answer = calls.open_map(path, known=cid)
    assert (answer.known, answer.spans, answer.cid, answer.size) == (True, (), cid, len(first))
    assert calls.open_map(path, known=only_hash(tf_repo, second, tmp_path)).spans  # another CID: in full
    assert fs.cat(path) == first

    # Rewritten with as many bytes: the map held names the old blocks, whose files are still there.
    fs.pipe_file(path, second)
    assert fs.cat(path) == second
    with fs.open(path, "rb") as f:
        f.seek(1 << 20)
        assert f.read(2 << 20) == second[1 << 20:]
    reads = [(e["Cid"], e["Pid"]) for e in reflog(tf_repo, path) if e["Op"] == "read"]
    assert reads == [(cid, os.getpid()), (fs.info(path)["cid"], os.getpid())]  # one entry per CID read


def test_a_file_read_again_is_copied_from_its_blocks_mapped(repo: IptfRepo, tmp_path: Path) -> None:
    """The second open of a file maps its block files, up to the process's budget of bytes and
    of mappings (past it, blocks are read from their files), without keeping a descriptor per
    block; a mapping holds its block's bytes after the file goes."""
    for name, size, seed in (("a.bin", (3 << 20) + 1234, 44), ("b.bin", 3 << 20, 45), ("c.bin", 3 << 20, 46)):
        (tmp_path / name).write_bytes(random_bytes(size, seed=seed))
    a, b, c = (repo.out("add", "-Q", str(tmp_path / n)) for n in ("a.bin", "b.bin", "c.bin"))
    proc = repo.python(f"""
import os, fsspec
from iptf.fsspec import calls, mapped_blocks

node_reads = []
for name in ("read", "cat"):
    real = getattr(calls, name)
    setattr(calls, name, lambda *args, _real=real, _name=name: node_reads.append(_name) or _real(*args))

def whole(cid):
    with fsspec.open("iptf://ipfs/" + cid, "rb") as f:
        f.seek(100_000)
        tail = f.read()
        f.seek(0)
        return f.read(100_000) + tail

a_data, b_data, c_data = (open(f"{tmp_path}/{{n}}.bin", "rb").read() for n in "abc")
assert whole({a!r}) == a_data and mapped_blocks.mapped_bytes() == 0, "mapped at the first open"
fds = len(os.listdir("/proc/self/fd"))
assert whole({a!r}) == a_data
assert mapped_blocks.mapped_bytes() == len(a_data), mapped_blocks.mapped_bytes()
assert len(os.listdir("/proc/self/fd")) == fds, "a mapping keeps a file descriptor"

files = {{s.file for s in calls.open_map("iptf://ipfs/{a}").spans}}
assert len(files) == 13 and all(files), files
for f in files:
    os.unlink(f)  # as the cache would evict them
assert whole({a!r}) == a_data

mapped_blocks._budget = mapped_blocks._Budget(1 << 30, mappings=3)  # room for three of b's blocks
assert whole({b!r}) == b_data and whole({b!r}) == b_data
assert mapped_blocks.mapped_bytes() == 3 << 18, mapped_blocks.mapped_bytes()
mapped_blocks._budget = mapped_blocks._Budget(1 << 20)  # room for four of c's blocks
assert whole({c!r}) == c_data and whole({c!r}) == c_data
assert mapped_blocks.mapped_bytes() == 1 << 20, mapped_blocks.mapped_bytes()
assert node_reads == [], node_reads
""")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]


def _read_whole(args: tuple[str, int]) -> tuple[int, bytes]:
    uri, i = args
    with fsspec.open(uri, "rb") as f:
        return i, f.read()


def test_large_reads_are_shared_between_threads_and_a_forked_child_reads_too(
        fs: IptfFileSystem, tf_repo: IptfRepo, tmp_path: Path) -> None:
    """A read of several MiB copies the block files on more than one thread; a worker forked
    after that (a DataLoader worker) makes its own threads instead of waiting on its parent's."""
    data = random_bytes((9 << 20) + 777, seed=43)
    (tmp_path / "big.bin").write_bytes(data)
    uri = f"iptf://ipfs/{tf_repo.out('add', '-Q', str(tmp_path / 'big.bin'))}"
    with fs.open(uri, "rb") as f:
        f.seek(123_457)  # reads that start and end inside blocks
        assert f.read(5 << 20) == data[123_457:123_457 + (5 << 20)]
        assert f.read() == data[123_457 + (5 << 20):]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map_async(_read_whole, [(uri, i) for i in range(4)], chunksize=1).get(timeout=120)
    assert sorted(got) == [(i, data) for i in range(4)]


def test_close_hands_the_file_to_the_node(fs: IptfFileSystem, tf_repo: IptfRepo, work: str) -> None:
    """Write-back: close queues the import (the staging file becomes the node's), and every
    later operation on the path waits for it."""
    data = random_bytes(96 << 20, seed=5)  # takes the node well over 100 ms to import
    path = f"{work}/big.bin"
    f = fs.open(path, "wb")
    f.write(data)
    f.close()
    journal = (tf_repo.path / "staging" / "writeback.jsonl").read_text()
    assert any(json.loads(line).get("path") == path.removeprefix(ROOT) for line in journal.splitlines()), \
        "close imported the file instead of queueing it"
    assert fs.info(path)["size"] == len(data)
    assert not list((tf_repo.path / "staging").glob("write-*")), "staged files left after their import"


def test_meta_and_ipns(fs: IptfFileSystem, tf_repo: IptfRepo, work: str) -> None:
    with fs.open(f"{work}/w.txt", "wb") as f:
        f.write(b"weights")
    meta = json.loads(fs.cat(work.replace("iptf://", "iptf://meta/") + "/w.txt"))
    assert meta["IpfsPath"] == "iptf://ipfs/" + fs.info(f"{work}/w.txt")["cid"]
    peer = current_node().peer_id
    assert meta["IpnsPath"] == f"iptf://ipns/{peer}/{work.removeprefix(ROOT + '/')}/w.txt"
    assert fs.info("iptf://meta/repo/root")["type"] == "file"
    with fs.open("iptf://meta/repo/root", "w") as f:
        f.write(json.dumps({"command": "publish"}))
    assert fs.cat(meta["IpnsPath"]) == b"weights"
    assert fs.ls(f"iptf://ipns/{peer}/{work.removeprefix(ROOT + '/')}", detail=False) == \
        [f"ipns/{peer}/{work.removeprefix(ROOT + '/')}/w.txt"]


def test_errors_are_pythons_own(fs: IptfFileSystem, work: str, tf_repo: IptfRepo, tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"x")
    cid = tf_repo.out("add", "-Q", "-w", str(tmp_path / "x"))
    fs.pipe_file(f"{work}/file", b"content")
    fs.mkdir(f"{work}/dir")
    fs.pipe_file(f"{work}/dir/inside", b"")
    cases = [
        (FileNotFoundError, lambda: fs.info(f"{work}/missing")),
        (FileNotFoundError, lambda: fs.open(f"{work}/missing", "rb")),
        (FileNotFoundError, lambda: fs.ls(f"iptf://ipfs/{cid}/missing")),
        (FileNotFoundError, lambda: fs.open(f"{work}/no/parent", "wb")),
        (FileNotFoundError, lambda: fs.rm_file(f"{work}/missing")),
        (FileNotFoundError, lambda: fs.info(f"iptf://meta/repo/root/{work[17:]}/missing")),
        (PermissionError, lambda: fs.open(f"iptf://ipfs/{cid}/new", "wb")),
        (PermissionError, lambda: fs.mkdir(f"iptf://ipfs/{cid}/d")),
        (PermissionError, lambda: fs.rm_file(f"iptf://ipfs/{cid}/x")),
        (IsADirectoryError, lambda: fs.open(f"iptf://ipfs/{cid}", "rb")),
        (IsADirectoryError, lambda: fs.open(f"{work}/dir", "rb")),
        (IsADirectoryError, lambda: fs.open(f"{work}/dir", "wb")),
        (IsADirectoryError, lambda: fs.rm_file(f"{work}/dir")),
        (IsADirectoryError, lambda: fs.mv(f"{work}/file", f"{work}/dir")),
        (NotADirectoryError, lambda: fs.open(f"{work}/file/x", "rb")),
        (NotADirectoryError, lambda: fs.open(f"{work}/file/x", "wb")),
        (NotADirectoryError, lambda: fs.mkdir(f"{work}/file/sub")),
        (NotADirectoryError, lambda: fs.rmdir(f"{work}/file")),
        (FileExistsError, lambda: fs.mkdir(f"{work}/dir", create_parents=False)),
        (FileExistsError, lambda: fs.mkdir(f"{work}/dir")),
        (FileExistsError, lambda: fs.makedirs(f"{work}/dir")),
        (FileExistsError, lambda: fs.open(f"{work}/file", "xb")),
        (ValueError, lambda: fs.info("iptf://ipfs/notacid")),
        (ValueError, lambda: fs.open("iptf://ipfs/bafynotacid/x", "rb")),
        (ValueError, lambda: fs.info("iptf://nowhere/x")),
        (ValueError, lambda: fs.open(f"{work}/file", "r+b")),
    ]
    for cls, op in cases:
        with pytest.raises(cls) as info:
            op()
        assert "Error:" not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(OSError) as info:
        fs.rmdir(f"{work}/dir")
    assert type(info.value) is OSError and info.value.errno == 39  # ENOTEMPTY
    # A file listed is itself, as on a local filesystem.
    assert fs.ls(f"{work}/file", detail=False) == [f"{work[7:]}/file"]
    # Nothing was left behind by the failed writes.
    assert not list((tf_repo.path / "staging").glob("write-*"))


def test_tensorflow_and_fsspec_read_each_others_files(tf, fs: IptfFileSystem, tf_repo: IptfRepo, work: str,
                                                      tmp_path: Path) -> None:
    by_tf, by_fsspec = random_bytes(700_000, seed=6), random_bytes(900_000, seed=7)
    with tf.io.gfile.GFile(f"{work}/by-tf.bin", "wb") as f:
        f.write(by_tf)
    with fs.open(f"{work}/by-fsspec.bin", "wb") as f:
        f.write(by_fsspec)
    assert fs.cat(f"{work}/by-tf.bin") == by_tf
    with tf.io.gfile.GFile(f"{work}/by-fsspec.bin", "rb") as f:
        assert f.read() == by_fsspec
    for name, data in (("by-tf.bin", by_tf), ("by-fsspec.bin", by_fsspec)):
        cid = only_hash(tf_repo, data, tmp_path)
        assert iptf.cid_of(f"{work}/{name}") == f"iptf://ipfs/{cid}" == "iptf://ipfs/" + fs.info(f"{work}/{name}")["cid"]
        assert [e["Op"] for e in reflog(tf_repo, f"{work}/{name}")] == ["write", "read"]
    assert tf.io.gfile.glob(f"{work}/by-*.bin") == ["iptf://" + p for p in fs.glob(f"{work}/by-*.bin")]


def test_pandas_reads_parquet_by_cid(fs: IptfFileSystem, tf_repo: IptfRepo, work: str, tmp_path: Path) -> None:
    import pandas as pd

    df = pd.DataFrame({"id": range(50_000), "label": [f"c{i % 7}" for i in range(50_000)],
                       "x": [i / 3 for i in range(50_000)]})
    (tmp_path / "ds").mkdir()
    df.to_parquet(tmp_path / "ds" / "train.parquet", engine="pyarrow", row_group_size=10_000)
    cid = tf_repo.out("add", "-r", "-Q", str(tmp_path / "ds"))
    back = pd.read_parquet(f"iptf://ipfs/{cid}/train.parquet", engine="pyarrow")
    pd.testing.assert_frame_equal(back, df)
    columns = pd.read_parquet(f"iptf://ipfs/{cid}/train.parquet", columns=["label"], engine="pyarrow")
    pd.testing.assert_frame_equal(columns, df[["label"]])
    # And written into the tree: the CID `iptf add` gives the file pandas wrote locally.
    df.to_parquet(f"{work}/out.parquet", engine="pyarrow", row_group_size=10_000)
    pd.testing.assert_frame_equal(pd.read_parquet(f"{work}/out.parquet"), df)
    local = (tmp_path / "ds" / "train.parquet").read_bytes()
    assert fs.cat(f"{work}/out.parquet") == local
    assert fs.info(f"{work}/out.parquet")["cid"] == fs.info(f"iptf://ipfs/{cid}/train.parquet")["cid"]


class ShardDataset:
    """A map-style dataset (the torch.utils.data.Dataset protocol: __len__, __getitem__)
    whose items are shards read by CID through fsspec."""

    def __init__(self, root_cid: str, names: list[str]) -> None:
        self.paths = [f"iptf://ipfs/{root_cid}/{n}" for n in names]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, bytes, int]:
        with fsspec.open(self.paths[i], "rb") as f:
            data = f.read()
        return i, data, current_node().pid


def _load(args: tuple[ShardDataset, int]) -> tuple[int, bytes, int, int]:
    dataset, i = args
    return (*dataset[i], os.getpid())


def test_dataset_workers_share_one_node(fs: IptfFileSystem, tf_repo: IptfRepo, tmp_path: Path) -> None:
    """Two worker processes (as DataLoader(num_workers=2) forks) read shards by CID on one node."""
    shards = {f"shard-{i:02d}.bin": random_bytes(400_000 + i, seed=100 + i) for i in range(12)}
    (tmp_path / "shards").mkdir()
    for name, data in shards.items():
        (tmp_path / "shards" / name).write_bytes(data)
    cid = tf_repo.out("add", "-r", "-Q", str(tmp_path / "shards"))
    dataset = ShardDataset(cid, sorted(shards))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        items = pool.map(_load, [(dataset, i) for i in range(len(dataset))], chunksize=1)
    assert [data for _, data, _, _ in sorted(items)] == [shards[n] for n in sorted(shards)]
    assert {node_pid for _, _, node_pid, _ in items} == {current_node().pid}
    workers = {worker for *_, worker in items}
    assert len(workers) == 2 and os.getpid() not in workers
    reads = [e for e in map(json.loads, (tf_repo.path / "reflog.jsonl").read_text().split("\n")[:-1])
             if e["Path"].startswith(f"iptf://ipfs/{cid}/")]
    assert {e["Pid"] for e in reads} == workers

