"""Locust scenario: many clients reading random pieces of a few datasets from `iptf serve`.

Each simulated client picks one dataset (a file added with CIDv1, so its leaves are raw blocks),
whose block list the driver (perf/loadtest/run.py) took once with `iptf-node refs` and passed
in a JSON file (--datasets), and then asks the trustless gateway for:
  - whole raw blocks (?format=raw), the dataset's dag-pb nodes among them;
  - random byte ranges of raw blocks (Range: bytes=a-b, a-, -n) answered with 206;
  - CARs of a random byte range of the file (?format=car&dag-scope=entity&entity-bytes=a:b).
Every response is checked (status, content type, length, Content-Range, which blocks a CAR
holds); for a sample (--verify-sample) the bytes are checked too: a raw block's sha256 against
its CID's multihash, a range against the dataset's source file, every block of a CAR against its
CID. A check that fails marks the request failed.

The run stops at --run-time or after --max-requests requests, whichever comes first; at the end
the locustfile writes exact latency percentiles and the checks' counts to --summary-file.
Only the given --host is contacted (the driver gives 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cids import block_matches, cid_bytes, read_car  # noqa: E402

DATASETS: list[dict] = []
STATE = {"latencies_ms": [], "bytes": 0, "verified": {"raw block": 0, "raw range": 0, "car": 0},
         "started": None, "stop_reason": "run time", "fds": {}}


@events.init_command_line_parser.add_listener
def _arguments(parser) -> None:
    parser.add_argument("--datasets", type=str, default="", help="JSON file with the datasets' block lists")
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: no cap)")
    parser.add_argument("--verify-sample", type=float, default=0.1,
                        help="fraction of responses whose bytes are hashed or compared")
    parser.add_argument("--summary-file", type=str, default="", help="where to write the run's summary JSON")
    parser.add_argument("--car-max-bytes", type=int, default=4 << 20, help="largest entity-bytes span asked")


# ---- the run ----------------------------------------------------------------------------------

@events.init.add_listener
def _load(environment, **_kw) -> None:
    opts = environment.parsed_options
    if opts is None or not opts.datasets:
        raise SystemExit("--datasets FILE is required (perf/loadtest/run.py writes it)")
    with open(opts.datasets) as f:
        DATASETS.extend(json.load(f)["datasets"])
    for ds in DATASETS:
        ds["root_bin"] = cid_bytes(ds["root"])
        ds["node_bins"] = {cid_bytes(c) for c in ds["nodes"]}
        for leaf in ds["leaves"]:
            leaf["bin"] = cid_bytes(leaf["cid"])


@events.test_start.add_listener
def _start(environment, **_kw) -> None:
    STATE["started"] = time.time()
    STATE["environment"] = environment


@events.request.add_listener
def _record(response_time, response_length, exception, **_kw) -> None:
    STATE["latencies_ms"].append(response_time)
    if exception is None:
        STATE["bytes"] += response_length or 0
    environment = STATE.get("environment")
    cap = environment.parsed_options.max_requests if environment else 0
    if cap and len(STATE["latencies_ms"]) >= cap and STATE["stop_reason"] == "run time":
        # The cap is reached: stop the users (those in the middle of a request finish it).
        STATE["stop_reason"] = f"max requests ({cap})"
        gevent.spawn(environment.runner.quit)


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


@events.quitting.add_listener
def _summary(environment, **_kw) -> None:
    path = environment.parsed_options.summary_file
    if not path:
        return
    total = environment.stats.total
    lat = sorted(STATE["latencies_ms"])
    duration = max(1e-9, (total.last_request_timestamp or time.time()) - (total.start_time or STATE["started"]))
    endpoints = {}
    for (name, method), entry in sorted(environment.stats.entries.items()):
        endpoints[name] = {
            "requests": entry.num_requests, "failures": entry.num_failures,
            "median_ms": entry.median_response_time, "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time, "avg_bytes": entry.avg_content_length,
        }
    summary = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "duration_s": duration,
        "requests_per_s": total.num_requests / duration,
        "MBps": STATE["bytes"] / duration / 1e6,
        "bytes": STATE["bytes"],
        "latency_ms": {"p50": _percentile(lat, 50), "p90": _percentile(lat, 90),
                       "p99": _percentile(lat, 99), "max": lat[-1] if lat else 0.0,
                       "mean": sum(lat) / len(lat) if lat else 0.0},
        "endpoints": endpoints,
        "verified": STATE["verified"],
        "errors": sorted(({"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                          for e in environment.stats.errors.values()), key=lambda e: -e["occurrences"])[:20],
        "stop_reason": STATE["stop_reason"],
        "users": environment.parsed_options.num_users,
    }
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)


def _pread(ds: dict, offset: int, length: int) -> bytes:
    fd = STATE["fds"].get(ds["path"])
    if fd is None:
        fd = STATE["fds"][ds["path"]] = os.open(ds["path"], os.O_RDONLY)
    return os.pread(fd, length, offset)


class GatewayReader(FastHttpUser):
    """One client of the gateway, reading random pieces of one dataset."""

    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.rng = random.Random()
        self.ds = self.rng.choice(DATASETS)
        self.sample = self.environment.parsed_options.verify_sample
        self.car_max = self.environment.parsed_options.car_max_bytes

    def _sampled(self) -> bool:
        return self.rng.random() < self.sample

    @task(3)
    def raw_block(self) -> None:
        """A whole block: mostly raw leaves, now and then one of the file's dag-pb nodes."""
        ds = self.ds
        if self.rng.random() < 0.05:
            cid = self.rng.choice(ds["nodes"])
            cid_bin, size, always = cid_bytes(cid), None, True
        else:
            leaf = self.rng.choice(ds["leaves"])
            cid, cid_bin, size, always = leaf["cid"], leaf["bin"], leaf["size"], False
        with self.client.get(f"/ipfs/{cid}?format=raw", name="raw block", catch_response=True) as r:
            body = r.content or b""
            if r.status_code != 200:
                return r.failure(f"status {r.status_code}")
            if not r.headers.get("Content-Type", "").startswith("application/vnd.ipld.raw"):
                return r.failure(f"content type {r.headers.get('Content-Type')}")
            if size is not None and len(body) != size:
                return r.failure("length differs from the block's")
            if always or self._sampled():
                if not block_matches(cid_bin, body):
                    return r.failure("sha256 does not match the CID")
                STATE["verified"]["raw block"] += 1
            r.success()

    @task(5)
    def raw_range(self) -> None:
        """A random byte range of a raw leaf: bytes=a-b mostly, also bytes=a- and bytes=-n."""
        ds, rng = self.ds, self.rng
        leaf = rng.choice(ds["leaves"])
        size = leaf["size"]
        kind = rng.random()
        if kind < 0.1:
            n = rng.randint(1, size)
            first, last, header = size - n, size - 1, f"bytes=-{n}"
        elif kind < 0.2:
            first = rng.randrange(size)
            last, header = size - 1, f"bytes={first}-"
        else:
            first = rng.randrange(size)
            last = min(size - 1, first + rng.randint(0, 64 << 10))
            header = f"bytes={first}-{last}"
        with self.client.get(f"/ipfs/{leaf['cid']}?format=raw", headers={"Range": header},
                             name="raw range", catch_response=True) as r:
            body = r.content or b""
            if r.status_code != 206:
                return r.failure(f"status {r.status_code}")
            if len(body) != last - first + 1:
                return r.failure("length differs from the range asked")
            content_range = r.headers.get("Content-Range", "")
            if content_range != f"bytes {first}-{last}/{size}":
                return r.failure("wrong Content-Range")
            if self._sampled():
                if body != _pread(ds, leaf["offset"] + first, last - first + 1):
                    return r.failure("bytes differ from the source file")
                STATE["verified"]["raw range"] += 1
            r.success()

    @task(1)
    def car_range(self) -> None:
        """A CAR of a random byte range of the file: the root, the nodes on the way, the leaves."""
        ds, rng = self.ds, self.rng
        size = ds["size"]
        if rng.random() < 0.1:
            n = rng.randint(1, min(size, self.car_max))
            first, last, spec = size - n, size - 1, f"-{n}:*"
        else:
            first = rng.randrange(size)
            last = min(size - 1, first + rng.randint(0, self.car_max - 1))
            spec = f"{first}:{last}"
        url = f"/ipfs/{ds['root']}?format=car&dag-scope=entity&entity-bytes={spec}"
        with self.client.get(url, name="car entity-bytes", catch_response=True) as r:
            body = r.content or b""
            if r.status_code != 200:
                return r.failure(f"status {r.status_code}")
            if not r.headers.get("Content-Type", "").startswith("application/vnd.ipld.car"):
                return r.failure(f"content type {r.headers.get('Content-Type')}")
            try:
                header, sections = read_car(body)
            except (ValueError, IndexError) as e:
                return r.failure(f"bad CAR: {e}")
            if b"\x00" + ds["root_bin"] not in header:
                return r.failure("the CAR's header does not name the root")
            got_leaves, got_nodes = set(), set()
            for cid_bin, _data in sections:
                (got_nodes if cid_bin in ds["node_bins"] else got_leaves).add(cid_bin)
            want = {leaf["bin"] for leaf in ds["leaves"]
                    if leaf["offset"] <= last and leaf["offset"] + leaf["size"] > first}
            if got_leaves != want:
                return r.failure("the CAR's leaves are not the range's")
            if ds["root_bin"] not in got_nodes:
                return r.failure("no root block in the CAR")
            if self._sampled():
                for cid_bin, data in sections:
                    if not block_matches(cid_bin, data):
                        return r.failure("a CAR block does not match its CID")
                STATE["verified"]["car"] += 1
            r.success()
