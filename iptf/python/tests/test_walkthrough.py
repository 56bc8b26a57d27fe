"""docs/walkthrough.md, run as a newcomer runs it: every block in order, from the checkout."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.docscript import shell_script
from harness import IptfRepo, free_port

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "walkthrough.md"

pytestmark = pytest.mark.slow


def _user_env(tmp_path: Path) -> dict[str, str]:
    """A shell's environment with no IPTF settings: the page sets what it needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPTF_", "IPFS_", "VIRTUAL_ENV"))}
    env.update(TMPDIR=str(tmp_path), PORT=str(free_port()), TF_CPP_MIN_LOG_LEVEL="2")
    return env


def test_walkthrough_runs_from_the_checkout(tmp_path: Path) -> None:
    script = shell_script(PAGE.read_text(), "walkthrough")
    try:
        proc = subprocess.run(["bash", "-c", script], cwd=ROOT, env=_user_env(tmp_path), capture_output=True,
                              text=True, timeout=1200)
    finally:
        for config in tmp_path.glob("iptf-walkthrough.*/*/config"):  # nodes of a page that stopped midway
            IptfRepo(config.parent).stop()
    out = proc.stdout
    assert proc.returncode == 0, f"the walkthrough failed:\n{out[-3000:]}\n{proc.stderr[-6000:]}"

    shared = re.search(r"version 2 has (\d+) blocks; (\d+) of them are version 1's", out)
    assert shared, out
    # Version 2 adds one shard (one block, as each shard here): every other block is shared.
    assert int(shared.group(2)) == int(shared.group(1)) - 1, out[:4000]
    assert re.search(r"locked \d+ inputs? .* of `python train.py --data iptf://ipfs/\w+ --run "
                     r"iptf://repo/root/runs/1` in run1.lock", out), out
    assert '"1/logs/train"' in out or "1/logs/train" in out  # TensorBoard saw the run
    assert "same inputs: the run read the 6 locked files, byte for byte, and nothing else" in out
    assert re.search(r"same model: Qm\w+", out)
    assert re.search(r"missing  iptf://ipfs/\w+/train-4.tfrecord", out)
    assert "parameters" in out
    assert "unexpected" not in out


def test_every_block_of_the_page_is_run_or_marked() -> None:
    script = shell_script(PAGE.read_text(), "walkthrough")
    for name in ("make_dataset.py", "train.py", "save_mobilenet.py"):
        assert f"cat > {name} <<" in script
    with pytest.raises(ValueError, match="neither run nor marked"):
        shell_script("text\n```python\nprint(1)\n```\n")
