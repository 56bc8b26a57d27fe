"""Interpreter start-up: `python -c pass` with IPTF installed (its `.pth` hook runs at every start)
against the same interpreter without it, measured in the same run, each round paired with an
anchor round just before it. Both are fresh environments, so that no other package's start-up
hooks count: one bare, one that sees the installed `iptf` package and runs its `.pth` line."""

from __future__ import annotations

import statistics
import subprocess
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
