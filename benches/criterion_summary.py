#!/usr/bin/env python3
"""Prints the criterion results under $CARGO_TARGET_DIR/criterion as the Markdown rows of
benches/RESULTS.md: bench | median time per iteration (95% CI) | MB/s of log lines | lines/s.

    python3 benches/criterion_summary.py "$CARGO_TARGET_DIR/criterion"
"""
import json, os, sys, glob
root = sys.argv[1]  # $CARGO_TARGET_DIR/criterion
# lines per iteration for lines/s, keyed by group
LINES = {
    "line_filter_100k": 100_000, "parser_10k": 10_000, "range_agg_1m": 1_000_000,
    "push_decode_10k_lines": 10_000, "wal_append": 1_000, "segment_100k_rows": 100_000,
    "segment_read_1_stream_1h": 3_600,
}
rows = []
for bj in sorted(glob.glob(f"{root}/**/new/benchmark.json", recursive=True)):
    d = os.path.dirname(bj)
    b = json.load(open(bj)); e = json.load(open(f"{d}/estimates.json"))
    ns = e["median"]["point_estimate"]
    lo, hi = e["median"]["confidence_interval"]["lower_bound"], e["median"]["confidence_interval"]["upper_bound"]
    thr = b.get("throughput") or {}
    mbs = ""
    if "Bytes" in thr:
        mbs = f"{thr['Bytes'] / ns * 1e9 / 1e6:,.0f}"
    g = b["group_id"]; n = LINES.get(g)
    lps = f"{n / ns * 1e9:,.0f}" if n else ""
    def fmt(x):
        for u, s in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
            if x >= s: return f"{x/s:.3g} {u}"
        return f"{x:.3g} ns"
    rows.append(f"| {g}/{b['function_id']} | {fmt(ns)} ({fmt(lo)} – {fmt(hi)}) | {mbs} | {lps} |")
print("\n".join(rows))
