"""Start-up costs, each round paired with an anchor round just before it.

Interpreter start-up: `python -c pass` with IPTF installed (its `.pth` hook runs at every start)
against the same interpreter without it. Both are fresh environments, so that no other package's
start-up hooks count: one bare, one that sees the installed `iptf` package and runs its `.pth` line.

A command's start-up: `iptf cat` of a small file against kubo's own `ipfs cat` of it."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

ROUNDS = 40
STARTS_PER_ROUND = 5


def starts_seconds(python: str) -> float:
    """Seconds for STARTS_PER_ROUND starts of `python -c pass`."""
    begin = time.perf_counter()
    for _ in range(STARTS_PER_ROUND):
        subprocess.run([python, "-c", "pass"], check=True)
    return time.perf_counter() - begin


def fresh_env(folder: Path) -> tuple[str, Path]:
    """A new environment of the same base interpreter: its python and its site-packages."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    site = next((folder / "lib").glob("python3*/site-packages"))
    return str(folder / "bin" / "python"), site


@pytest.fixture(scope="module")
def pythons(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(bare, with IPTF's hook): the second reaches the installed package and runs its .pth line."""
    import iptf

    bare, _ = fresh_env(tmp_path_factory.mktemp("bare-venv"))
    hooked, site = fresh_env(tmp_path_factory.mktemp("iptf-venv"))
    installed = Path(iptf.__file__).resolve().parent.parent
    (site / "iptf-path.pth").write_text(f"{installed}\n")  # sorts before iptf-tensorflow.pth
    (site / "iptf-tensorflow.pth").write_bytes((installed / "iptf-tensorflow.pth").read_bytes())
    return bare, hooked


def test_interpreter_start_with_the_hook(benchmark, pythons: tuple[str, str]) -> None:
    bare_python, hooked_python = pythons
    anchor: list[float] = []

    def anchor_round():
        anchor.append(starts_seconds(bare_python))
        return (), {}

    benchmark.pedantic(lambda: starts_seconds(hooked_python), setup=anchor_round, rounds=ROUNDS, iterations=1)
    with_hook = benchmark.stats.stats.data
    extra_ms = statistics.median(w - a for w, a in zip(with_hook, anchor)) / STARTS_PER_ROUND * 1000
    hooked = subprocess.run([hooked_python, "-c", "import sys; print('iptf._hooks' in sys.modules)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    benchmark.extra_info.update({
        "anchor": "python -c pass in a fresh environment without IPTF",
        "hook_installed": hooked == "True",
        "extra_ms_per_start": round(extra_ms, 2),
        "bare_ms_per_start": round(statistics.median(anchor) / STARTS_PER_ROUND * 1000, 2),
        "ratio": round(statistics.median(a / w for w, a in zip(with_hook, anchor)), 3),
        "target": "extra_ms_per_start < 5",
    })
    print(f"\nstart-up with the hook: +{extra_ms:.2f} ms per start over a bare environment "
          f"({benchmark.extra_info['bare_ms_per_start']} ms), hook installed: {hooked}")


COMMANDS_PER_ROUND = 10
# The `iptf` command as users run it: the console script installed beside the interpreter.
IPTF_COMMAND = [str(Path(sys.executable).with_name("iptf"))]


def test_a_command_against_kubo_s_own(benchmark, tmp_path: Path) -> None:
    """`iptf cat` of a small local file from a running node (the Python front, which hands over
    to the node's binary, then the node's client) against kubo's own `ipfs cat` of the same file
    from its running daemon (a current kubo, the module IPTF's node is built on), paired rounds.
    Ratio: kubo's time / IPTF's (>= 1: IPTF's command starts as fast as kubo's)."""
    from harness import IptfRepo
    from peers.kubo_current import KuboCurrent

    small = tmp_path / "small.txt"
    small.write_text("a small file\n")
    repo = IptfRepo(tmp_path / "repo")
    repo.init()
    with KuboCurrent(tmp_path) as kubo:
        kubo.start()
        cid = repo.out("add", "-Q", str(small))
        assert kubo.add(small) == cid
        iptf_cat = [*IPTF_COMMAND, "cat", cid]
        kubo_cat = [str(kubo.binary), "cat", cid]

        def timed(argv: list[str], env: dict[str, str]) -> float:
            begin = time.perf_counter()
            for _ in range(COMMANDS_PER_ROUND):
                assert subprocess.run(argv, env=env, capture_output=True, check=True).stdout == small.read_bytes()
            return time.perf_counter() - begin

        anchor: list[float] = []

        def anchor_round():
            anchor.append(timed(kubo_cat, kubo.env))
            return (), {}

        try:
            timed(iptf_cat, repo.env)  # the node is up and warm
            benchmark.pedantic(lambda: timed(iptf_cat, repo.env), setup=anchor_round, rounds=ROUNDS // 4, iterations=1)
        finally:
            repo.stop()
    iptf_s = benchmark.stats.stats.data
    iptf_ms = statistics.median(iptf_s) / COMMANDS_PER_ROUND * 1000
    kubo_ms = statistics.median(anchor) / COMMANDS_PER_ROUND * 1000
    ratio = statistics.median(a / i for i, a in zip(iptf_s, anchor))
    benchmark.extra_info.update({
        "anchor": "kubo's `ipfs cat` of the same file from its running daemon",
        "iptf_ms_per_command": round(iptf_ms, 1), "kubo_ms_per_command": round(kubo_ms, 1),
        "ratio_vs_kubo": round(ratio, 3),
    })
    print(f"\n`iptf cat` of a small file: {iptf_ms:.1f} ms per command; kubo's `ipfs cat` {kubo_ms:.1f} ms "
          f"({ratio:.2f}x kubo's speed)")
