"""Build perf/results/dashboard.html: one static page of the benchmarks' ratios and the load tests.

  python perf/dashboard/build.py [--results perf/results] [--out perf/results/dashboard.html]

Reads every JSON file in the results folder: pytest-benchmark files (`make bench`: a top-level
`benchmarks` list, each benchmark's ratios in `extra_info` under keys that start with `ratio`, plus
`machine_info` and `commit_info`) and load-test files (`make loadtest`: `"kind": "iptf-loadtest"`).
Other JSON files are skipped; a run found twice (latest.json beside its saved copy) counts once.
The page is self-contained: inline SVG and CSS, no script, no external asset. Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

# (benchmark name, extra_info key) -> (title, target, what the target means). A target of None with
# a reference value draws that value as a plain reference line (no target was set for it).
KNOWN: dict[tuple[str, str], tuple[str, float | None, str]] = {
    ("test_add_256mib_vs_kubo_022", "ratio_vs_kubo022"):
        ("Import 256 MiB: iptf vs kubo v0.22", None, "parity 1.0 (no target set)"),
    ("test_tfrecord_read_vs_local_disk", "ratio_vs_local"):
        ("TensorFlow TFRecord read: iptf:// vs local disk", 0.9, "target ≥ 0.9"),
    ("test_tfrecord_write_vs_local_disk", "ratio_vs_local"):
        ("TensorFlow TFRecord write: iptf:// vs local disk", 0.7, "target ≥ 0.7"),
    ("test_fetch_64mib_vs_kubo_022", "ratio_vs_kubo022"):
        ("Fetch 64 MiB from kubo v0.22: iptf vs kubo v0.22", 1.0, "target ≥ 1.0"),
    ("test_tensorflow_remote_read_vs_iptf_get", "ratio_vs_iptf_get"):
        ("TensorFlow remote read vs iptf get", 0.8, "target ≥ 0.8"),
    ("test_four_providers_vs_one", "ratio_four_vs_one"):
        ("Fetch from 4 providers vs 1", 3.0, "target ≥ 3.0"),
}
REFERENCE = 1.0  # drawn for a ratio with no target: parity with what it is compared against

PALETTE = ["#1f6fb4", "#e8772e", "#2e9d4a", "#c23b3b", "#8a5cc2", "#7a7a7a"]
GOOD, BAD, NEUTRAL = "#2e9d4a", "#c23b3b", "#1f6fb4"


# ---- reading ------------------------------------------------------------------------------------

@dataclass
class Point:
    """One measured value: which commit it measured, when, and the run's other facts."""
    value: float
    commit: str
    commit_time: str
    dirty: bool
    run_time: str
    details: dict = field(default_factory=dict)

    @property
    def commit_key(self) -> tuple[str, bool]:
        return (self.commit, self.dirty)


@dataclass
class Series:
    bench: str
    key: str
    points: list[Point] = field(default_factory=list)
    target: float | None = None
    title: str = ""
    target_label: str = ""

    @property
    def reference(self) -> float | None:
        return self.target if self.target is not None else REFERENCE


def _parse_time(text: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def load_results(folder: Path) -> tuple[list[dict], list[dict], list[str]]:
    """The pytest-benchmark runs and the load-test runs in `folder`, each once, oldest first."""
    bench, loads, skipped = {}, {}, []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            skipped.append(path.name)
            continue
        if not isinstance(data, dict):
            skipped.append(path.name)
        elif isinstance(data.get("benchmarks"), list) and "commit_info" in data:
            key = (data["commit_info"].get("id", ""), data.get("datetime", ""))
            bench.setdefault(key, dict(data, _file=path.name))
        elif data.get("kind") == "iptf-loadtest":
            key = (data.get("commit_info", {}).get("id", ""), data.get("timestamp", ""))
            loads.setdefault(key, dict(data, _file=path.name))
        elif path.name != "dashboard.json":
            skipped.append(path.name)
    bench_runs = sorted(bench.values(), key=lambda d: _parse_time(d.get("datetime", "")))
    load_runs = sorted(loads.values(), key=lambda d: _parse_time(d.get("timestamp", "")))
    return bench_runs, load_runs, skipped


def ratio_series(bench_runs: list[dict]) -> list[Series]:
    """One series per (benchmark, ratio key), known ones first in the order of KNOWN."""
    series: dict[tuple[str, str], Series] = {}
    for run in bench_runs:
        ci = run.get("commit_info", {})
        for b in run["benchmarks"]:
            extra = b.get("extra_info") or {}
            for key, value in extra.items():
                if not key.startswith("ratio") or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                s = series.setdefault((b["name"], key), Series(b["name"], key))
                details = {k: v for k, v in extra.items() if not k.startswith("ratio") and k != "target_ratio"}
                s.points.append(Point(float(value), ci.get("id", "") or "unknown",
                                      ci.get("time") or run.get("datetime", ""), bool(ci.get("dirty")),
                                      run.get("datetime", ""), details))
                if isinstance(extra.get("target_ratio"), (int, float)):
                    s.target = float(extra["target_ratio"])
    for (name, key), s in series.items():
        title, target, label = KNOWN.get((name, key), (None, None, ""))
        s.title = title or f"{name} — {key}"
        if target is not None:
            s.target = target
        s.target_label = label or (f"target ≥ {s.target:.1f}" if s.target is not None
                                   else f"parity {REFERENCE:.1f} (no target set)")
    order = {k: i for i, k in enumerate(KNOWN)}
    return sorted(series.values(), key=lambda s: (order.get((s.bench, s.key), len(order)), s.bench, s.key))


def commit_axis(points: list[Point]) -> list[tuple[str, bool]]:
    """The commits measured, in the order of their commit time (a dirty tree after its commit)."""
    first: dict[tuple[str, bool], tuple[dt.datetime, dt.datetime]] = {}
    for p in points:
        k = (_parse_time(p.commit_time), _parse_time(p.run_time))
        first[p.commit_key] = min(first.get(p.commit_key, k), k)
    return sorted(first, key=lambda c: (first[c][0], c[1], first[c][1]))


def short(commit: str, dirty: bool = False) -> str:
    return commit[:7] + ("+" if dirty else "")


# ---- SVG ------------------------------------------------------------------------------------------

def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def svg_plot(x_labels: list[str], x_titles: list[str], lines: list[dict], y_label: str,
             reference: float | None = None, reference_label: str = "", reference_is_target: bool = False,
             width: int = 620, height: int = 290) -> str:
    """A line plot: x slots labelled `x_labels`; each line {label, color, points: [(slot, y, title,
    point color or None)], and optionally connect (False: dots only), hollow (open dots), legend
    (False: not in the legend)}; an optional dashed horizontal line at `reference`."""
    legend = [line for line in lines if line.get("legend", True)]
    e = html.escape
    n = max(len(x_labels), 1)
    rotate = n > 6
    left, right, top = 58, 18, 30
    bottom = 70 if rotate else 40
    pw, ph = width - left - right, height - top - bottom
    values = [p[1] for line in lines for p in line["points"]]
    hi = max(values + ([reference] if reference is not None else []) + [0])
    lo = min(values + [0])
    hi = hi * 1.12 if hi > 0 else 1.0
    step = _nice_step(hi - lo)
    hi = math.ceil(hi / step) * step
    lo = math.floor(lo / step) * step

    def x(slot: float) -> float:
        return left + (slot + 0.5) * pw / n

    def y(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(y_label)}">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#d0d4dc"/>']
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if f"{step:g}".rstrip("0").endswith("25") else 0)
    tick = lo
    while tick <= hi + step / 1000:
        ty = y(tick)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e6e8ee"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" class="tick">{tick:,.{digits}f}</text>')
        tick += step
    out.append(f'<text x="14" y="{top + ph / 2:.1f}" transform="rotate(-90 14 {top + ph / 2:.1f})" '
               f'text-anchor="middle" class="axis">{e(y_label)}</text>')
    every = max(1, math.ceil(n / 24))
    for i, (label, title) in enumerate(zip(x_labels, x_titles)):
        if i % every and i != n - 1:
            continue
        lx, ly = x(i), top + ph + 14
        if rotate:
            out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" transform="rotate(-40 {lx:.1f} {ly:.1f})" '
                       f'text-anchor="end" class="xl"><title>{e(title)}</title>{e(label)}</text>')
        else:
            out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" class="xl">'
                       f'<title>{e(title)}</title>{e(label)}</text>')
    if reference is not None:
        ry = y(reference)
        color = "#b03030" if reference_is_target else "#8a8f99"
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{ry:.1f}" y2="{ry:.1f}" stroke="{color}" '
                   f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        # Its key sits above the frame, right-aligned, where no point or value label can be.
        kx = left + pw - 6.3 * len(reference_label) - 4
        out.append(f'<line x1="{kx - 26}" x2="{kx - 4}" y1="{top - 9}" y2="{top - 9}" stroke="{color}" '
                   f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + pw}" y="{top - 5}" text-anchor="end" class="ref" '
                   f'fill="{color}">{e(reference_label)}</text>')
    for line in lines:
        pts = sorted(line["points"])
        if len(pts) > 1 and line.get("connect", True):
            path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v, *_ in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{line["color"]}" stroke-width="2"/>')
        for s, v, title, color in pts:
            color = color or line["color"]
            paint = (f'r="3" fill="#fff" stroke="{color}" stroke-width="1.5"' if line.get("hollow")
                     else f'r="4" fill="{color}" stroke="#fff" stroke-width="1"')
            out.append(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" {paint}><title>{e(title)}</title></circle>')
        if pts and len(legend) == 1 and line is legend[0]:
            s, v, *_ = pts[-1]
            out.append(f'<text x="{x(s):.1f}" y="{y(v) - 9:.1f}" text-anchor="middle" class="val">{_fmt(v)}</text>')
    if len(legend) > 1:
        lx = left
        for line in legend:
            out.append(f'<rect x="{lx}" y="{top - 19}" width="12" height="12" rx="2" fill="{line["color"]}"/>')
            out.append(f'<text x="{lx + 16}" y="{top - 9}" class="legend">{e(line["label"])}</text>')
            lx += 24 + 7 * len(line["label"])
    out.append("</svg>")
    return "\n".join(out)


# ---- the page -------------------------------------------------------------------------------------

def ratio_plot(s: Series) -> str:
    axis = commit_axis(s.points)
    slot = {c: i for i, c in enumerate(axis)}
    latest: dict[tuple[str, bool], Point] = {}
    for p in s.points:  # the points are in run order: the last one of a commit is its latest run
        latest[p.commit_key] = p
    line_pts, extra_pts = [], []
    for p in s.points:
        ok = None if s.target is None else p.value >= s.target
        color = NEUTRAL if ok is None else (GOOD if ok else BAD)
        title = (f"{short(*p.commit_key)}: {p.value:.3f}  (commit {p.commit_time or '?'}, "
                 f"run {p.run_time or '?'})")
        if latest[p.commit_key] is p:
            line_pts.append((slot[p.commit_key], p.value, title, color))
        else:
            extra_pts.append((slot[p.commit_key], p.value, title + " (an earlier run)", color))
    lines = [{"label": "latest run of each commit", "color": NEUTRAL, "points": line_pts},
             {"label": "earlier runs", "color": NEUTRAL, "points": extra_pts, "connect": False,
              "hollow": True, "legend": False}]
    return svg_plot([short(*c) for c in axis], [f"{c[0]}{' (dirty tree)' if c[1] else ''}" for c in axis],
                   lines, "ratio (higher is better)", reference=s.reference, reference_label=s.target_label,
                   reference_is_target=s.target is not None)


def _detail_text(details: dict) -> str:
    """The benchmark's other figures: "256 MiB; iptf 268 MB/s, kubo022 389 MB/s"."""
    size, speeds, rest = "", [], []
    for k, v in details.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if k == "bytes":
            size = f"{v / (1 << 20):,.0f} MiB"
        elif k.endswith("_MBps"):
            speeds.append(f"{k[:-5]} {v:,.0f} MB/s")
        else:
            rest.append(f"{k} {v:,.4g}")
    return "; ".join(p for p in (size, ", ".join(speeds), ", ".join(rest)) if p)


def ratio_table(series: list[Series]) -> str:
    e = html.escape
    rows = []
    for s in series:
        newest = commit_axis(s.points)[-1]  # the newest commit's latest run, as at the plots' right end
        p = [p for p in s.points if p.commit_key == newest][-1]
        if s.target is None:
            status, cls = "no target", "neutral"
        elif p.value >= s.target:
            status, cls = "meets target", "good"
        else:
            status, cls = "below target", "bad"
        target = f"≥ {s.target:.1f}" if s.target is not None else "—"
        rows.append(f"<tr><td>{e(s.title)}<div class=sub>{e(s.bench)} · {e(s.key)}</div></td>"
                    f'<td class="num {cls}">{p.value:.2f}×</td><td class=num>{target}</td>'
                    f"<td class={cls}>{status}</td><td><code title=\"{e(p.commit)}\">{e(short(*p.commit_key))}</code></td>"
                    f"<td>{e(p.run_time[:16].replace('T', ' '))}</td><td class=sub>{e(_detail_text(p.details))}</td></tr>")
    return ("<table><thead><tr><th>benchmark</th><th>latest</th><th>target</th><th>status</th><th>commit</th>"
            "<th>run (UTC)</th><th>measured</th></tr></thead><tbody>" + "\n".join(rows) + "</tbody></table>")


def loadtest_section(runs: list[dict]) -> str:
    e = html.escape
    if not runs:
        return "<p class=empty>No load-test results yet: run <code>make loadtest</code>.</p>"
    labels = [short(r.get("commit_info", {}).get("id", "") or "unknown", bool(r.get("commit_info", {}).get("dirty")))
              for r in runs]
    titles = [f"{r.get('timestamp', '?')}, commit {r.get('commit_info', {}).get('id', '?')}" for r in runs]

    def pts(get, unit=""):
        out = []
        for i, r in enumerate(runs):
            try:
                v = float(get(r))
            except (KeyError, TypeError, ValueError):
                continue
            out.append((i, v, f"{titles[i]}: {_fmt(v)}{unit}", None))
        return out

    rps = svg_plot(labels, titles, [{"label": "requests/s", "color": PALETTE[0],
                                     "points": pts(lambda r: r["requests_per_s"], " req/s")}], "requests/s")
    lat = svg_plot(labels, titles, [
        {"label": f"{q}", "color": PALETTE[i], "points": pts(lambda r, q=q: r["latency_ms"][q], " ms")}
        for i, q in enumerate(("p50", "p90", "p99"))], "latency, ms")
    rss = svg_plot(labels, titles, [
        {"label": label, "color": PALETTE[i], "points": pts(lambda r, k=k: r["node"][k] / 1024, " MiB")}
        for i, (label, k) in enumerate((("before", "rss_before_kib"), ("after", "rss_after_kib"),
                                        ("peak", "rss_peak_kib")))], "node RSS, MiB")
    rows = []
    for r, label, title in reversed(list(zip(runs, labels, titles))):
        lat_ms, node, cfg = r.get("latency_ms", {}), r.get("node", {}), r.get("config", {})
        fails = r.get("failures", 0)
        rows.append(
            f"<tr><td>{e(r.get('timestamp', '')[:16].replace('T', ' '))}</td><td><code title=\"{e(title)}\">{e(label)}</code></td>"
            f"<td class=num>{cfg.get('users', '?')}</td><td class=num>{r.get('requests', 0):,}</td>"
            f"<td class=\"num {'bad' if fails else 'good'}\">{fails}</td>"
            f"<td class=num>{r.get('requests_per_s', 0):,.1f}</td><td class=num>{r.get('MBps', 0):,.1f}</td>"
            + "".join(f"<td class=num>{lat_ms.get(q, 0):,.1f}</td>" for q in ("p50", "p90", "p99", "max"))
            + "".join(f"<td class=num>{node.get(k, 0) / 1024:,.0f}</td>"
                      for k in ("rss_before_kib", "rss_after_kib", "rss_peak_kib"))
            + "</tr>")
    latest = runs[-1]
    m = latest.get("machine_info", {})
    return (
        f"<p>{len(runs)} run{'s' if len(runs) != 1 else ''}; latest on {e(m.get('cpu_model', '?'))}, "
        f"{m.get('cores', '?')} cores. Clients read random blocks, byte ranges and entity-bytes CARs of "
        f"{len(latest.get('datasets', []))} datasets from <code>iptf serve</code> on 127.0.0.1.</p>"
        f'<div class=grid><figure><figcaption>Throughput</figcaption>{rps}</figure>'
        f"<figure><figcaption>Latency</figcaption>{lat}</figure>"
        f"<figure><figcaption>Node memory</figcaption>{rss}</figure></div>"
        "<table><thead><tr><th>run (UTC)</th><th>commit</th><th>clients</th><th>requests</th><th>failures</th>"
        "<th>req/s</th><th>MB/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th>"
        "<th>RSS before</th><th>RSS after</th><th>RSS peak</th></tr></thead><tbody>"
        + "\n".join(rows[:20]) + "</tbody></table>"
        + (f"<p class=sub>The table shows the latest 20 of {len(runs)} runs.</p>" if len(runs) > 20 else "")
    )


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;
 margin:24px auto;max-width:1320px;padding:0 20px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e1e4ea;padding-bottom:4px}
.meta,.sub{color:#5e6675;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;border:1px solid #e1e4ea;border-radius:6px;padding:8px 8px 2px;background:#fff}
figcaption{font-weight:600;margin:0 0 2px 4px}
figcaption .sub{font-weight:normal}
svg text{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif}
.tick,.xl{font-size:11px;fill:#5e6675}.axis{font-size:11px;fill:#3b4250}.ref{font-size:11px;font-weight:600}
.val{font-size:11px;font-weight:600;fill:#1d2330}.legend{font-size:11px;fill:#3b4250}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e6e8ee;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#f4f5f8;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good{color:#1f7a3a}.bad{color:#b03030;font-weight:600}.neutral{color:#3b4250}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.empty{color:#5e6675;font-style:italic}
"""


def build_page(bench_runs: list[dict], load_runs: list[dict], skipped: list[str] | None = None,
               generated: str | None = None) -> str:
    e = html.escape
    generated = generated or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    series = ratio_series(bench_runs)
    parts = [f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
             f"<meta name=viewport content=\"width=device-width, initial-scale=1\">"
             f"<title>IPTF performance</title><style>{CSS}</style></head><body>",
             "<h1>IPTF performance</h1>",
             f"<p class=meta>Generated {e(generated)} from {len(bench_runs)} benchmark run"
             f"{'s' if len(bench_runs) != 1 else ''} (<code>make bench</code>) and {len(load_runs)} load test"
             f"{'s' if len(load_runs) != 1 else ''} (<code>make loadtest</code>). Ratios are iptf's speed over "
             "the reference's, measured on the same machine in the same run: higher is better. "
             "Commits are ordered by commit time; <code>+</code> marks a run on a dirty tree.</p>"]
    if bench_runs:
        m = bench_runs[-1].get("machine_info", {})
        cpu = m.get("cpu", {}) if isinstance(m.get("cpu"), dict) else {}
        parts.append(f"<p class=meta>Latest benchmark run: {e(bench_runs[-1].get('datetime', '?')[:19])} UTC on "
                     f"{e(cpu.get('brand_raw') or m.get('processor') or '?')}, {cpu.get('count', '?')} cores, "
                     f"{e(m.get('python_implementation', ''))} {e(m.get('python_version', ''))}.</p>")
    parts.append("<h2>Latest values</h2>")
    parts.append(ratio_table(series) if series else
                 "<p class=empty>No benchmark results yet: run <code>make bench</code>.</p>")
    if series:
        parts.append("<h2>Ratios over commits</h2><div class=grid>")
        for s in series:
            parts.append(f"<figure><figcaption>{e(s.title)} <span class=sub>({e(s.key)})</span></figcaption>"
                         f"{ratio_plot(s)}</figure>")
        parts.append("</div>")
    parts.append("<h2>Load test: <code>iptf serve</code> under many clients</h2>")
    parts.append(loadtest_section(load_runs))
    if skipped:
        parts.append(f"<p class=sub>Skipped (not a benchmark or load-test result): {e(', '.join(skipped))}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=RESULTS, help="folder of result JSON files")
    p.add_argument("--out", type=Path, default=None, help="the page to write (default RESULTS/dashboard.html)")
    args = p.parse_args(argv)
    out = args.out or args.results / "dashboard.html"
    bench_runs, load_runs, skipped = load_results(args.results) if args.results.is_dir() else ([], [], [])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(bench_runs, load_runs, skipped))
    n_series = len(ratio_series(bench_runs))
    print(f"wrote {out}: {len(bench_runs)} benchmark runs ({n_series} ratios), {len(load_runs)} load tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
