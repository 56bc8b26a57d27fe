"""The runtime image (`make image-test`): TensorBoard in a container serving iptf:// logs.

A container writes TensorFlow summaries (scalars and an image) to iptf://repo/root/logs/run1 on a
fresh repo volume; another runs the image's default command, TensorBoard, published on 127.0.0.1
only. The host checks the run, its tags and values through TensorBoard's HTTP API and keeps a
headless Chromium screenshot of the scalars dashboard in perf/results/. Every container, volume
and the image are removed afterwards.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
from harness import free_port, get_json, wait_until

IMAGE = os.environ.get("IPTF_TEST_IMAGE", "")
# Set by `make image-test` (the OCI runtime, ulimits the host allows).
PODMAN = ["podman", *shlex.split(os.environ.get("PODMAN_GLOBAL_OPTS", ""))]
RUN_OPTS = shlex.split(os.environ.get("PODMAN_RUN_OPTS", ""))
SCREENSHOT = ROOT / "perf" / "results" / "image-tensorboard-scalars.png"
LOSSES = [round(1.0 / (step + 1), 4) for step in range(20)]

WRITE_SUMMARIES = f"""
import numpy as np, tensorflow as tf
w = tf.summary.create_file_writer("iptf://repo/root/logs/run1")
with w.as_default():
    for step, loss in enumerate({LOSSES!r}):
        tf.summary.scalar("loss", loss, step=step)
        tf.summary.scalar("accuracy", 1.0 - loss, step=step)
    ramp = np.linspace(0, 1, 32 * 32 * 3, dtype=np.float32).reshape(1, 32, 32, 3)
    tf.summary.image("sample", ramp, step=0)
w.close()
print(tf.io.gfile.listdir("iptf://repo/root/logs/run1"))
"""

pytestmark = pytest.mark.skipif(not IMAGE, reason="set IPTF_TEST_IMAGE (make image-test)")


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])}… exited {proc.returncode}: {proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def volume() -> Iterator[str]:
    """A fresh repo volume, initialized offline with the test profile; removed with the image."""
    name = f"iptf-image-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    try:
        podman("run", "--rm", "--init", "--network", "none", *RUN_OPTS, "-v", f"{name}:/data/iptf", IMAGE,
               "iptf", "init", "--profile", "test")
        yield name
    finally:
        podman("volume", "rm", "-f", name, check=False)
        podman("rmi", "-f", IMAGE, check=False)


def run_in_image(volume: str, *command: str) -> str:
    """Runs a command in a throwaway container with no network; returns its stdout."""
    return podman("run", "--rm", "--init", "--network", "none", *RUN_OPTS, "-e", "IPTF_OFFLINE=1",
                  "-v", f"{volume}:/data/iptf", IMAGE, *command).stdout


def poll(url: str, want: Callable[[object], bool], timeout: float) -> object | None:
    """What url serves once want() accepts it, or its last answer when timeout runs out."""
    wait_until(lambda: want(get_json(url)), timeout, interval=1)
    return get_json(url)


def test_image_has_no_toolchain_and_no_source_tree(volume: str) -> None:
    out = run_in_image(volume, "sh", "-c", "command -v go gcc g++ cc make; ls /src /opt/iptf/src 2>&1; "
                                           "iptf --help >/dev/null && echo iptf-ok")
    assert out.strip().splitlines()[-1] == "iptf-ok"
    assert "/go" not in out and "gcc" not in out and "g++" not in out and "make" not in out, out


def test_tensorboard_in_the_image_serves_iptf_logs(volume: str) -> None:
    listing = run_in_image(volume, "python", "-c", WRITE_SUMMARIES)
    assert "events.out.tfevents" in listing, listing
    assert "events.out.tfevents" in run_in_image(volume, "iptf", "files", "ls", "/logs/run1")

    port = free_port()
    name = f"iptf-image-test-tb-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--init", "--name", name, *RUN_OPTS, "-e", "IPTF_OFFLINE=1",
           "-e", "IPTF_LOGDIR=iptf://repo/root/logs", "-v", f"{volume}:/data/iptf",
           "-p", f"127.0.0.1:{port}:6006", IMAGE)
    try:
        base = f"http://127.0.0.1:{port}"
        runs = poll(f"{base}/data/runs", lambda r: r == ["run1"], 240)
        assert runs == ["run1"], f"runs {runs}; logs: {podman('logs', name, check=False).stderr[-3000:]}"
        tags = poll(f"{base}/data/plugin/scalars/tags",
                    lambda t: isinstance(t, dict) and {"loss", "accuracy"} <= set(t.get("run1", {})), 60)
        assert isinstance(tags, dict) and {"loss", "accuracy"} <= set(tags.get("run1", {})), tags
        values = get_json(f"{base}/data/plugin/scalars/scalars?run=run1&tag=loss")
        assert isinstance(values, list), values
        assert [step for _, step, _ in values] == list(range(len(LOSSES)))
        assert [round(v, 4) for _, _, v in values] == LOSSES
        images = get_json(f"{base}/data/plugin/images/tags")
        assert isinstance(images, dict) and "sample" in images.get("run1", {}), images
        screenshot(f"{base}/?forceSVG=true#scalars")
    finally:
        podman("rm", "-f", "-t", "5", name, check=False)


def screenshot(url: str) -> None:
    """A headless Chromium screenshot of url in SCREENSHOT; it must not be an empty page."""
    from PIL import Image

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--hide-scrollbars", "--virtual-time-budget=15000", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--window-size=1400,900", f"--screenshot={SCREENSHOT}", url],
            capture_output=True, text=True, timeout=180, check=False)
    assert SCREENSHOT.is_file(), f"chromium wrote no screenshot: {proc.stderr[-3000:]}"
    with Image.open(SCREENSHOT) as img:
        rgb = img.convert("RGB")
    # The plotted lines take the run's colour (an orange-red, (255, 112, 67) in TensorBoard 2.21);
    # count such pixels right of the sidebar and below the (also orange) header bar.
    width, height = rgb.size
    line = sum(1 for y in range(100, height) for x in range(360, width)
               if (p := rgb.getpixel((x, y)))[0] > 200 and p[1] < 150 and p[2] < 120)
    assert line > 300, f"no plotted scalar in the screenshot ({line} line pixels)"
