"""fsspec through iptf:// against plain local reads, in the same run.

A 512 MiB file in the repo (`iptf add`, so every block is local) read through
`fsspec.open("iptf://ipfs/<cid>")` in 8 MiB reads, against the same file on local disk read with
plain `open` in 8 MiB reads; both page-cached. Each iptf round is paired with the local round
just before it (this machine's speed drifts between runs); the ratio is local time / iptf time.

A second anchor shows the floor any store of one file per block has (kubo's blockstore keeps each
256 KiB block in its own file): the same bytes as 2048 local files of 256 KiB, read in the same
8 MiB pieces with an open, a pread and a close per file, as iptf's reader does with block files.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from pathlib import Path

import pytest

from harness import IptfRepo, random_bytes

SIZE = 512 << 20
CHUNK = 8 << 20
BLOCK = 256 << 10
ROUNDS = 7


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    from iptf.client import node

    r = IptfRepo(tmp_path_factory.mktemp("fsspecbench") / "repo")
    r.init()
    saved = {k: os.environ.get(k) for k in ("IPTF_PATH", "IPTF_OFFLINE", "IPTF_IDLE_TIMEOUT")}
    os.environ.update({k: r.env[k] for k in saved})
    node(refresh=True)
    yield r
    r.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class FilePerBlock(io.RawIOBase):
    """One stream over many local files of BLOCK bytes each: an open, a pread and a close per file."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self._paths = [str(p) for p in paths]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        out = memoryview(buffer).cast("B")
        done = 0
        while done < len(out) and self._pos < len(self._paths) * BLOCK:
            index, in_block = divmod(self._pos, BLOCK)
            take = min(len(out) - done, BLOCK - in_block)
            fd = os.open(self._paths[index], os.O_RDONLY | os.O_CLOEXEC)
            try:
                got = os.preadv(fd, (out[done:done + take],), in_block)
            finally:
                os.close(fd)
            done += got
            self._pos += got
        return done


def split_into_blocks(src: Path, folder: Path) -> list[Path]:
    """src as files of BLOCK bytes, spread over 256 folders as a blockstore spreads its blocks."""
    paths = []
    with open(src, "rb") as f:
        while block := f.read(BLOCK):
            path = folder / f"{len(paths) % 256:02X}" / f"block-{len(paths):06d}.data"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(block)
            paths.append(path)
    return paths


def read_chunks(f) -> int:
    n = 0
    while chunk := f.read(CHUNK):
        n += len(chunk)
    return n


def test_fsspec_read_vs_local_open(benchmark, repo: IptfRepo, tmp_path: Path) -> None:
    import fsspec

    local = tmp_path / "shard.bin"
    local.write_bytes(random_bytes(SIZE, seed=11))
    cid = repo.out("add", "-Q", str(local))
    url = f"iptf://ipfs/{cid}"

    def read_local() -> int:
        with open(local, "rb") as f:
            return read_chunks(f)

    def read_iptf() -> int:
        with fsspec.open(url, "rb") as f:
            return read_chunks(f)

    blocks = split_into_blocks(local, tmp_path / "blocks")

    def read_blocks() -> int:
        with io.BufferedReader(FilePerBlock(blocks), buffer_size=BLOCK) as f:
            return read_chunks(f)

    assert read_local() == SIZE  # warms the page cache
    assert read_blocks() == SIZE
    assert read_iptf() == SIZE  # and the blocks' files
    with fsspec.open(url, "rb") as f, open(local, "rb") as g:
        f.seek(SIZE // 3)
        g.seek(SIZE // 3)
        assert f.read(CHUNK) == g.read(CHUNK)
    local_s: list[float] = []
    blocks_s: list[float] = []

    def local_round() -> None:
        start = time.perf_counter()
        read_local()
        local_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        read_blocks()
        blocks_s.append(time.perf_counter() - start)

    benchmark.pedantic(read_iptf, setup=local_round, rounds=ROUNDS, iterations=1)
    iptf_s = benchmark.stats.stats.data
    ratio = statistics.median(loc / ipt for loc, ipt in zip(local_s, iptf_s))
    floor = statistics.median(blk / ipt for blk, ipt in zip(blocks_s, iptf_s))
    local_med, iptf_med = statistics.median(local_s), benchmark.stats.stats.median
    blocks_med = statistics.median(blocks_s)
    benchmark.extra_info.update({"bytes": SIZE, "local_MBps": SIZE / local_med / 1e6,
                                 "iptf_MBps": SIZE / iptf_med / 1e6, "ratio_vs_local": ratio,
                                 "file_per_block_MBps": SIZE / blocks_med / 1e6, "ratio_vs_file_per_block": floor})
    print(f"\nfsspec read 512 MiB: iptf {SIZE / iptf_med / 1e6:.0f} MB/s, local {SIZE / local_med / 1e6:.0f} MB/s, "
          f"ratio {ratio:.2f}x (target >= 0.9); a local file per 256 KiB block "
          f"{SIZE / blocks_med / 1e6:.0f} MB/s, iptf {floor:.2f}x of it")
