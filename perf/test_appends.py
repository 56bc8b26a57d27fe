"""Appends and flushes through TensorFlow: iptf:// against local disk, in the same run.

- 200 rounds of (open 'ab', write 1 MiB, close), as a CSV log or a reopened event file grows;
- one file flushed after every 1 MiB up to 256 MiB, as a summary writer flushes its event file.

Each costs in proportion to the bytes appended: the node extends the file's DAG by the new
bytes instead of importing the file again. Reported: the ratio local time / iptf time (the median
of five rounds, each a local run and then an iptf run), and the
last append (or flush) against the first, which stays flat when nothing grows with the file.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from harness import random_bytes

ROUNDS = 200
FLUSHES = 256
ROUNDS_PAIRED = 5  # this machine's speed drifts: the median of paired rounds
MiB = 1 << 20


@pytest.fixture(scope="module")
def chunks() -> list[bytes]:
    """Distinct random MiBs: no step's blocks are deduplicated against an earlier one's."""
    blob = random_bytes(max(ROUNDS, FLUSHES) * MiB, seed=11)
    return [blob[i * MiB:(i + 1) * MiB] for i in range(max(ROUNDS, FLUSHES))]


def timed_appends(path: str, chunks: list[bytes]) -> list[float]:
    import tensorflow as tf

    times = []
    for chunk in chunks[:ROUNDS]:
        start = time.perf_counter()
        with tf.io.gfile.GFile(path, "ab") as f:
            f.write(chunk)
        times.append(time.perf_counter() - start)
    return times


def timed_flushes(path: str, chunks: list[bytes]) -> list[float]:
    import tensorflow as tf

    times = []
    with tf.io.gfile.GFile(path, "wb") as f:
        for chunk in chunks[:FLUSHES]:
            start = time.perf_counter()
            f.write(chunk)
            f.flush()
            times.append(time.perf_counter() - start)
    return times


def ends(times: list[float]) -> tuple[float, float]:
    """The median of the first and of the last ten steps."""
    return statistics.median(times[:10]), statistics.median(times[-10:])


@pytest.mark.parametrize("kind", ["appends", "flushes"])
def test_growing_file_vs_local_disk(benchmark, tf_repo, chunks, tmp_path: Path, kind: str) -> None:
    import tensorflow as tf

    step = timed_appends if kind == "appends" else timed_flushes
    rounds: list[tuple[list[float], list[float]]] = []  # (local, iptf) step times of each round

    def paired_round() -> None:
        # The local round runs first, once the iptf round before it is applied (the stat of
        # its file waits for the queue), so that no import runs beside it.
        local_path = tmp_path / f"local-{kind}-{len(rounds)}.bin"
        local = step(str(local_path), chunks)
        # Both sides write their bytes into pages of memory they are handed fresh. On a virtual
        # machine whose host takes back the memory its guest leaves free (this one: a first write
        # of such memory costs 3-5 ms per MiB, of memory freed a moment ago 0.3 ms), the side
        # that runs right after the other one freed its pages gets them cheaply. So each side
        # starts right after the other's files are gone: the local file is removed here, and the
        # iptf side's staged files are removed by the node as it applies them, before the next
        # round's local side starts (the stat below waits for that).
        local_path.unlink()
        target = f"iptf://repo/root/bench-{kind}-{len(rounds)}.bin"
        # The process's first iptf:// call finds (or starts) the node by running `iptf status`, once
        # per process: made here, before the timed steps, as the local steps' open() needs nothing alike.
        assert not tf.io.gfile.exists(target)
        iptf = step(target, chunks)
        assert tf.io.gfile.stat(target).length == len(local) * MiB
        rounds.append((local, iptf))

    benchmark.pedantic(paired_round, rounds=ROUNDS_PAIRED, iterations=1)
    ratios = [sum(local) / sum(iptf) for local, iptf in rounds]
    ratio = statistics.median(ratios)
    local, iptf = next(r for r, x in zip(rounds, ratios) if x == ratio)  # the median round
    first, last = ends(iptf)
    benchmark.extra_info.update({
        "steps": len(iptf), "bytes_per_step": MiB, "rounds": len(rounds), "ratios": ratios,
        "local_s": sum(local), "iptf_s": sum(iptf), "ratio_vs_local": ratio,
        "iptf_first_ms": first * 1e3, "iptf_last_ms": last * 1e3, "last_over_first": last / first,
    })
    print(f"\n{kind} of 1 MiB x {len(iptf)}: median of {len(rounds)} paired rounds: iptf {sum(iptf):.2f} s, "
          f"local {sum(local):.2f} s (ratio {ratio:.2f}x; rounds {', '.join(f'{r:.2f}' for r in ratios)}); "
          f"iptf first {first * 1e3:.1f} ms, last {last * 1e3:.1f} ms")
