#!/usr/bin/env python3
"""Read-path benchmark: a 6h metric query and two 6h log queries through the query frontend,
answered by one querier process, then by two.

    benches/frontend/bench.py --bin target/release/fenrir [--mb 256] [--runs 5]

Starts, on 127.0.0.1, a write process (-target=write), a query frontend
(-target=query-frontend) and one querier (-target=querier), all sharing one path prefix;
loads the kit's data (../shared/bench, 6h window) with the kit's load.py, flushes, runs
each query --runs times (median and max latency), starts a second querier and runs them
again. Prints a Markdown table (split count, sub-queries, latency, speedup) and writes
it to --out.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
import urllib.parse, urllib.request

KIT = os.environ.get("KIT", "/work/shared/bench")
QUERIES = [
    ("6h metric", "range", 'sum by (status) (count_over_time({job="nginx"} |~ "GET /api/v[12]" [5m]))', {"step": "300"}),
    ("6h log", "log", '{job="api"} | json | level="error"', {"limit": "1000", "direction": "backward"}),
    ("6h log, rare needle", "log", '{job=~".+"} |= "needle-7f3a9c"', {"limit": "100", "direction": "backward"}),
]


def get(url, params=None, timeout=300):
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def wait_ready(url, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            if get(url + "/ready", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("not ready: " + url)


def metric(url, name):
    body = get(url + "/metrics")[1].decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def start(bin_path, cfg, target, http, grpc, log_dir, extra=()):
    log = open(os.path.join(log_dir, f"{target}-{http}.log"), "w")
    args = [bin_path, f"-config.file={cfg}", f"-target={target}",
            f"-server.http-listen-port={http}", f"-server.grpc-listen-port={grpc}", *extra]
    p = subprocess.Popen(args, stdout=log, stderr=log)
    wait_ready(f"http://127.0.0.1:{http}")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--concurrent", type=int, default=2, help="querier.max_concurrent per querier")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    data = f"/tmp/perf-data-{a.mb}"
    if not os.path.exists(os.path.join(data, "manifest.json")):
        subprocess.run([sys.executable, f"{KIT}/gen_logs.py", "--mb", str(a.mb), "--out", data], check=True)
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    work = tempfile.mkdtemp(prefix="fenrir-fe-bench-")
    cfg = os.path.join(work, "fenrir.yaml")
    with open(cfg, "w") as f:
        f.write(f"""auth_enabled: false
server: {{http_listen_address: 127.0.0.1, grpc_listen_address: 127.0.0.1, log_level: warn}}
common: {{path_prefix: {work}/data}}
limits_config:
  reject_old_samples: false
  ingestion_rate_mb: 1024
  ingestion_burst_size_mb: 2048
  per_stream_rate_limit: 1GB
  per_stream_rate_limit_burst: 2GB
  max_query_series: 100000
  query_timeout: 10m
querier: {{max_concurrent: {a.concurrent}}}
""")
    procs = []
    try:
        w = start(a.bin, cfg, "write", 3421, 9421, work); procs.append(w)
        fe = start(a.bin, cfg, "query-frontend", 3420, 9420, work); procs.append(fe)
        qargs = ["-querier.frontend-address=127.0.0.1:9420", "-ingester.client.addresses=127.0.0.1:9421"]
        procs.append(start(a.bin, cfg, "querier", 3422, 9422, work, qargs))
        subprocess.run([sys.executable, f"{KIT}/load.py", "--data", data, "--url", "http://127.0.0.1:3421"],
                       check=True, stdout=subprocess.DEVNULL)
        get("http://127.0.0.1:3421/flush")
        start_ns, end_ns = manifest["window"]["start_ns"], manifest["window"]["end_ns"]
        rows = {}
        for queriers in (1, 2):
            if queriers == 2:
                procs.append(start(a.bin, cfg, "querier", 3423, 9423, work, qargs))
            want = queriers * a.concurrent
            while metric("http://127.0.0.1:3420", "cortex_query_frontend_connected_clients") != want:
                time.sleep(0.2)
            for name, kind, q, extra in QUERIES:
                params = {"query": q, "start": str(start_ns), "end": str(end_ns), **extra}
                subs0 = metric("http://127.0.0.1:3420", "fenrir_frontend_subqueries_total")
                get("http://127.0.0.1:3420/loki/api/v1/query_range", params)  # warm-up
                subs = metric("http://127.0.0.1:3420", "fenrir_frontend_subqueries_total") - subs0
                times = []
                for _ in range(a.runs):
                    t0 = time.perf_counter()
                    status, _ = get("http://127.0.0.1:3420/loki/api/v1/query_range", params)
                    times.append(time.perf_counter() - t0)
                    assert status == 200
                rows[(name, queriers)] = (statistics.median(times), max(times), int(subs))
        hours = (end_ns - start_ns) / 3.6e12
        lines = [f"Data: {a.mb} MiB kit data, {hours:.1f} h window, {manifest.get('lines', '?')} lines; "
                 f"split_queries_by_interval 30m; querier.max_concurrent {a.concurrent}; {a.runs} runs each, "
                 f"load1 at end {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores.", "",
                 "| query | sub-queries | 1 querier median (max) | 2 queriers median (max) | speedup |",
                 "|---|---|---|---|---|"]
        for name, _, q, _ in QUERIES:
            m1, x1, s = rows[(name, 1)]
            m2, x2, _ = rows[(name, 2)]
            shown = q.replace("|", "\\|")
            lines.append(f"| {name}: `{shown}` | {s} | {m1*1000:.0f} ms ({x1*1000:.0f}) | {m2*1000:.0f} ms ({x2*1000:.0f}) | {m1/m2:.2f}x |")
        text = "\n".join(lines)
        print(text)
        if a.out:
            open(a.out, "w").write(text + "\n")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
