#!/usr/bin/env python3
"""Summarise one benches/e2e/run.sh results dir as Markdown, beside Loki 2.9.9's figures.

  python3 benches/e2e/summary.py RESULTS_DIR     (also writes RESULTS_DIR/summary.json)

Loki's figures are from /work/shared/bench/README.md (1023.1 MiB data set, 2 vCPU): ingest run 2,
queries (A) after ingest run 3 and (B) after restart (store path) run 2, medians in seconds.
"""
import json
import os
import re
import sys

GIB = 2**30
MIB = 2**20

LOKI = {
    "data_mib": 1023.1,
    "ingest_mib_s": 45.4,
    "lines_s": 288645,
    "cpu_s_per_gib": 40.6 / (1072844891 / GIB),
    "vmhwm_mib": "1146-1295",
    "stored_per_raw": 246020978 / 1072844891,
    "ratio": 4.36,
    # name: (after ingest median, after restart median, GiB/s after restart)
    "q": {
        "Q1": (10.11, 5.17, 0.19),
        "Q2": (2.27, 2.30, 0.44),
        "Q3": (1.19, 0.91, 0.44),
        "Q4": (1.08, 1.07, 0.33),
        "Q5": (4.63, 2.31, 0.17),
        "Q6": (1.26, 0.96, 0.19),
        "Q7": (0.14, 0.34, 1.0),
        "Q8": (0.61, 0.35, 0.17),
    },
    "rss_suite_mib": "1810-1833 / 1429-1510",
}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    out = sys.argv[1]
    man = load(os.path.join(out, "manifest.json")) or {}
    ld = load(os.path.join(out, "load.json")) or {}
    disk = load(os.path.join(out, "disk.json")) or {}
    qa = load(os.path.join(out, "q-after-ingest.json")) or {}
    qr = load(os.path.join(out, "q-after-restart.json")) or {}
    raw = man.get("raw_bytes") or ld.get("raw_bytes") or 0
    summary = {"raw_bytes": raw, "lines": man.get("lines")}

    print(f"## Fenrir end-to-end: {raw / MIB:.1f} MiB raw, {man.get('lines', 0):,} lines "
          f"(Loki 2.9.9 figures at {LOKI['data_mib']} MiB)\n")
    if ld:
        cpu_gib = ld.get("server_cpu_s", 0) / (raw / GIB) if raw else None
        summary["ingest"] = {
            "wall_s": ld.get("wall_s"), "raw_mib_s": ld.get("raw_mib_per_s"),
            "lines_s": ld.get("lines_per_s"), "server_cpu_s": ld.get("server_cpu_s"),
            "cpu_s_per_gib": cpu_gib, "vmhwm_mib": ld.get("server_vmhwm_mib"),
            "errors": ld.get("request_errors"), "status": ld.get("status_counts"),
            "push_p50_p99_s": [ld.get("push_latency_s", {}).get(k) for k in ("p50", "p99")],
        }
        print("| ingest | Fenrir | Loki 2.9.9 |\n|---|---|---|")
        print(f"| wall | {fmt(ld.get('wall_s'), '.2f')} s | 22.5 s (1 GiB) |")
        print(f"| raw MiB/s | {fmt(ld.get('raw_mib_per_s'), '.1f')} | {LOKI['ingest_mib_s']} |")
        print(f"| lines/s | {fmt(ld.get('lines_per_s'), ',.0f')} | {LOKI['lines_s']:,} |")
        print(f"| server CPU-s / GiB raw | {fmt(cpu_gib, '.1f')} "
              f"({fmt(ld.get('server_cpu_cores_avg'), '.2f')} cores) | {LOKI['cpu_s_per_gib']:.1f} |")
        print(f"| VmHWM at end of push | {fmt(ld.get('server_vmhwm_mib'), '.0f')} MiB | {LOKI['vmhwm_mib']} MiB |")
        pl = ld.get("push_latency_s", {})
        print(f"| push p50/p99 | {fmt(pl.get('p50', 0) * 1000, '.0f')}/{fmt(pl.get('p99', 0) * 1000, '.0f')} ms "
              f"| 77/225 ms |")
        print(f"| HTTP errors | {ld.get('request_errors')} ({ld.get('status_counts')}) | 0 |\n")
    if disk:
        summary["disk"] = disk
        print("| storage after /flush | Fenrir | Loki 2.9.9 |\n|---|---|---|")
        for k, v in disk.get("chunks_breakdown", {}).items():
            print(f"| {k} | {v['files']} files, {v['bytes']:,} B | |")
        for k, v in disk.get("dirs", {}).items():
            if k != "chunks":
                print(f"| {k}/ | {v['files']} files, {v['bytes']:,} B | |")
        print(f"| stored bytes per raw byte (excl. WAL) | {disk['stored_per_raw']:.3f} "
              f"| {LOKI['stored_per_raw']:.3f} |")
        print(f"| compression ratio | {disk['ratio_raw_per_stored']:.2f}x | {LOKI['ratio']}x |\n")

    rows = {}
    for tag, q in (("ingest", qa), ("restart", qr)):
        for r in q.get("results", []):
            rows.setdefault(r["name"], {})[tag] = r
    summary["queries"] = {n: {t: {k: r.get(k) for k in ("median_s", "min_s", "warmup_s", "result",
                                                          "raw_gib_per_s", "server_cpu_s_median",
                                                          "check", "notes")}
                              for t, r in v.items()} for n, v in rows.items()}
    if rows:
        print("| query | result | after ingest med [min] s | after restart med [min] s | cold s "
              "| GiB/s (restart) | srv CPU s | check | Loki (A) / (B) s | Loki GiB/s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, v in rows.items():
            a, b = v.get("ingest", {}), v.get("restart", {})
            lk = LOKI["q"].get(name)
            chk = "; ".join(x for x in {a.get("check") or "", b.get("check") or ""} if x) or ""
            noisy = " NOISY" if any("NOISY" in str(r.get("notes")) for r in (a, b)) else ""
            cpu = f"{fmt(a.get('server_cpu_s_median'), '.2f')}/{fmt(b.get('server_cpu_s_median'), '.2f')}"
            cold = (b.get("warmup_s") or [None])[0]
            print(f"| {name} | {b.get('result') or a.get('result')} "
                  f"| {fmt(a.get('median_s'), '.3f')} [{fmt(a.get('min_s'), '.3f')}] "
                  f"| {fmt(b.get('median_s'), '.3f')} [{fmt(b.get('min_s'), '.3f')}] "
                  f"| {fmt(cold, '.3f')} | {fmt(b.get('raw_gib_per_s'), '.2f')} | {cpu} | {chk}{noisy} "
                  f"| {f'{lk[0]} / {lk[1]}' if lk else '~0.001-0.008'} | {lk[2] if lk else '-'} |")
        print()
        for tag, q in (("after ingest", qa), ("after restart", qr)):
            if q:
                print(f"- peak RSS during the suite {tag}: VmHWM {fmt(q.get('server_vmhwm_mib'), '.0f')} MiB "
                      f"(Loki: {LOKI['rss_suite_mib']} MiB after ingest / after restart); "
                      f"suite wall {fmt(q.get('suite_wall_s'), '.0f')} s; load at end {q.get('load_end')}")
    bl = os.path.join(out, "baseline.txt")
    if os.path.exists(bl):
        print("\nBaseline (same run, kit's baseline.sh):\n```")
        with open(bl) as f:
            print("".join(line for line in f if re.search(r"Benchmark|Time|zstd|raw file|load|GiB/s", line)).rstrip())
        print("```")
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
