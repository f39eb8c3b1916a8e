#!/usr/bin/env python3
"""http_bench: the serving benchmarks, from outside, as clients meet viya-mv.

Starts a viya-mv server on a fresh data folder (127.0.0.1, a free port), loads it over
HTTP with --shipments shipments in --orgs orgs of different sizes (and their tracking
events), then measures with wrk over keep-alive connections:

  * the baseline: bench/fixed_body_server, a Beast server that does no work per request
  * /healthz, /v1/ops/realtime, the list (first page and filtered), point reads, the
    exception queue, customer summary, daily metrics and carrier performance, each over
    random orgs, and the 304 path (If-None-Match)
  * keep-alive latency on one connection (wrk -c1 --latency)
  * the same read with 10,000 idle keep-alive connections held open beside it
  * write -> visible latency (bench/visible_bench) at --visible-rate writes/s

Every figure is the median of --reps runs, beside the baseline measured in the same run.
Prints a Markdown table (for docs/benchmarks.md). Needs wrk (scripts/install-deps.sh
--bench).

  bench/http_bench.py [--build=build/release] [--shipments=100000] [--orgs=20]
                      [--seconds=5] [--reps=3] [--connections=32] [--threads=2]
                      [--visible-rate=3000] [--skip-idle] [--keep]
"""

import argparse
import http.client
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bench_util import finish, free_port, rfc3339, rss_mib, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Client:
    """One keep-alive connection with an admin key."""

    def __init__(self, port, key):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def status(self, method, path, body=None, content_type=None):
        """(status, parsed body or None)."""
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)

    def call(self, method, path, body=None, content_type=None):
        status, body_out = self.status(method, path, body, content_type)
        if status >= 300:
            sys.exit(f"http_bench: {method} {path}: {status} {body_out}")
        return body_out


COUNTRIES = ["NL", "DE", "BE", "FR", "GB", "ES", "IT", "PL", "SE", "US", "BR", "AU"]
CARRIERS = ["dhl", "ups", "fedex", "postnl", "dpd", "gls", "tnt", "correios"]
SERVICES = ["express", "standard", "economy"]
NOW = 1796083200  # 2026-12-01T00:00:00Z


def org_sizes(shipments, orgs):
    """Org k gets a share 1/(k+1) of the shipments: a few big tenants, many small."""
    weights = [1.0 / (k + 1) for k in range(orgs)]
    total = sum(weights)
    sizes = [max(1, int(shipments * w / total)) for w in weights]
    sizes[0] += shipments - sum(sizes)
    return sizes


def load(port, key, shipments, orgs, rng):
    """Writes the shipments and their events over HTTP; returns ({org: [ids]}, seconds,
    the last write's change token)."""
    client = Client(port, key)
    ids = {}
    started = time.time()
    written = 0
    for k, size in enumerate(org_sizes(shipments, orgs)):
        org = f"org-{k:02d}"
        ids[org] = []
        for first in range(0, size, 2000):
            docs, events = [], []
            for n in range(first, min(size, first + 2000)):
                sid = f"S-{n:07d}"
                ids[org].append(sid)
                frm, to = rng.choice(COUNTRIES[:4]), rng.choice(COUNTRIES)
                created = NOW - int(182 * 86400 * (1 - rng.random() ** 0.5))
                far = to in ("BR", "AU", "US")
                transit = (21 if to == "BR" else 9 if far else 2) * 86400 * rng.lognormvariate(0, 0.45)
                docs.append({
                    "id": sid, "reference": f"PO-{rng.randrange(10**7)}",
                    "customerId": f"C-{rng.randrange(500)}", "carrierId": rng.choice(CARRIERS),
                    "service": rng.choice(SERVICES), "status": "booked",
                    "origin": {"country": frm}, "destination": {"country": to},
                    "weightKg": round(rng.uniform(0.1, 30), 1),
                    "declaredValue": round(rng.uniform(1, 5000), 2), "currency": "EUR",
                    "createdAt": rfc3339(created),
                    # Booked when created: the carrier events after it move the status.
                    "statusChangedAt": rfc3339(created),
                    "promisedDeliveryAt": rfc3339(created + int(transit * 1.2) + 86400),
                })
                pickup = created + 1800 + rng.randrange(86400)
                delivered = pickup + int(transit)
                for i, (code, at) in enumerate([("PU", pickup), ("IT", (pickup + delivered) // 2),
                                                ("OFD", delivered - 3 * 3600),
                                                ("DL" if rng.random() > 0.03 else "EX", delivered)]):
                    if at < NOW:
                        events.append({"eventId": f"E-{sid}-{i}", "shipmentId": sid,
                                       "carrierId": docs[-1]["carrierId"], "code": code,
                                       "occurredAt": rfc3339(at), "location": to})
            token = client.call("POST", f"/v1/shipments?org={org}", json.dumps(docs))["token"]
            if events:
                token = client.call("POST", f"/v1/tracking-events?org={org}",
                                    "\n".join(json.dumps(e) for e in events),
                                    "application/x-ndjson")["token"]
            written += len(docs)
            if written % 20000 < 2000:
                print(f"  loaded {written} shipments ({written / (time.time() - started):.0f}/s)",
                      file=sys.stderr)
    return ids, time.time() - started, token


def wrk_script(paths, key, extra_headers=None):
    """A wrk Lua script cycling through `paths` (shuffled) with the admin key."""
    lines = ["local paths = {"]
    lines += ["  %s," % json.dumps(p) for p in paths]
    lines.append("}")
    headers = {"Authorization": f"Bearer {key}"}
    headers.update(extra_headers or {})
    lines.append("local i = 0")
    lines.append("request = function()")
    lines.append("  i = i % #paths + 1")
    hdr = ", ".join(f'[{json.dumps(k)}] = {json.dumps(v)}' for k, v in headers.items())
    lines.append(f"  return wrk.format('GET', paths[i], {{{hdr}}})")
    lines.append("end")
    f = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    f.write("\n".join(lines) + "\n")
    f.close()
    return f.name


def parse_wrk(out):
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for q in ("50", "90", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", out, re.M)
        if m:
            v = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
            lat[q] = v
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rate, lat, int(non2xx.group(1)) if non2xx else 0, errors.group(1) if errors else ""


def wrk(port, path, seconds, connections, threads, script=None, latency=False):
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s"]
    if latency:
        cmd.append("--latency")
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rate, lat, non2xx, errors = parse_wrk(out)
    if non2xx or errors:
        sys.exit(f"http_bench: {path}: {non2xx} non-2xx answers, socket errors {errors}\n{out}")
    return rate, lat


def median_rate(reps, fn):
    runs = [fn() for _ in range(reps)]
    return statistics.median(r for r, _ in runs), runs


def hold_idle(port, n):
    """Opens n idle keep-alive connections, each having sent one request."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:  # each answered, still open
        s.settimeout(10)
        if not s.recv(4096).startswith(b"HTTP/1.1 200"):
            sys.exit("http_bench: an idle connection got no answer")
    return socks


def answer_note(client, paths):
    """The median answer size over the first paths of a case, and how many items or rows
    they hold, so a case that answers nothing cannot pass for a fast one."""
    sizes, counts = [], []
    for p in paths[:20]:
        _, body = client.status("GET", p)
        sizes.append(len(json.dumps(body)))
        for field in ("items", "rows"):
            if isinstance(body, dict) and isinstance(body.get(field), list):
                counts.append(len(body[field]))
    note = f"answer ~{statistics.median(sizes) / 1000:.1f} KB"
    if counts:
        note += f", {statistics.median(counts):.0f} {'items' if 'items' in body else 'rows'}"
        if max(counts) == 0:
            sys.exit(f"http_bench: {paths[0]} answers nothing: the case would measure an empty answer")
    return note


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--shipments", type=int, default=100000)
    ap.add_argument("--orgs", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--visible-rate", type=int, default=3000)
    ap.add_argument("--skip-idle", action="store_true", help="skip the 10k idle connections case")
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    args = ap.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            sys.exit(f"http_bench: {tool} not found (scripts/install-deps.sh --bench)")
    binary = os.path.join(args.build, "viya-mv")
    rng = random.Random(2026)
    data = tempfile.mkdtemp(prefix="http-bench-")
    procs = []
    try:
        # The baseline first, alone.
        base_port = free_port()
        base = subprocess.Popen([os.path.join(args.build, "bench/fixed_body_server"),
                                 f"--port={base_port}", f"--threads={args.threads}"],
                                stdout=subprocess.DEVNULL)
        procs.append(base)
        wait_for(base_port, "/")

        def new_key(*scope):
            return subprocess.run([binary, "apikey", "create", "--data", data, *scope], check=True,
                                  capture_output=True, text=True).stdout.split()[-1]
        key = new_key("--admin")
        tenant_key = new_key("--org", "org-00")  # visible_bench writes as one tenant
        port = free_port()
        server = subprocess.Popen([binary, "serve", "--data", data, "--http", f"127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "serve.log"), "w"))
        procs.append(server)
        wait_for(port)
        print(f"loading {args.shipments} shipments in {args.orgs} orgs over HTTP", file=sys.stderr)
        ids, load_seconds, token = load(port, key, args.shipments, args.orgs, rng)
        # Wait until the views have applied the whole load.
        client = Client(port, key)
        while client.status("GET", f"/v1/ops/realtime?org=org-00&minToken={token}")[0] == 504:
            pass  # each try waits up to the server's minToken timeout

        orgs = sorted(ids)
        # Paths over orgs weighted by their size, as the traffic of a platform would be.
        def over_orgs(fmt, n=2000):
            weighted = [o for o in orgs for _ in range(max(1, len(ids[o]) * 50 // args.shipments))]
            return [fmt(rng.choice(weighted)) for _ in range(n)]

        cases = [
            ("/healthz", None, "/healthz"),
            ("ops realtime", over_orgs(lambda o: f"/v1/ops/realtime?org={o}"), None),
            ("shipment by id", [f"/v1/shipments/{rng.choice(ids[o])}?org={o}"
                                for o in over_orgs(lambda o: o)], None),
            ("list, first page of 50", over_orgs(lambda o: f"/v1/shipments?org={o}&limit=50"), None),
            ("list by status", over_orgs(lambda o: f"/v1/shipments?org={o}&status=delivered&limit=50"), None),
            ("exception queue", over_orgs(lambda o: f"/v1/exceptions?org={o}&limit=50"), None),
            ("customer summary", over_orgs(lambda o: f"/v1/customers/summary?org={o}&limit=50"), None),
            ("daily metrics, 30 days", over_orgs(
                lambda o: f"/v1/metrics/daily?org={o}&from=2026-11-01&to=2026-11-30"), None),
            ("daily metrics, 30 days by day", over_orgs(
                lambda o: f"/v1/metrics/daily?org={o}&from=2026-11-01&to=2026-11-30&groupBy=day"),
             None),
            ("daily metrics, 3 years by month and carrier", over_orgs(
                lambda o: f"/v1/metrics/daily?org={o}&from=2024-01-01&to=2026-12-31"
                          "&interval=month&groupBy=month,carrierId"), None),
            ("carrier performance", over_orgs(lambda o: f"/v1/carriers/performance?org={o}"), None),
        ]
        rows = []
        base_rate, _ = median_rate(args.reps, lambda: wrk(base_port, "/", args.seconds,
                                                            args.connections, args.threads))
        rows.append(("baseline: fixed 120-byte body (Beast, no work)", base_rate, None))
        for name, paths, path in cases:
            script = wrk_script(paths, key) if paths else None
            rate, _ = median_rate(args.reps, lambda: wrk(port, path or "/", args.seconds,
                                                          args.connections, args.threads, script))
            rows.append((name, rate, answer_note(client, paths or [path])))
            if script:
                os.unlink(script)
        # 304: the same realtime read with the ETag the client holds.
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/v1/ops/realtime?org=org-00", headers={"Authorization": f"Bearer {key}"})
        r = conn.getresponse()
        r.read()
        etag = r.getheader("ETag")
        script = wrk_script(["/v1/ops/realtime?org=org-00"], key, {"If-None-Match": etag})
        rate, _ = median_rate(args.reps, lambda: wrk(port, "/", args.seconds, args.connections,
                                                      args.threads, script))
        rows.append(("ops realtime, If-None-Match -> 304", rate, None))
        # Latency of one keep-alive connection.
        script_rt = wrk_script(over_orgs(lambda o: f"/v1/ops/realtime?org={o}"), key)
        _, runs = median_rate(args.reps, lambda: wrk(port, "/", args.seconds, 1, 1, script_rt, True))
        p50 = statistics.median(l["50"] for _, l in runs)
        p99 = statistics.median(l["99"] for _, l in runs)
        rows.append(("ops realtime, 1 connection (latency)", statistics.median(r for r, _ in runs),
                     f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"))
        if not args.skip_idle:
            idle = hold_idle(port, 10000)
            rate, _ = median_rate(args.reps, lambda: wrk(port, "/", args.seconds, args.connections,
                                                          args.threads, script_rt))
            rows.append(("ops realtime beside 10,000 idle connections", rate,
                         f"server RSS {rss_mib(server.pid):.0f} MiB"))
            for s in idle:
                s.close()
        os.unlink(script_rt)
        os.unlink(script)
        # Write -> visible.
        visible = subprocess.run([os.path.join(args.build, "bench/visible_bench"), f"--port={port}",
                                  f"--key={tenant_key}", f"--rate={args.visible_rate}",
                                  f"--seconds={max(5, args.seconds)}", "--prefix=V"],
                                 check=True, capture_output=True, text=True).stdout.strip()

        print(f"\nviya-mv serving {args.shipments} shipments in {args.orgs} orgs "
              f"(loaded over HTTP in {load_seconds:.1f} s, {args.shipments / load_seconds:.0f} shipments/s); "
              f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s keep-alive, median of {args.reps}; "
              f"server RSS {rss_mib(server.pid):.0f} MiB\n")
        print("| case | requests/s | vs baseline | notes |")
        print("|---|---:|---:|---|")
        for name, rate, note in rows:
            print(f"| {name} | {rate:,.0f} | {rate / base_rate:.2f} | {note or ''} |")
        print(f"\nwrite -> visible at {args.visible_rate}/s: {visible}")
        sizes = {f: os.path.getsize(os.path.join(data, f)) for f in sorted(os.listdir(data))
                 if f.endswith((".db", ".db-wal"))}
        print("files: " + ", ".join(f"{f} {b / 1e6:.0f} MB ({b / args.shipments:.0f} B per shipment)"
                                    for f, b in sizes.items()))
    finally:
        finish(procs, data, args.keep)


if __name__ == "__main__":
    main()
