"""`iptf serve` against the IPFS gateway conformance suite (ipfs/gateway-conformance v0.13.2).

The suite runs its trustless-gateway specs (raw blocks with HTTP Range, CARs with dag-scope
and entity-bytes, IPNS records) and path-range-gateway against a node that serves the suite's
own fixtures, offline and from local blocks only. Every case of those specs must pass, apart
from the SKIP list below, each entry with its reason. The Go module proxy does not serve the
suite, so its source comes from outside this tree: `$GATEWAY_CONFORMANCE_HOME` when set, else
the copy kept beside the project (`../shared/vendor/gateway-conformance`). It is copied into
the test's temporary folder, its tool built there (its dependencies do come from the proxy), and
the tool's `test` command runs the suite from that copy with `go test`. Only where neither exists
(a user's machine) is the test skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from harness import IPTF, pid_alive, wait_until

ROOT = Path(__file__).resolve().parents[3]
# The suite's source, read-only: a checkout named by the variable, or the copy beside the project.
VENDORED = ROOT.parent / "shared" / "vendor" / "gateway-conformance"

SPECS = "trustless-gateway,path-range-gateway"
# The selected specs and the leaves of the trustless-gateway collection.
SELECTED = {"trustless-gateway", "trustless-block-gateway", "trustless-car-gateway",
            "trustless-car-gateway-optional", "trustless-ipns-gateway", "path-range-gateway"}

# Cases (go test names, or a prefix of them ending at a `/`) that are not expected to pass.
SKIP = {
    "TestTrustlessRaw/GET_with_application%2Fvnd.ipld.raw_header_returns_expected_caching_headers"
    "/Header_X-IPFS-Path":
        "X-Ipfs-Path is deprecated by IPIP-548 for Ipfs-Uri, which we send; boxo v0.43 no longer "
        "sends it and suite v0.13.2 still checks it",
    "TestGatewayUnixFSFileRanges":
        "path-range-gateway's only test also needs path-unixfs-gateway (deserialized UnixFS "
        "files), which a trustless gateway must not serve; the suite skips it itself",
}

# Tests that must have run and passed cases: a run that skips them all proves nothing.
REQUIRED = ["TestTrustlessRaw", "TestTrustlessRawRanges", "TestTrustlessCarPathing",
            "TestTrustlessCarDagScopeBlock", "TestTrustlessCarDagScopeEntity",
            "TestTrustlessCarDagScopeAll", "TestTrustlessCarEntityBytes",
            "TestTrustlessCarOrderAndDuplicates", "TestTrustlessCarFormatPrecedence",
            "TestGatewayIPNSRecord"]

TOOL_TIMEOUT = 420  # seconds; includes `go test` compiling the suite on a cold build cache
BUILD_TIMEOUT = 420  # seconds for `go build` of the tool on a cold build cache


def suite_source() -> Path | None:
    """Where the suite's source is, or None where it is not on this machine."""
    named = os.environ.get("GATEWAY_CONFORMANCE_HOME")
    for candidate in ([Path(named)] if named else []) + [VENDORED]:
        if (candidate / "tests").is_dir() and (candidate / "cmd" / "gateway-conformance").is_dir():
            return candidate
    return None


def suite_copy(source: Path, into: Path) -> tuple[Path, Path]:
    """A writable copy of the suite (`go test` runs in it) and its tool, built from that copy."""
    home = into / "gateway-conformance"
    shutil.copytree(source, home, copy_function=shutil.copyfile, ignore=shutil.ignore_patterns(".git"))
    for folder, _, _ in os.walk(home):
        os.chmod(folder, 0o755)  # copytree copies the source folders' read-only modes
    tool = into / "gateway-conformance-tool"
    subprocess.run(["go", "build", "-o", str(tool), "./cmd/gateway-conformance"], cwd=home,
                   env=dict(os.environ, GOWORK="off"), capture_output=True, timeout=BUILD_TIMEOUT, check=True)
    return home, tool


def skip_reason(name: str) -> str | None:
    for key, reason in SKIP.items():
        if name == key or name.startswith(key + "/"):
            return reason
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_report(path: Path) -> tuple[dict[str, str], dict[str, str], bool]:
    """The outcome of each leaf case, the suite's skip messages, and whether the run finished."""
    results: dict[str, str] = {}
    output: dict[str, list[str]] = defaultdict(list)
    finished = False
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        test, action = event.get("Test"), event.get("Action")
        if test is None:
            finished |= action in ("suite_pass", "suite_fail")
        elif action == "output":
            output[test].append(event.get("Output", ""))
        elif action in ("pass", "fail", "skip"):
            results[test] = action
    leaves = {name: outcome for name, outcome in results.items()
              if not any(other.startswith(name + "/") for other in results)}
    skips = {name: "".join(output[name]) for name, outcome in leaves.items() if outcome == "skip"}
    return leaves, skips, finished


def outside_selection(message: str) -> bool:
    """A case the suite skipped because it needs a spec that was not selected."""
    missing = re.findall(r"\{([\w-]+) \w+\}", message.partition("missing specs:")[2])
    return bool(missing) and any(spec not in SELECTED for spec in missing)


@pytest.mark.slow
def test_gateway_conformance(repo_factory, tmp_path: Path) -> None:
    source = suite_source()
    if source is None:
        pytest.skip("the gateway conformance suite is not on this machine (the Go module proxy does not "
                    f"serve it): set GATEWAY_CONFORMANCE_HOME to a checkout of it, or place it at {VENDORED}")
    started = time.monotonic()
    suite_home, tool = suite_copy(source, tmp_path)
    tool_env = dict(os.environ, GATEWAY_CONFORMANCE_HOME=str(suite_home), GOWORK="off")

    fixtures = tmp_path / "fixtures"
    subprocess.run([str(tool), "extract-fixtures", "--directory", str(fixtures), "--merged=true"],
                   env=tool_env, capture_output=True, timeout=120, check=True)
    records = sorted(fixtures.glob("*.ipns-record"))
    assert (fixtures / "fixtures.car").exists() and records

    repo = repo_factory("gateway")
    # The merged CAR's root links to blocks the suite leaves out on purpose (its missing-block
    # fixtures), so the root cannot be pinned; nothing collects garbage while the node serves.
    repo.run("dag", "import", "--pin-roots=false", str(fixtures / "fixtures.car"))
    for record in records:
        name = record.name.split("_")[0]
        repo.run("routing", "put", "--allow-offline", f"/ipns/{name}", str(record))
    raw_cid = repo.out("block", "put", input=b"conformance probe\n")

    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        serve = subprocess.Popen([*IPTF, "serve", "--listen", f"127.0.0.1:{port}"], env=repo.env,
                                 stdout=log, stderr=subprocess.STDOUT)
    repo.pids.add(serve.pid)
    base = f"http://127.0.0.1:{port}"
    report_path = tmp_path / "report.json"
    try:
        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/ipfs/{raw_cid}?format=raw", timeout=5) as r:
                    return r.status == 200
            except (urllib.error.URLError, OSError):
                return False

        assert wait_until(up, 90, interval=0.25), \
            f"`iptf serve` did not come up: {log_path.read_text()[-3000:]}"
        tool = subprocess.run(
            [str(tool), "test", "--gateway-url", base, "--specs", SPECS,
             "--json-output", str(report_path)],
            env=tool_env, cwd=tmp_path, capture_output=True, timeout=TOOL_TIMEOUT, check=False)
    finally:
        if pid_alive(serve.pid):
            os.kill(serve.pid, signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(serve.pid, signal.SIGKILL)
            serve.wait(10)

    tool_output = (tool.stdout + tool.stderr).decode(errors="replace")
    assert report_path.exists(), f"no report (exit {tool.returncode}): {tool_output[-3000:]}"
    leaves, skips, finished = read_report(report_path)
    assert finished and leaves, f"the suite did not run to the end: {tool_output[-3000:]}"

    failed = sorted(n for n, o in leaves.items() if o == "fail" and skip_reason(n) is None)
    unexplained_skips = sorted(n for n, msg in skips.items()
                               if not outside_selection(msg) and skip_reason(n) is None)
    now_passing = sorted(n for n, o in leaves.items() if o == "pass" and skip_reason(n) is not None)
    unused = sorted(k for k in SKIP if not any(n == k or n.startswith(k + "/") for n in leaves))
    passed_by_test = Counter(n.split("/")[0] for n, o in leaves.items() if o == "pass")
    not_run = [t for t in REQUIRED if passed_by_test[t] == 0]

    counts = Counter(leaves.values())
    listed = sum(1 for n in leaves if skip_reason(n) is not None)
    outside = sum(1 for n, msg in skips.items() if outside_selection(msg) and skip_reason(n) is None)
    print(f"gateway-conformance {SPECS}: {counts['pass']} passed, {len(failed)} failed, "
          f"{listed} skipped (SKIP list), {outside} outside the selected specs, "
          f"{time.monotonic() - started:.1f}s")

    problems = []
    if failed:
        problems.append("failing cases:\n  " + "\n  ".join(failed))
    if unexplained_skips:
        problems.append("cases of the selected specs the suite skipped:\n  "
                        + "\n  ".join(unexplained_skips))
    if now_passing:
        problems.append("SKIP entries whose cases now pass (remove them):\n  " + "\n  ".join(now_passing))
    if unused:
        problems.append("SKIP entries that match no case:\n  " + "\n  ".join(unused))
    if not_run:
        problems.append("tests with no passing case: " + ", ".join(not_run))
    if failed and tool.returncode == 0:
        problems.append("the tool exited 0 despite failures")
    if not failed and tool.returncode != 0 and not any(o == "fail" for o in leaves.values()):
        problems.append(f"the tool exited {tool.returncode}: {tool_output[-3000:]}")
    assert not problems, "\n".join(problems)
