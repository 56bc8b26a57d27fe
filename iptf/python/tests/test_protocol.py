"""The node's golden answers (iptf/go/protocol/testdata/) through the package's own decoders.

The Go test writes the fixtures from the declared types; a field renamed there fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iptf import protocol
from iptf.commands.status import cache_line, status_lines
from iptf.fsspec.reader import FileMap as ReaderMap
from iptf.sizes import count_text, size_text

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "iptf" / "go" / "protocol" / "testdata"
FILE_CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_stat() -> None:
    st = protocol.decode("iptf/stat", fixture("stat.json"), protocol.Stat.from_json)
    assert st == protocol.Stat("iptf://repo/root/data/train.tfrecord", protocol.FILE, 393216, FILE_CID)
    meta = protocol.decode("iptf/stat", fixture("stat-meta.json"), protocol.Stat.from_json)
    assert meta.cid == "" and meta.size > 0 and meta.uri == "iptf://meta/repo/root/data"


def test_listing_and_matches() -> None:
    entries = protocol.decode("iptf/ls", fixture("ls.json"), protocol.listing_from_json)
    assert entries == [protocol.Entry("train.tfrecord", protocol.FILE, 393216),
                       protocol.Entry("eval", protocol.DIRECTORY, 0)]
    matches = protocol.decode("iptf/glob", fixture("glob.json"), protocol.matches_from_json)
    assert matches == ["iptf://repo/root/data/train.tfrecord", "iptf://repo/root/data/test.tfrecord"]


@pytest.mark.parametrize("name", ["open.json", "blockmap.json"])
def test_block_maps(name: str) -> None:
    m = protocol.decode("iptf/open", fixture(name), protocol.FileMap.from_json)
    assert (m.cid, m.type, m.size, m.inline) == (FILE_CID, protocol.FILE, 393216, None)
    assert m.spans == (
        protocol.Span(0, 262144, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", True,
                      "/home/u/.iptf/blocks/XY/CIQXY.data", 14),
        protocol.Span(262144, 131072, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", False),
    )
    # The fsspec reader finds each offset's span in the decoded map.
    reader_map = ReaderMap.of(m)
    assert reader_map.index(262143) == 0 and reader_map.index(262144) == 1


def test_a_known_map_has_no_spans() -> None:
    m = protocol.decode("iptf/open", fixture("open-known.json"), protocol.FileMap.from_json)
    assert (m.cid, m.type, m.size, m.spans, m.known) == (FILE_CID, protocol.FILE, 393216, (), True)
    assert not protocol.decode("iptf/open", fixture("open.json"), protocol.FileMap.from_json).known


def test_inline_meta_file() -> None:
    m = protocol.decode("iptf/open", fixture("open-inline.json"), protocol.FileMap.from_json)
    assert m.inline is not None and m.inline.startswith('{"IpfsPath":"iptf://ipfs/') and m.spans == ()
    assert ReaderMap.of(m).inline == m.inline.encode()


def test_written() -> None:
    done = protocol.decode("iptf/write", fixture("write.json"), protocol.Written.from_json)
    assert done == protocol.Written("iptf://repo/root/data/train.tfrecord", FILE_CID, 393216)
    queued = protocol.decode("iptf/write", fixture("write-queued.json"), protocol.Written.from_json)
    assert queued.queued and queued.cid == "" and queued.size == 0 and queued.next is None
    ahead = protocol.decode("iptf/write", fixture("write-queued-next.json"), protocol.Written.from_json)
    assert ahead.queued and ahead.next == protocol.Staged(
        "iptf://repo/root/logs/train.csv", "/home/u/.iptf/staging/next-07be3a", "", 2490368, True)
    published = protocol.decode("iptf/write", fixture("write-publish.json"), protocol.Written.from_json)
    assert published.name.startswith("iptf://ipns/k51") and not published.queued


def test_staged_and_handled_writes() -> None:
    staged = protocol.decode("iptf/stage", fixture("stage.json"), protocol.Staged.from_json)
    assert staged == protocol.Staged("iptf://repo/root/data/train.tfrecord", "/home/u/.iptf/staging/write-3f9a1c")
    appending = protocol.decode("iptf/stage", fixture("stage-append.json"), protocol.Staged.from_json)
    assert (appending.base, appending.size, appending.after_queued) == (FILE_CID, 393216, False)
    queued = protocol.decode("iptf/stage", fixture("stage-append-queued.json"), protocol.Staged.from_json)
    assert (queued.base, queued.size, queued.after_queued) == ("", 1441792, True)
    handled = protocol.decode("writeback/retry", fixture("writeback.json"), protocol.handled_writes_from_json)
    assert [(w.kind, w.uri, w.code, w.superseded) for w in handled] == [
        ("write", "iptf://repo/root/ckpt/model.index", "ResourceExhausted", False)]


def test_done_is_an_empty_object() -> None:
    assert protocol.decode("iptf/mkdir", fixture("done.json"), dict) == {}


def test_status_and_its_report() -> None:
    st = protocol.decode("iptf/status", fixture("status.json"), protocol.Status.from_json)
    assert (st.repo, st.api_socket, st.pid, st.online, st.on_demand) == (
        "/home/u/.iptf", "/home/u/.iptf/api.sock", 4242, True, True)
    assert (st.idle_timeout, st.idle_for, st.queued_writes) == ("10m0s", "1.5s", 2)
    assert [f.kind for f in st.failed_writes] == ["write", "move", "damaged journal entry"]
    assert st.failed_writes[1].destination == "iptf://repo/root/ckpt/a"
    assert st.abandoned_writes == [protocol.AbandonedWrite("/home/u/.iptf/staging/w-3", 1048576,
                                                           "2026-11-24T09:30:00Z")]
    assert st.reflog_keeps == protocol.ReflogKeeps("90d", 12, 734003200)
    assert [d.reason for d in st.dropped_peers.values()] == ["sent a block nobody asked for"]
    report = "\n".join(status_lines(st))
    assert "could not apply the move of iptf://repo/root/ckpt/a.tmp to iptf://repo/root/ckpt/a" in report
    assert "bytes kept in /home/u/.iptf/staging/w-17" in report
    assert "the reflog keeps 12 CIDs (700 MiB)" in report
    assert st.failed_writes[0].code == "ResourceExhausted"
    assert "`iptf writeback retry [uri]`" in report
    assert "cannot be applied to the writable tree yet: starting the write-back queue: open " in report
    assert st.cache == protocol.CacheStatus(21474836480, "IPTF_CACHE_MAX", 9663676416, 1073741824, 8589934592,
                                            2147483648, 3, "2026-11-24T09:30:00Z")
    assert "cache limit 20 GiB (IPTF_CACHE_MAX): the repo holds 9.0 GiB, 8.0 GiB of it evictable" in report


def test_reflog_answers() -> None:
    entries = protocol.decode("reflog", fixture("reflog.json"), protocol.reflog_from_json)
    assert [(e.n, e.op, e.program) for e in entries] == [(1, "read", "python3 train.py"),
                                                         (2, "write", "python3 train.py")]
    shown = protocol.decode("reflog/show", fixture("reflog-show.json"), protocol.ReflogEntry.from_json)
    assert (shown.n, shown.path, shown.size, shown.pid, shown.to) == (
        7, "iptf://repo/root/ckpt/model.index", 262144, 4100, "")
    expired = protocol.decode("reflog/expire", fixture("reflog-expire.json"), protocol.Expired.from_json)
    assert expired == protocol.Expired(3, protocol.ReflogKeeps("90d", 9, 524288))


def test_cache_answer() -> None:
    cache = protocol.decode("cache", fixture("cache.json"), protocol.CacheStatus.from_json)
    assert (cache.limit, cache.used, cache.kept, cache.evictable, cache.rounds) == (268435456, 300000000, 4096,
                                                                                    241591910, 1)
    assert cache.limit_from.startswith("default:") and not cache.error
    off = protocol.CacheStatus.from_json({"Error": "IPTF_CACHE_MAX=\"lots\": bad"})
    assert off.error and cache_line(off).startswith("the cache is off (nothing fetched is evicted): IPTF_CACHE_MAX")


def test_a_missing_field_is_a_protocol_error() -> None:
    with pytest.raises(protocol.ProtocolError, match="iptf/stat"):
        protocol.decode("iptf/stat", b'{"Uri": "iptf://ipfs/x", "Kind": "file", "Size": 1, "Cid": "x"}',
                        protocol.Stat.from_json)


def test_every_fixture_is_decoded_here_and_documented() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert names, FIXTURES
    doc = (ROOT / "docs" / "protocol.md").read_text()
    source = Path(__file__).read_text()
    for name in names:
        assert f"testdata/{name}" in doc, f"docs/protocol.md does not mention {name}"
        assert f'"{name}"' in source, f"{name} is not decoded by this test"



def test_sizes_read_as_the_node_writes_them() -> None:
    # The node's texts (`iptf cache`, `reflog expire`) use go-humanize's IBytes; `iptf status`
    # builds its lines in Python from the same figures.
    assert [size_text(n) for n in (0, 9, 512, 1023, 1024, 3_000_000, 1048575, 35_324_000_000)] == [
        "0 B", "9 B", "512 B", "1023 B", "1.0 KiB", "2.9 MiB", "1024 KiB", "33 GiB"]
    assert (count_text(1, "CID"), count_text(0, "CID"), count_text(12, "CID")) == ("1 CID", "0 CIDs", "12 CIDs")
