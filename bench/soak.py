#!/usr/bin/env python3
"""soak: viya-mv under a steady mixed load for a long time, watched from outside.

Starts `viya-mv serve` on a fresh data folder (127.0.0.1, a free port), loads --shipments
shipments in --orgs orgs, then for --minutes keeps --connections keep-alive connections
busy (each a thread with its own tenant key, paced to --rate requests/s in all): 70%
reads (live board, list pages, point reads, exception queue, daily metrics by day,
customer summary, each half the time with the ETag of the previous answer), 20% shipment
writes that move shipments through their lifecycle, 10% NDJSON tracking events. Every
--sample-seconds it prints one line: requests/s, latency p50/p99 of that window, errors,
the server's RSS, open file descriptors, views.db-wal size and the stream's lag.

Fails (exit 1) when any request fails (a status other than 200/304, a reset, a timeout),
when the server exits, or when a write is not visible within the server's
http.min_token_timeout_ms (read back with minToken; a 504 otherwise). RSS and WAL growth are reported, not judged: read the lines.

  bench/soak.py [--build=build/release] [--minutes=30] [--connections=200] [--rate=2000]
                [--shipments=20000] [--orgs=20] [--sample-seconds=30]
"""

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench_util import finish, free_port, rfc3339, rss_mib, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATUSES = ["booked", "picked_up", "in_transit", "out_for_delivery", "delivered"]
CODES = ["PU", "IT", "OFD", "DL", "EX", "SCAN"]


class Stats:
    """Latencies and failures of the current window; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = []
        self.total = 0

    def record(self, seconds):
        with self.lock:
            self.latencies.append(seconds)
            self.total += 1

    def fail(self, what):
        with self.lock:
            self.errors.append(what)
            self.total += 1

    def take(self):
        with self.lock:
            lat, self.latencies = self.latencies, []
            return lat


def shipment(sid, rng, status, now):
    created = now - rng.randrange(30 * 86400)
    return {"id": sid, "reference": f"PO-{rng.randrange(10**6)}",
            "customerId": f"C-{rng.randrange(200)}", "carrierId": rng.choice(["dhl", "ups", "gls"]),
            "service": "standard", "status": status, "statusChangedAt": rfc3339(now),
            "origin": {"country": "NL"}, "destination": {"country": rng.choice(["DE", "BR", "US"])},
            "weightKg": 1.5, "declaredValue": 10.0, "currency": "EUR",
            "createdAt": rfc3339(created), "promisedDeliveryAt": rfc3339(created + 5 * 86400)}


class Worker(threading.Thread):
    """One keep-alive connection of one tenant, issuing the mix at its share of the rate."""

    def __init__(self, port, key, org, ids, rate, stop, stats, seed):
        super().__init__(daemon=True)
        self.port, self.key, self.org, self.ids = port, key, org, ids
        self.interval = 1.0 / rate
        self.stop, self.stats = stop, stats
        self.rng = random.Random(seed)
        self.etags = {}
        self.conn = None
        self.serial = 0

    def request(self, method, path, body=None, content_type="application/json", etag=None):
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = content_type
        if etag:
            headers["If-None-Match"] = etag
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, r.getheader("ETag"), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # The server may close an idle keep-alive connection (http.idle_timeout_ms)
                # just as a request goes out; a client retries that once on a new one.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise e

    def one(self):
        r = self.rng.random()
        now = int(time.time())
        if r < 0.2:
            sid = self.rng.choice(self.ids)
            doc = shipment(sid, self.rng, self.rng.choice(STATUSES), now)
            status, _, data = self.request("POST", "/v1/shipments", json.dumps(doc))
            if status != 200:
                return f"POST /v1/shipments: {status} {data[:200]!r}"
            token = json.loads(data)["token"]
            status, _, data = self.request("GET", f"/v1/shipments/{sid}?minToken={token}")
            if status != 200:
                return f"read-back of {sid} at token {token}: {status} {data[:200]!r}"
            return None
        if r < 0.3:
            lines = []
            for _ in range(5):
                self.serial += 1
                lines.append(json.dumps({"eventId": f"E-{self.name}-{self.serial}",
                                         "shipmentId": self.rng.choice(self.ids), "carrierId": "dhl",
                                         "code": self.rng.choice(CODES),
                                         "occurredAt": rfc3339(now - self.rng.randrange(86400)),
                                         "location": "Utrecht"}))
            status, _, data = self.request("POST", "/v1/tracking-events", "\n".join(lines),
                                           "application/x-ndjson")
            return None if status == 200 else f"POST /v1/tracking-events: {status} {data[:200]!r}"
        path = self.rng.choice([
            "/v1/ops/realtime", "/v1/shipments?limit=50", "/v1/shipments?status=in_transit&limit=20",
            f"/v1/shipments/{self.rng.choice(self.ids)}", "/v1/exceptions?limit=50",
            "/v1/metrics/daily?groupBy=day", "/v1/customers/summary?limit=20"])
        etag = self.etags.get(path) if self.rng.random() < 0.5 else None
        status, new_etag, data = self.request("GET", path, etag=etag)
        if status == 304 and etag:
            return None
        if status != 200:
            return f"GET {path}: {status} {data[:200]!r}"
        if new_etag:
            self.etags[path] = new_etag
        return None

    def run(self):
        due = time.monotonic() + self.rng.random() * self.interval
        while not self.stop.is_set():
            time.sleep(max(0.0, due - time.monotonic()))
            due += self.interval
            started = time.monotonic()
            try:
                problem = self.one()
            except Exception as e:  # a reset, a timeout: the soak records it
                problem = f"{type(e).__name__}: {e}"
                if self.conn:
                    self.conn.close()
                self.conn = None
            if problem:
                self.stats.fail(problem)
            else:
                self.stats.record(time.monotonic() - started)
            if due < time.monotonic() - 1.0:
                due = time.monotonic()  # behind by more than a second: do not burst


def proc_sample(pid, data):
    """(RSS MiB, open file descriptors, views.db-wal MB) of the server."""
    wal = os.path.join(data, "views.db-wal")
    return (rss_mib(pid), len(os.listdir(f"/proc/{pid}/fd")),
            (os.path.getsize(wal) if os.path.exists(wal) else 0) / 1e6)


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    values = [float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.M)]
    return max(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--rate", type=float, default=2000, help="requests/s over all connections")
    ap.add_argument("--shipments", type=int, default=20000)
    ap.add_argument("--orgs", type=int, default=20)
    ap.add_argument("--sample-seconds", type=float, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    args = ap.parse_args()
    binary = os.path.join(args.build, "viya-mv")
    data = tempfile.mkdtemp(prefix="viya-mv-soak-")
    server = None
    try:
        orgs = [f"org-{k:02d}" for k in range(args.orgs)]
        keys = {o: subprocess.run([binary, "apikey", "create", "--data", data, "--org", o],
                                  check=True, capture_output=True, text=True).stdout.split()[-1]
                for o in orgs}
        port = free_port()
        log = open(os.path.join(data, "serve.log"), "w")
        server = subprocess.Popen([binary, "serve", "--data", data, "--http", f"127.0.0.1:{port}"],
                                  stdout=log, stderr=log)
        wait_for(port)
        rng = random.Random(7)
        ids = {o: [f"S-{n:06d}" for n in range(max(1, args.shipments // args.orgs))] for o in orgs}
        now = int(time.time())
        for o in orgs:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for first in range(0, len(ids[o]), 2000):
                docs = [shipment(s, rng, "booked", now) for s in ids[o][first:first + 2000]]
                c.request("POST", "/v1/shipments", body=json.dumps(docs),
                          headers={"Authorization": f"Bearer {keys[o]}",
                                   "Content-Type": "application/json"})
                r = c.getresponse()
                if r.status != 200:
                    sys.exit(f"soak: loading {o}: {r.status} {r.read()[:200]!r}")
                r.read()
        print(f"soak: {args.shipments} shipments loaded; {args.connections} connections, "
              f"{args.rate:.0f} requests/s offered, {args.minutes} min", flush=True)

        stop = threading.Event()
        stats = Stats()
        workers = [Worker(port, keys[orgs[i % len(orgs)]], orgs[i % len(orgs)],
                          ids[orgs[i % len(orgs)]], args.rate / args.connections, stop, stats, i)
                   for i in range(args.connections)]
        for w in workers:
            w.start()
        started = time.time()
        end = started + args.minutes * 60
        first_rss = None
        errors_seen = 0
        print("  min  req/s   p50 ms   p99 ms  errors  RSS MiB  fds  WAL MB  lag events", flush=True)
        while time.time() < end:
            time.sleep(min(args.sample_seconds, max(0.1, end - time.time())))
            if server.poll() is not None:
                stop.set()
                sys.exit(f"soak: the server exited with {server.returncode} (log: {data}/serve.log)")
            lat = sorted(stats.take())
            rss, fds, wal = proc_sample(server.pid, data)
            first_rss = first_rss or rss
            with stats.lock:
                errors = len(stats.errors)
            p50 = statistics.median(lat) * 1e3 if lat else float("nan")
            p99 = lat[int(len(lat) * 0.99)] * 1e3 if lat else float("nan")
            print(f"{(time.time() - started) / 60:5.1f} {len(lat) / args.sample_seconds:6.0f} "
                  f"{p50:8.2f} {p99:8.2f} {errors:7d} {rss:8.0f} {fds:4d} {wal:7.1f} "
                  f"{metric(port, 'viya_mv_change_stream_lag_events'):11.0f}", flush=True)
            for e in stats.errors[errors_seen:errors_seen + 5]:
                print(f"    error: {e}", flush=True)
            errors_seen = errors
        stop.set()
        for w in workers:
            w.join(timeout=15)
        rss, fds, wal = proc_sample(server.pid, data)
        print(f"soak: {stats.total} requests, {len(stats.errors)} failed; RSS {first_rss:.0f} -> "
              f"{rss:.0f} MiB; views.db-wal {wal:.1f} MB", flush=True)
        server.terminate()
        rc = server.wait(timeout=60)
        server = None
        if rc != 0:
            sys.exit(f"soak: the server exited with {rc} on SIGTERM")
        if stats.errors:
            sys.exit(1)
    finally:
        finish([server] if server else [], data, args.keep)


if __name__ == "__main__":
    main()
