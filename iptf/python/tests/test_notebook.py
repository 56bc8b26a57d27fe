"""examples/walkthrough.ipynb, run on a fresh kernel as a user runs it, top to bottom."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOK = ROOT / "examples" / "walkthrough.ipynb"

pytestmark = pytest.mark.slow


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_notebook_is_kept_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_runs_on_a_fresh_kernel(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel gets a user's environment: no IPTF settings (the notebook makes its own repo).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPTF_", "IPFS_"))}
    env.update(TMPDIR=str(tmp_path))
    env.pop("MPLBACKEND", None)  # the notebook plots inline, as in Jupyter
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=env)
    finally:
        for config in tmp_path.glob("iptf-notebook-*/repo/config"):  # a notebook that stopped midway
            from harness import IptfRepo

            IptfRepo(config.parent).stop()
    code = [c for c in nb.cells if c.cell_type == "code"]
    text = [_text(c) for c in code]
    data_cid = re.search(r"'iptf://ipfs/(Qm\w+)'", text[1])
    assert data_cid, text[1]
    assert re.search(r"'iptf://ipfs/Qm\w+'", text[2]), text[2]  # the model's CID
    assert any("image/png" in out.get("data", {}) for out in code[3].outputs), "no plot of the curve"
    reflog = text[4]
    assert all(f"/part-{i}.tfrecord" in reflog for i in range(4)) and "model.keras" in reflog, reflog
    assert "4 inputs, 2 outputs" in text[5], text[5]
    assert all(f"iptf://ipfs/{data_cid.group(1)}/part-{i}.tfrecord" in text[5] for i in range(4)), text[5]
    accuracy = re.search(r"test accuracy (\d\.\d+)", text[6])
    assert accuracy and float(accuracy.group(1)) > 0.8, text[6]
