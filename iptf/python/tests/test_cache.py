"""The cache of fetched content: a dataset three times the cache limit, fetched from a peer and
streamed through tf.data twice, keeps the repo's blocks within the limit (plus one fetch
window) while every byte reads back right; what the user pinned and wrote stays; several
processes reading the same files while blocks are evicted see no error. Real nodes on loopback,
real TensorFlow."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from harness import IptfRepo, random_bytes, wait_until
from harness.tf_support import SUBPROCESS_PRELUDE

MiB = 1 << 20
LIMIT = 64 * MiB
WINDOW = 32 * MiB  # the fetcher's readahead (fetch.DefaultWindow)
SHARDS = 6  # of 32 MiB: three times the limit
RECORD = 256 * 1024

# Streams the shards through tf.data, epochs times; prints each epoch's record count and digest.
STREAM = SUBPROCESS_PRELUDE + """
import hashlib, json, sys
paths, epochs = json.loads(sys.argv[1]), int(sys.argv[2])
for _ in range(epochs):
    digest, n = hashlib.sha256(), 0
    for record in tf.data.TFRecordDataset(paths).as_numpy_iterator():
        digest.update(record)
        n += 1
    print(n, digest.hexdigest(), flush=True)
"""


def blocks_bytes(repo: IptfRepo) -> int:
    """The bytes of the repo's block files."""
    total = 0
    for folder, _, names in os.walk(repo.path / "blocks"):
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                pass  # evicted meanwhile
    return total


class Sampler:
    """Samples the repo's block bytes every 50 ms while a with-block runs; keeps the largest."""

    def __init__(self, repo: IptfRepo) -> None:
        self.repo, self.largest, self._stop = repo, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.largest = max(self.largest, blocks_bytes(self.repo))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_shards(folder: Path) -> tuple[list[str], str]:
    """SHARDS TFRecord files of random records, written with TensorFlow; their names and the
    digest of all their records in order."""
    folder.mkdir()
    code = SUBPROCESS_PRELUDE + f"""
import hashlib, random, sys
rng, digest = random.Random(7), hashlib.sha256()
for i in range({SHARDS}):
    with tf.io.TFRecordWriter(f"{{sys.argv[1]}}/shard-{{i}}.tfrecord") as w:
        for _ in range({32 * MiB // RECORD}):
            r = rng.randbytes({RECORD} - 16)
            digest.update(r)
            w.write(r)
print(digest.hexdigest())
"""
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [f"shard-{i}.tfrecord" for i in range(SHARDS)], proc.stdout.split()[-1]


def connect(reader: IptfRepo, source: IptfRepo) -> None:
    addr = next(a for a in source.out("id", "-f=<addrs>").split() if a.startswith("/ip4/127.0.0.1/tcp/"))
    reader.run("swarm", "connect", f"{addr}/p2p/{source.out('id', '-f=<id>')}")


def test_streaming_three_times_the_limit_stays_within_it(repo_factory, tmp_path: Path) -> None:
    source = repo_factory("source")
    reader = repo_factory("reader", IPTF_CACHE_MAX=f"{LIMIT // MiB}MiB")
    for r in (source, reader):
        r.env.pop("IPTF_OFFLINE")
    names, digest = make_shards(tmp_path / "shards")
    root = source.out("add", "-r", "-Q", str(tmp_path / "shards"))

    # What the reader's user keeps: a pinned file and a file in the writable tree.
    pinned_data, written_data = random_bytes(3 * MiB, seed=1), random_bytes(2 * MiB + 5, seed=2)
    (tmp_path / "pinned.bin").write_bytes(pinned_data)
    pinned = reader.out("add", "-Q", str(tmp_path / "pinned.bin"))
    (tmp_path / "written.bin").write_bytes(written_data)
    reader.run("files", "cp", f"/ipfs/{reader.out('add', '-Q', '--pin=false', str(tmp_path / 'written.bin'))}",
               "/written.bin")
    connect(reader, source)
    kept = blocks_bytes(reader)

    paths = [f"iptf://ipfs/{root}/{n}" for n in names]
    with Sampler(reader) as sampler:
        proc = subprocess.run([sys.executable, "-c", STREAM, json.dumps(paths), "2"], capture_output=True, text=True,
                              env=dict(reader.env, TF_CPP_MIN_LOG_LEVEL="3"), timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = SHARDS * (32 * MiB // RECORD)
    assert proc.stdout.split("\n")[:2] == [f"{records} {digest}"] * 2, proc.stdout
    assert sampler.largest <= kept + LIMIT + WINDOW, \
        f"the repo held {sampler.largest / MiB:.1f} MiB of blocks; kept {kept / MiB:.1f} MiB, limit {LIMIT / MiB} MiB"

    status = reader.status()
    cache = status["Cache"]
    assert cache["Limit"] == LIMIT and cache["LimitFrom"] == "IPTF_CACHE_MAX", cache
    # Two epochs of 192 MiB through a 64 MiB cache: at least 320 MiB came and most of it went.
    assert cache["Evicted"] >= 2 * SHARDS * 32 * MiB - LIMIT - WINDOW, cache
    assert cache["Rounds"] >= 1
    text = reader.out("cache")
    assert text.startswith("cache limit 64 MiB (IPTF_CACHE_MAX): the repo holds "), text
    assert "cache limit 64 MiB (IPTF_CACHE_MAX): the repo holds " in reader.out("status")

    # What the user keeps was never evicted: readable offline, and the repo is sound.
    assert reader.run("cat", "--offline", pinned).stdout == pinned_data
    assert reader.run("files", "read", "/written.bin").stdout == written_data
    reader.run("repo", "verify")

    # Several readers of the same files while blocks come and go: none sees an error.
    readers = [subprocess.Popen([sys.executable, "-c", STREAM, json.dumps(paths[i:] + paths[:i]), "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(reader.env, TF_CPP_MIN_LOG_LEVEL="3")) for i in (0, 2, 3)]
    outs = [r.communicate(timeout=900) for r in readers]
    for r, (out, err) in zip(readers, outs):
        assert r.returncode == 0, err[-3000:]
        assert out.split()[0] == str(records), out
    assert outs[0][0].split()[1] == digest


def test_the_reflog_does_not_keep_network_reads_unless_told(repo_factory, tmp_path: Path) -> None:
    """Reads of iptf://ipfs content are cache: gc frees them (peers serve them again), unless
    NetworkReadRetention says to keep them; writes stay kept."""
    repo: IptfRepo = repo_factory("r")
    data = random_bytes(1 * MiB, seed=9)
    (tmp_path / "read.bin").write_bytes(data)
    cid = repo.out("add", "-Q", "--pin=false", str(tmp_path / "read.bin"))
    proc = repo.python(f"import fsspec; assert fsspec.open('iptf://ipfs/{cid}', 'rb').open().read() == "
                       f"open({str(tmp_path / 'read.bin')!r}, 'rb').read()")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert "the reflog keeps 0 CIDs" in repo.out("status")
    repo.run("repo", "gc")
    assert repo.run("cat", "--offline", cid, check=False).returncode != 0, "gc kept a network read"

    repo.run("add", "-Q", "--pin=false", str(tmp_path / "read.bin"))
    repo.run("config", "--json", "Plugins.Plugins.iptf.Config", json.dumps({"NetworkReadRetention": "7d"}))
    proc = repo.python(f"import fsspec; fsspec.open('iptf://ipfs/{cid}', 'rb').open().read()")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert "the reflog keeps 1 CID (" in repo.out("status")
    repo.run("repo", "gc")
    assert hashlib.sha256(repo.run("cat", "--offline", cid).stdout).digest() == hashlib.sha256(data).digest()


def run_in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run args with a terminal as standard error (progress shows only there); exit code,
    standard output and what the terminal got."""
    import pty

    primary, secondary = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read().decode()
    proc.wait(timeout=300)
    os.close(primary)
    return proc.returncode, out, seen.decode(errors="replace")


def test_pinning_keeps_a_dataset_and_unpinning_makes_it_cache(repo_factory, tmp_path: Path) -> None:
    """`iptf.pin` fetches a dataset with progress on a terminal and keeps it past the cache
    limit; after `iptf.unpin` the cache evicts it."""
    source = repo_factory("source")
    reader = repo_factory("reader", IPTF_CACHE_MAX="16MiB")
    for r in (source, reader):
        r.env.pop("IPTF_OFFLINE")
    folder = tmp_path / "dataset"
    folder.mkdir()
    files = {f"part-{i}.bin": random_bytes(16 * MiB, seed=20 + i) for i in range(3)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    root = source.out("add", "-r", "-Q", str(folder))
    connect(reader, source)

    code, out, terminal = run_in_terminal(
        [sys.executable, "-c", f"import iptf; print(iptf.pin('iptf://ipfs/{root}'))"], reader.env)
    assert code == 0, terminal[-2000:]
    assert out.strip() == f"iptf://ipfs/{root}"
    assert "Fetched/Processed" in terminal, terminal[-2000:]
    # The cache's rounds keep it all, whatever the limit.
    cache = json.loads(reader.out("cache", "--enc=json"))
    assert cache["Kept"] >= 48 * MiB and cache["Limit"] == 16 * MiB, cache
    for name, data in files.items():
        assert reader.run("cat", "--offline", f"/ipfs/{root}/{name}").stdout == data

    proc = reader.python(f"import iptf; print(iptf.unpin('/ipfs/{root}'))")
    assert proc.returncode == 0 and proc.stdout.decode().strip() == f"iptf://ipfs/{root}", proc.stderr.decode()
    # The command shows its progress on a terminal too, unasked.
    code, out, terminal = run_in_terminal([sys.executable, "-m", "iptf", "pin", "add", root], reader.env)
    assert code == 0 and f"pinned {root} recursively" in out, terminal[-2000:]
    assert "Fetched/Processed" in terminal, terminal[-2000:]
    reader.run("pin", "rm", root)
    # Cache now: the next read brings the repo back within the limit.
    proc = reader.python(f"import fsspec; fsspec.open('iptf://ipfs/{root}/part-0.bin', 'rb').open().read()")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert wait_until(lambda: blocks_bytes(reader) <= 16 * MiB + 4 * MiB, 60), \
        f"{blocks_bytes(reader) / MiB:.1f} MiB of blocks left after unpinning"


def test_a_malformed_limit_turns_the_cache_off_and_says_why(repo_factory) -> None:
    repo: IptfRepo = repo_factory("r", IPTF_CACHE_MAX="lots")
    repo.out("files", "ls", "/")  # starts the node
    cache = repo.status()["Cache"]
    assert "IPTF_CACHE_MAX" in cache["Error"] and "lots" in cache["Error"], cache
    text = repo.out("status")
    assert 'the cache is off (nothing fetched is evicted): IPTF_CACHE_MAX="lots"' in text, text
    assert repo.out("cache").startswith("the cache is off"), repo.out("cache")
