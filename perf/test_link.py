"""iptf ← iptf across network namespaces on a 1 Gbit/s link: a fresh node fetches 128 MiB of
random bytes (`iptf cat`, through the fetch engine) from one provider whose uplink is limited to
1 Gbit/s (tc), against the link's goodput measured in the same run (one TCP stream). Reported:
the fetch's rate as a share of the link (target >= 0.8), the median of three fresh fetches.
Needs root and `ip netns` (skipped otherwise)."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from harness.netns import TestBed, fresh_client_fetch, require_netns

SIZE = 128 << 20
LINK_MBIT = 1000
ROUNDS = 3


def test_fetch_over_a_gigabit_link(benchmark, tmp_path_factory: pytest.TempPathFactory) -> None:
    require_netns()
    tmp: Path = tmp_path_factory.mktemp("link")
    data = tmp / "data.bin"
    data.write_bytes(os.urandom(SIZE))
    with TestBed(2, rate_mbit=[LINK_MBIT, None]) as bed:
        # One TCP stream may fall short of the limit (910-955 Mbit/s here; 560-660 with the
        # 4 KB token bucket the bed had before, which made the kernel cut every offloaded packet
        # up); the fetch is measured against what the link delivered, so only a link far below
        # its limit (a broken bed) stops the benchmark.
        link_mbit = bed.check_rates([0], 1, low=0.3)[0]
        provider = bed.iptf(0, tmp / "provider")
        cid = provider.add(data)
        seconds = [fresh_client_fetch(bed, 1, tmp / f"client{i}", [provider], cid, data, timeout=300).seconds
                   for i in range(ROUNDS)]
    fetch_mbit = SIZE * 8 / statistics.median(seconds) / 1e6
    share = fetch_mbit / link_mbit
    benchmark.extra_info.update({
        "bytes": SIZE, "link_Mbps": link_mbit, "fetch_Mbps": fetch_mbit, "fetch_seconds": seconds,
        "ratio_vs_link": share, "target_ratio": 0.8,
    })
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # the figures are extra_info's
    print(f"\nfetch 128 MiB over a {LINK_MBIT} Mbit/s link (one TCP stream measured {link_mbit:.0f} Mbit/s): "
          f"{fetch_mbit:.0f} Mbit/s ({fetch_mbit / 8:.0f} MB/s), {share:.2f} of the measured link, "
          f"{fetch_mbit / LINK_MBIT:.2f} of its limit (target >= 0.8)")
