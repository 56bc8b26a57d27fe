"""perf/dashboard/build.py: one static page from `make bench` and `make loadtest` results."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

BUILD = Path(__file__).resolve().parents[3] / "perf" / "dashboard" / "build.py"


def load_builder():
    spec = importlib.util.spec_from_file_location("perf_dashboard_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


STATS = {"min": 0.71, "max": 0.83, "mean": 0.76, "stddev": 0.04, "rounds": 5, "median": 0.75, "iqr": 0.05,
         "q1": 0.73, "q3": 0.78, "iqr_outliers": 0, "stddev_outliers": 1, "outliers": "1;0", "ld15iqr": 0.71,
         "hd15iqr": 0.83, "ops": 1.31, "total": 3.8, "data": [0.71, 0.74, 0.75, 0.78, 0.83], "iterations": 1}
OPTIONS = {"disable_gc": False, "timer": "perf_counter", "min_rounds": 5, "max_time": 1.0, "min_time": 5e-06,
           "precision": None, "confidence": None, "warmup": False}


def bench_result(commit: str, commit_time: str, run_time: str, extra: dict[str, dict]) -> dict:
    """A file shaped as pytest-benchmark's --benchmark-json writes it."""
    files = {"test_add_256mib_vs_kubo_022": "test_import.py", "test_four_providers_vs_one": "test_network.py"}
    return {
        "machine_info": {
            "node": "vm", "processor": "", "machine": "x86_64", "python_compiler": "GCC 12.2.0",
            "python_implementation": "CPython", "python_implementation_version": "3.11.7",
            "python_version": "3.11.7", "python_build": ["main", "May  9 2026 07:35:25"],
            "release": "6.18.44", "system": "Linux",
            "cpu": {"python_version": "3.11.7.final.0 (64 bit)", "arch": "X86_64", "bits": 64, "count": 2,
                    "vendor_id_raw": "GenuineIntel", "brand_raw": "Intel(R) Xeon(R) Processor",
                    "hz_advertised_friendly": "2.3000 GHz", "flags": ["avx2", "sha_ni"]},
        },
        "commit_info": {"id": commit, "time": commit_time, "author_time": commit_time, "dirty": False,
                        "project": "main", "branch": "main"},
        "benchmarks": [
            {"group": None, "name": name, "fullname": f"perf/{files.get(name, 'test_tensorflow_io.py')}::{name}",
             "params": None, "param": None, "extra_info": info, "options": OPTIONS, "stats": STATS}
            for name, info in extra.items()],
        "datetime": run_time,
        "version": "5.3.1",
    }


OLD = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
NEW = "f9e8d7c6b5a40312111098a7b6c5d4e3f2a1b0c9"


def write_inputs(folder: Path) -> None:
    older = bench_result(OLD, "2026-11-20T10:00:00+00:00", "2026-11-24T09:00:00+00:00", {
        "test_add_256mib_vs_kubo_022": {"bytes": 268435456, "iptf_MBps": 240.1, "kubo022_MBps": 392.3,
                                        "sha256_MBps": 1448.5, "ratio_vs_kubo022": 0.6121},
        "test_tfrecord_read_vs_local_disk": {"bytes": 536885888, "local_MBps": 1815.9, "iptf_MBps": 1502.0,
                                             "ratio_vs_local": 0.8271},
        "test_tfrecord_write_vs_local_disk": {"bytes": 268442944, "local_MBps": 363.9, "iptf_MBps": 300.0,
                                              "ratio_vs_local": 0.8244},
    })
    # The newer commit was measured first: the plots order commits by commit time, not by run.
    newer = bench_result(NEW, "2026-11-22T10:00:00+00:00", "2026-11-23T09:00:00+00:00", {
        "test_add_256mib_vs_kubo_022": {"bytes": 268435456, "iptf_MBps": 268.4, "kubo022_MBps": 388.6,
                                        "sha256_MBps": 1448.5, "ratio_vs_kubo022": 0.6907},
        "test_tfrecord_read_vs_local_disk": {"bytes": 536885888, "local_MBps": 1815.9, "iptf_MBps": 1686.7,
                                             "ratio_vs_local": 0.9288},
        "test_tfrecord_write_vs_local_disk": {"bytes": 268442944, "local_MBps": 363.9, "iptf_MBps": 383.2,
                                              "ratio_vs_local": 1.0530},
        "test_four_providers_vs_one": {"bytes": 67108864, "ratio_four_vs_one": 2.4172, "target_ratio": 3.0},
    })
    (folder / f"bench-{OLD[:12]}-20261124T090000Z.json").write_text(json.dumps(older, indent=4))
    (folder / f"bench-{NEW[:12]}-20261123T090000Z.json").write_text(json.dumps(newer, indent=4))
    (folder / "latest.json").write_text(json.dumps(older, indent=4))  # the same run again: counted once


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def test_dashboard_plots_each_ratio_over_commits(tmp_path: Path) -> None:
    write_inputs(tmp_path)
    build = load_builder()
    assert build.main(["--results", str(tmp_path)]) == 0
    page = (tmp_path / "dashboard.html").read_text()

    # Self-contained: no script, no external asset, only the SVG namespace as a URL.
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "2 benchmark runs" in page and "0 load tests" in page

    # One plot per ratio, each valid SVG, with the target (or parity) line and the commits in time order.
    plots = svgs(page.split("Ratios over commits", 1)[1].split("Load test", 1)[0])
    assert len(plots) == 4
    for plot in plots:
        ET.fromstring(plot)
    by_title = dict(zip(re.findall(r"<figcaption>(.*?) <span", page), plots))
    assert set(by_title) == {"Import 256 MiB: iptf vs kubo v0.22", "TensorFlow TFRecord read: iptf:// vs local disk",
                             "TensorFlow TFRecord write: iptf:// vs local disk", "Fetch from 4 providers vs 1"}
    read = by_title["TensorFlow TFRecord read: iptf:// vs local disk"]
    assert "target ≥ 0.9" in read and "stroke-dasharray" in read
    assert read.index(">0a1b2c3<") < read.index(">f9e8d7c<")
    assert read.count("<circle") == 2 and "polyline" in read
    assert "0a1b2c3: 0.827" in read and "f9e8d7c: 0.929" in read  # the points' values (hover titles)
    assert "target ≥ 0.7" in by_title["TensorFlow TFRecord write: iptf:// vs local disk"]
    assert "parity 1.0 (no target set)" in by_title["Import 256 MiB: iptf vs kubo v0.22"]
    four = by_title["Fetch from 4 providers vs 1"]
    assert "target ≥ 3.0" in four and ">f9e8d7c<" in four and ">0a1b2c3<" not in four

    # The table of latest values: the newest commit's ratios, against their targets.
    table = page.split("Latest values", 1)[1].split("Ratios over commits", 1)[0]
    rows = {re.sub(r"<.*?>", "", r.split("</td>", 1)[0]).split("test_")[0]: r for r in table.split("<tr>")[2:]}
    assert "0.93×" in rows["TensorFlow TFRecord read: iptf:// vs local disk"]
    assert "meets target" in rows["TensorFlow TFRecord read: iptf:// vs local disk"]
    assert "1.05×" in rows["TensorFlow TFRecord write: iptf:// vs local disk"]
    assert "0.69×" in rows["Import 256 MiB: iptf vs kubo v0.22"] and "no target" in rows["Import 256 MiB: iptf vs kubo v0.22"]
    assert "2.42×" in rows["Fetch from 4 providers vs 1"] and "below target" in rows["Fetch from 4 providers vs 1"]
    assert all("f9e8d7c" in row for row in rows.values())
    assert "iptf 1,687 MB/s" in rows["TensorFlow TFRecord read: iptf:// vs local disk"]
    assert "No load-test results yet" in page


def test_dashboard_shows_load_tests_over_runs(tmp_path: Path) -> None:
    def run(commit: str, stamp: str, rps: float, p99: float, peak_kib: int) -> dict:
        return {
            "kind": "iptf-loadtest", "version": 1, "timestamp": stamp,
            "machine_info": {"cpu_model": "Intel(R) Xeon(R) Processor", "cores": 2, "memory_gib": 23.5},
            "commit_info": {"id": commit, "time": "2026-11-24T10:00:00+00:00", "dirty": False, "branch": "main"},
            "config": {"users": 64, "spawn_rate": 32, "run_time_s": 60, "max_requests": 100000},
            "datasets": [{"root": "bafy", "size": 25794247, "leaves": 99, "nodes": 1}] * 3,
            "requests": int(rps * 60), "failures": 0, "requests_per_s": rps, "MBps": rps * 0.36,
            "latency_ms": {"p50": 92.1, "p90": 255.2, "p99": p99, "max": 1635.6, "mean": 121.3},
            "node": {"rss_before_kib": 128244, "rss_after_kib": 107140, "rss_peak_kib": peak_kib,
                     "cpu_seconds": 29.7},
        }
    (tmp_path / "loadtest-1.json").write_text(json.dumps(run(OLD, "2026-11-23T10:00:00+00:00", 401.5, 611.0, 150000)))
    (tmp_path / "loadtest-2.json").write_text(json.dumps(run(NEW, "2026-11-24T10:00:00+00:00", 443.4, 524.7, 147632)))
    (tmp_path / "loadtest-latest.json").write_text((tmp_path / "loadtest-2.json").read_text())
    (tmp_path / "notes.json").write_text("[1, 2]")
    write_inputs(tmp_path)

    build = load_builder()
    bench_runs, load_runs, skipped = build.load_results(tmp_path)
    assert len(bench_runs) == 2 and [r["requests_per_s"] for r in load_runs] == [401.5, 443.4]
    assert skipped == ["notes.json"]
    page = build.build_page(bench_runs, load_runs, skipped, generated="2026-11-24T12:00:00+00:00")

    section = page.split("Load test:", 1)[1]
    plots = svgs(section)
    assert len(plots) == 3
    for plot in plots:
        ET.fromstring(plot)
    rps, latency, memory = plots
    assert ">0a1b2c3<" in rps and ">f9e8d7c<" in rps and ">443<" in rps
    assert all(f">{q}<" in latency for q in ("p50", "p90", "p99")) and "611 ms" in latency
    assert all(f">{k}<" in memory for k in ("before", "after", "peak"))
    assert "443.4" in section and "524.7" in section and ">144<" in section  # table: req/s, p99, peak RSS MiB
    assert section.index("2026-11-24 10:00") < section.index("2026-11-23 10:00")  # newest run first
