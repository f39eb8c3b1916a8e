#!/usr/bin/env python3
"""Operations at size: `viya-mv import` of a mongoexport-style file, the backfill of the
views when `serve` starts on it, then beside a steady write load a full rebuild, a rebuild
of the largest org and a reconciliation, each with the stream's freshness (write ->
visible, p50/p99) while it runs.

Baselines measured in the same run: the backfill (the same build with the stream stopped)
for the rebuilds, and the freshness of the same write load with no operation running.

    bench/operations_bench.py --shipments=1000000     # = make bench-operations
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_util import finish, free_port, rss_mib, wait_for  # noqa: E402

ORGS = 20


def org_of(i):
    """Org k holds a share 1/(k+1) of the shipments: a few big tenants, many small."""
    weights = [1 / (k + 1) for k in range(ORGS)]
    total = sum(weights)
    x = (i * 0.6180339887) % 1.0 * total
    for k, w in enumerate(weights):
        x -= w
        if x <= 0:
            return k
    return ORGS - 1


def write_export(path, n):
    rng = random.Random(7)
    statuses = ["booked", "picked_up", "in_transit", "out_for_delivery", "delivered", "exception"]
    with open(path, "w") as f:
        for i in range(n):
            created = 1793534400000 + rng.randrange(30 * 86400) * 1000  # Nov 2026
            doc = {
                "_id": {"$oid": f"{i:024x}"},
                "organizationId": f"org-{org_of(i):02}",
                "customerId": f"C-{rng.randrange(500)}",
                "carrierId": rng.choice(["dhl", "ups", "correios", "postnl"]),
                "status": rng.choice(statuses),
                "statusChangedAt": {"$date": {"$numberLong": str(created + 3600000)}},
                "createdAt": {"$date": {"$numberLong": str(created)}},
                "promisedDeliveryAt": {"$date": {"$numberLong": str(created + rng.randrange(2, 21) * 86400000)}},
                "declaredValue": {"$numberDecimal": f"{rng.randrange(100000) / 100:.2f}"},
                "weightKg": rng.randrange(1, 3000) / 100,
                "destination": {"country": rng.choice(["NL", "DE", "BR", "US", "AU"])},
            }
            f.write(json.dumps(doc) + "\n")


class Freshness(threading.Thread):
    """Writes one shipment at a time and reads it back with minToken: write -> visible."""

    def __init__(self, port, key):
        super().__init__(daemon=True)
        self.port, self.key = port, key
        self.samples, self.stop, self.lock = [], threading.Event(), threading.Lock()

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        i = 0
        while not self.stop.is_set():
            i += 1
            doc = [{"id": f"F-{i % 5000}", "status": "in_transit", "reference": str(i),
                    "createdAt": "2026-11-20T10:00:00Z"}]
            t0 = time.perf_counter()
            c.request("POST", "/v1/shipments?org=org-00", body=json.dumps(doc), headers=h)
            r = c.getresponse()
            token = json.loads(r.read())["token"]
            c.request("GET", f"/v1/shipments/F-{i % 5000}?org=org-00&minToken={token}", headers=h)
            c.getresponse().read()
            with self.lock:
                self.samples.append(time.perf_counter() - t0)
            time.sleep(0.01)

    def take(self):
        with self.lock:
            s, self.samples = self.samples, []
        return s


def pct(samples, p):
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000


def run_op(c, headers, method, path):
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = json.loads(r.read())
    if r.status != 202:
        sys.exit(f"{path}: {r.status} {body}")
    op_id, t0 = body["id"], time.perf_counter()
    while True:
        c.request("GET", f"/admin/operations/{op_id}", headers=headers)
        op = json.loads(c.getresponse().read())
        if op["phase"] in ("done", "failed"):
            if op["phase"] == "failed":
                sys.exit(f"{path}: failed: {op.get('error')}")
            return time.perf_counter() - t0, op
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shipments", type=int, default=1000000)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--idle-seconds", type=float, default=10, help="baseline freshness window")
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    args = ap.parse_args()
    binary = os.path.join(args.build, "viya-mv")
    work = tempfile.mkdtemp(prefix="viya-mv-ops-bench-")
    data, export = os.path.join(work, "data"), os.path.join(work, "shipments.json")
    procs = []
    try:
        t = time.perf_counter()
        write_export(export, args.shipments)
        print(f"export written: {args.shipments} shipments, {os.path.getsize(export) / 1e6:.0f} MB, "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        subprocess.run([binary, "import", "--data", data, "--collection", "shipments", export],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import_s = time.perf_counter() - t
        key = subprocess.run([binary, "apikey", "create", "--data", data, "--admin"], check=True,
                             capture_output=True, text=True).stdout.strip()
        port = free_port()
        t = time.perf_counter()
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen([binary, "serve", "--data", data, "--http", f"127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)
        procs.append(server)
        wait_for(port, "/healthz", timeout=600)
        wait_for_ready(port, 3600)
        backfill_s = time.perf_counter() - t
        headers = {"Authorization": f"Bearer {key}"}
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

        fresh = Freshness(port, key)
        fresh.start()
        time.sleep(args.idle_seconds)
        idle = fresh.take()
        rows = []
        full_s, _ = run_op(c, headers, "POST", "/admin/rebuild")
        rows.append(("full rebuild (6 views)", full_s, args.shipments, fresh.take()))
        largest_s, op = run_op(c, headers, "POST", "/admin/rebuild?org=org-00")
        rows.append((f"rebuild of the largest org ({op['rowsDone']} shipments)", largest_s,
                     op["rowsDone"], fresh.take()))
        reconcile_s, op = run_op(c, headers, "POST", "/admin/reconcile")
        view_rows = sum(d["viewRows"] for d in op["drift"])
        rows.append((f"reconcile ({view_rows} rows)", reconcile_s, view_rows, fresh.take()))
        fresh.stop.set()
        fresh.join()
        rss = rss_mib(server.pid)

        n = args.shipments
        print(f"\nimport: {import_s:.1f} s ({n / import_s:,.0f} shipments/s)")
        print(f"backfill on serve (baseline: the stream waits): {backfill_s:.1f} s "
              f"= {backfill_s / n * 1e6:.1f} s per million")
        print(f"freshness with no operation (baseline): p50 {pct(idle, 50):.1f} ms, "
              f"p99 {pct(idle, 99):.1f} ms ({len(idle)} writes)")
        print(f"\n{'operation':<44} {'seconds':>8} {'per million':>12} {'vs backfill':>12} "
              f"{'fresh p50':>10} {'fresh p99':>10} {'p99 vs idle':>12}")
        for name, s, count, samples in rows:
            per = s / max(count, 1) * 1e6  # per million shipments (reconcile: rows)
            print(f"{name:<44} {s:8.1f} {per:12.1f} {s / backfill_s:12.2f} "
                  f"{pct(samples, 50):10.1f} {pct(samples, 99):10.1f} {pct(samples, 99) / pct(idle, 99):12.1f}")
        print(f"\nserver RSS at the end: {rss:.0f} MiB")
    finally:
        finish(procs, work, args.keep)


def wait_for_ready(port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("the views were not built in time")


if __name__ == "__main__":
    main()
