#!/usr/bin/env python3
"""viya-mv's alert rules against a REAL Prometheus scraping REAL viya-mv processes.

    prometheus_test.py --binary PATH [--prometheus PATH] [--keep]

Starts, in a temp dir, on 127.0.0.1 and free ports:
  - viya-mv `serve --role worker` (W) and `serve --role api` (A) on one embedded data
    folder, as the README's "Roles" describes; the scheduled jobs are off (a daily
    reconcile or refresh would repair the drift of phase 3 behind the test's back, and
    oplog pruning writes source.db, which a SIGSTOPped worker could hold locked);
  - Prometheus (scrape and evaluation every 1 s, job `viya-mv`, both processes as
    targets) with a time-scaled copy of deploy/prometheus/viya-mv-rules.yml, checked
    with `promtool check rules` first.
A writer thread writes shipments and carrier events through the keep-alive HTTP API,
spread over W and A as the Service spreads them over every pod (A only while W is down).

Scenario (every alert is read from Prometheus's /api/v1/alerts, every value from
/api/v1/query):
  1. Healthy: writes flow, no alert fires, viya_mv_events_applied_total > 0 scraped.
  2a. Worker process down: SIGSTOP W while A keeps taking writes. Expected firing:
      MvWorkerDown on W (up == 0), MvStalenessHigh and MvCheckpointStalled on A (which
      reads the same checkpoint and sees its writes wait). MvChangeStreamStopped has no
      input here (W is not scraped, A exports no viya_mv_events_applied_total).
      SIGCONT W: every alert resolves.
  2b. Worker alive, stream stuck: the test holds the write lock of views.db (as a
      stuck storage would), writes go on through A only. Expected firing on W:
      MvChangeStreamStopped (nothing applied for the window while changes wait),
      MvWorkerDown (viya_mv_worker_up 0 while the worker retries), MvStalenessHigh; and
      MvStalenessHigh on A. Releasing the lock resolves them.
      The worker never wrote these changes itself: its lag gauges must count what
      another process wrote to the source.
  3. Drift: half of the live mv_daily_metrics rows get wrong counts, written straight
      into views.db; POST /admin/reconcile?repair=false on the worker; expect
      viya_mv_drift_ratio{mv="mv_daily_metrics"} > 0.01 and MvDriftHigh firing. Then a
      reconcile with repair=true (it reports the rows repaired), then, as the runbook
      mv-drift-high.md says under "Verify", a compare-only reconcile: the gauge reads 0
      and the alert resolves (a repairing run keeps reporting the drift it found).
  -  The dashboard: tests/deploy/dashboard_queries.py --require-data against this
      Prometheus, while the writes still flow.
  4. Writes stop: lag events, lag seconds, checkpoint age and every staleness series of
     both processes read 0, and no alert is left.

Duration mapping (the rules' literals are scaled uniformly by 1/60, 1 minute -> 1 second):
    every range `[5m]`, `[10m]`, `[15m]` -> `[5s]`, `[10s]`, `[15s]`; every `offset 5m`,
    `offset 10m` -> `offset 5s`, `offset 10s`; every `for: 1m`, `for: 2m` -> `for: 1s`,
    `for: 2s`; the threshold in seconds of MvCheckpointStalled, 600 -> 10.
    A range must come out at least 4 scrape intervals (4 s) long, or rate()/increase()/
    *_over_time() see too few samples: the rewrite refuses a rule that breaks this, and
    a numeric threshold in seconds that is not listed in SECONDS_THRESHOLDS below is not
    scaled (add it there). The staleness target (viya_mv_staleness_target_seconds,
    metrics.staleness_target_ms, 1 s) is configuration, not a rule literal, and stays:
    MvStalenessHigh fires above 2 s for 2 s.

Exit 0 on success, 1 on failure (with the Prometheus alerts, the last /metrics of each
viya-mv process and the tail of the logs). Without the prometheus binary it fails, unless
VIYA_MV_ALLOW_SKIP=1, when it prints `SKIPPED: <why>` and exits 0. Every process it
started is stopped on every path (also Ctrl-C, SIGTERM, and the test's own death through
PR_SET_PDEATHSIG); the temp dir is removed unless --keep. Python 3 standard library and
PyYAML.
"""

import argparse
import ctypes
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

import yaml

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(REPO, "deploy", "prometheus", "viya-mv-rules.yml")
DASHBOARD_CHECK = os.path.join(REPO, "tests", "deploy", "dashboard_queries.py")
DEFAULT_PROMETHEUS = os.path.join(REPO, "build", "tools", "bin", "prometheus")

JOB = "viya-mv"
SCRAPE_INTERVAL_S = 1
TIME_SCALE = 60  # a duration of the rules is divided by this: 1 minute -> 1 second
MIN_RANGE_MS = 4 * SCRAPE_INTERVAL_S * 1000
# Numbers in an alert's expr that are seconds, scaled like durations: alert -> a regex
# whose group 2 is the number (each must match exactly once).
SECONDS_THRESHOLDS = {
    "MvCheckpointStalled": r"(viya_mv_checkpoint_age_seconds\s*>\s*)(\d+(?:\.\d+)?)",
}

VIYA_MV_CONFIG = """\
# prometheus_test: no scheduled job (the test drives reconciliations itself).
[jobs]
reconcile = "off"
daily_metrics_refresh = "off"
oplog_prune = "off"
orphan_tracking = "off"
retired_views = "off"

[http]
drain_timeout_ms = 2000
"""

DRIFT_RATIO = f'viya_mv_drift_ratio{{job="{JOB}", mv="mv_daily_metrics"}}'
WRITE_INTERVAL_S = 0.1
STOP_GRACE_S = 5


class TestFailure(Exception):
    pass


class Interrupted(Exception):
    pass


START = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


# ---------------------------------------------------------------------------------------
# The rules, time-scaled

UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
           "w": 604_800_000, "y": 31_536_000_000}
DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
STRING_LITERAL = re.compile(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`)")


def duration_ms(text):
    return sum(int(n) * UNIT_MS[unit] for n, unit in re.findall(r"(\d+)(ms|[smhdwy])", text))


def format_ms(ms):
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def scale_duration(text, where):
    ms = duration_ms(text)
    if ms % TIME_SCALE:
        raise TestFailure(f"{where}: {text} does not divide by {TIME_SCALE}")
    return format_ms(ms // TIME_SCALE)


def scale_expr(expr, alert, changes):
    """The expr with every range and offset scaled; string literals are left alone."""

    def scale_range(match):
        inner = match.group(1)
        scaled = re.sub(DURATION, lambda d: scale_duration(d.group(0), alert), inner)
        if duration_ms(scaled.split(":")[0]) < MIN_RANGE_MS:
            raise TestFailure(f"{alert}: range [{inner}] scales to [{scaled}], shorter than "
                              f"4 scrape intervals ({format_ms(MIN_RANGE_MS)})")
        changes.append(f"[{inner}] -> [{scaled}]")
        return f"[{scaled}]"

    def scale_offset(match):
        scaled = scale_duration(match.group(2), alert)
        changes.append(f"offset {match.group(2)} -> {scaled}")
        return f"{match.group(1)}{scaled}"

    pieces = STRING_LITERAL.split(expr)
    for i in range(0, len(pieces), 2):  # odd pieces are string literals
        piece = re.sub(r"\[([^\]]*)\]", scale_range, pieces[i])
        pieces[i] = re.sub(r"(\boffset\s+-?)(" + DURATION + r")", scale_offset, piece)
    return "".join(pieces)


def scale_threshold(expr, alert, changes):
    pattern = SECONDS_THRESHOLDS.get(alert)
    if pattern is None:
        return expr
    matches = list(re.finditer(pattern, expr))
    if len(matches) != 1:
        raise TestFailure(f"{alert}: the threshold pattern {pattern!r} matched "
                          f"{len(matches)} times in its expr (want 1): update "
                          "SECONDS_THRESHOLDS")
    number = float(matches[0].group(2)) / TIME_SCALE
    text = f"{number:g}"
    changes.append(f"threshold {matches[0].group(2)} s -> {text} s")
    return expr[:matches[0].start(2)] + text + expr[matches[0].end(2):]


class BlockStyleDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so that a kept rules file reads like the source."""


BlockStyleDumper.add_representer(
    str, lambda dumper, s: dumper.represent_scalar(
        "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def scale_rules(source, target):
    """Writes the time-scaled rules to target; returns {alert: [changes]}."""
    with open(source) as f:
        doc = yaml.safe_load(f)
    report = {}
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record")
            changes = []
            rule["expr"] = scale_threshold(scale_expr(str(rule["expr"]), name, changes),
                                           name, changes)
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    scaled = scale_duration(str(rule[key]), name)
                    changes.append(f"{key}: {rule[key]} -> {scaled}")
                    rule[key] = scaled
            report[name] = changes
    with open(target, "w") as f:
        yaml.dump(doc, f, Dumper=BlockStyleDumper, sort_keys=False, width=100)
    return report


# ---------------------------------------------------------------------------------------
# Processes

def die_with_parent():
    """In the child: SIGKILL it when the test dies, however it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Processes:
    """The processes the test started, by name; stops them all on every path."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = {}
        self.logs = {}
        self.paused = set()

    def start(self, name, argv):
        path = os.path.join(self.workdir, f"{name}.log")
        with open(path, "ab") as out:
            self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, cwd=self.workdir,
                                                preexec_fn=die_with_parent)
        self.logs[name] = path
        return self.procs[name]

    def check_running(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise TestFailure(f"{name} exited with status {proc.returncode}; see its log "
                                  "below")

    def pause(self, name):
        self.procs[name].send_signal(signal.SIGSTOP)
        self.paused.add(name)

    def resume(self, name):
        self.procs[name].send_signal(signal.SIGCONT)
        self.paused.discard(name)

    def stop(self, name):
        proc = self.procs[name]
        if proc.poll() is not None:
            return
        if name in self.paused:
            self.resume(name)
        proc.terminate()
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self):
        for name in reversed(list(self.procs)):
            self.stop(name)

    def tail(self, name, lines=40):
        try:
            with open(self.logs[name], errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return f"(cannot read {self.logs.get(name)}: {e})"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------
# HTTP

class ViyaClient:
    """One keep-alive connection to a viya-mv process; not thread-safe (one per thread)."""

    def __init__(self, port, key, org=None, timeout=5):
        self.port = port
        self.key = key
        self.org = org  # named with ?org= (an admin key acting for an org)
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None):
        """(status, parsed JSON or raw text); retries once on a dropped keep-alive."""
        if self.org:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode({"org": self.org})
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            _, body = http_get(url)
        except urllib.error.HTTPError as e:
            body = e.read()
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise TestFailure(f"Prometheus {path} {params}: {answer.get('error')}")
        return answer["data"]

    def query(self, expr):
        """The instant vector of expr: [(labels, float value)]."""
        result = self.api("query", query=expr)["result"]
        return [(r["metric"], float(r["value"][1])) for r in result]

    def alerts(self):
        return self.api("alerts")["alerts"]

    def targets_up(self):
        return {t["labels"]["instance"]: t["health"] for t in self.api("targets")["activeTargets"]}


def wait_for(what, check, timeout, interval=0.25):
    """check()'s first truthy result; TestFailure naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError, http.client.HTTPException) as e:
            last_error = e
        if time.monotonic() >= deadline:
            note = f" (last error: {last_error})" if last_error else ""
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}{note}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------
# The writer

CARRIERS = ["dhl", "ups", "postnl"]
SERVICES = ["express", "standard"]
LANES = [("NL", "DE"), ("DE", "FR"), ("BE", "NL")]
LIFECYCLE = ["booked", "picked_up", "in_transit", "delivered"]


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Workload:
    """Shipments moving through their lifecycle, and carrier events, for one org."""

    def __init__(self, org):
        self.org = org
        self.shipments = {}  # id -> document as last written
        self.count = 0

    def next_write(self):
        """(path, body) of the next write."""
        self.count += 1
        n = self.count
        if n % 5 == 0 and self.shipments:
            return "/v1/tracking-events", self.tracking_event(n)
        if n % 3 == 0 and self.shipments:
            return "/v1/shipments", self.advance(n)
        return "/v1/shipments", self.new_shipment(n)

    def new_shipment(self, n):
        created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=n % 7)
        origin, destination = LANES[n % len(LANES)]
        doc = {"id": f"{self.org}-S{n}", "reference": f"PO-{n}", "customerId": f"C-{n % 4}",
               "carrierId": CARRIERS[n % len(CARRIERS)], "service": SERVICES[n % len(SERVICES)],
               "status": "booked", "origin": {"country": origin},
               "destination": {"country": destination}, "weightKg": 1 + n % 5,
               "declaredValue": 10 * (1 + n % 9), "currency": "EUR",
               "createdAt": rfc3339(created),
               "promisedDeliveryAt": rfc3339(created + datetime.timedelta(days=3))}
        self.shipments[doc["id"]] = doc
        return doc

    def advance(self, n):
        ids = sorted(self.shipments)
        doc = dict(self.shipments[ids[n % len(ids)]])
        step = LIFECYCLE.index(doc["status"]) + 1 if doc["status"] in LIFECYCLE else 0
        doc["status"] = LIFECYCLE[step % len(LIFECYCLE)]
        now = rfc3339(datetime.datetime.now(datetime.timezone.utc))
        if doc["status"] == "picked_up":
            doc["pickedUpAt"] = now
        if doc["status"] == "delivered":
            doc["deliveredAt"] = now
        self.shipments[doc["id"]] = doc
        return doc

    def tracking_event(self, n):
        ids = sorted(self.shipments)
        shipment = self.shipments[ids[n % len(ids)]]
        return {"eventId": f"E-{n}", "shipmentId": shipment["id"],
                "carrierId": shipment["carrierId"], "code": "IT",
                "occurredAt": rfc3339(datetime.datetime.now(datetime.timezone.utc)),
                "location": "Hub"}


class Writer(threading.Thread):
    """Writes every WRITE_INTERVAL_S, round robin over the processes it is told to use."""

    def __init__(self, clients_by_process):
        super().__init__(name="writer", daemon=True)
        self.clients = clients_by_process  # process -> [(org, ViyaClient acting for it)]
        orgs = {org for clients in clients_by_process.values() for org, _ in clients}
        self.workloads = {org: Workload(org) for org in orgs}
        self.processes = []
        self.generation = 0
        self.acked = 0
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.sent = {process: 0 for process in clients_by_process}
        self.ok = 0
        self.failed = 0
        self.errors = []  # the first few failures

    def use(self, processes, timeout=15):
        """Writes go to these processes from now on; returns once no write is in flight
        to another one."""
        with self.cond:
            self.processes = list(processes)
            self.generation += 1
            wanted = self.generation
            if not self.cond.wait_for(lambda: self.acked >= wanted or not self.is_alive(),
                                      timeout):
                raise TestFailure(f"the writer did not switch to {processes} in {timeout} s")

    def stop(self):
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        if self.is_alive():
            self.join(15)

    def check(self):
        if self.failed:
            raise TestFailure(f"{self.failed} writes failed ({self.ok} succeeded); first: "
                              f"{self.errors[0]}")
        if not self.is_alive() and not self.stopping.is_set():
            raise TestFailure("the writer thread died (see its traceback above)")

    def run(self):
        turn = 0
        while not self.stopping.is_set():
            with self.cond:
                processes, self.acked = self.processes, self.generation
                self.cond.notify_all()
            if processes:
                self.write_once(processes[turn % len(processes)])
                turn += 1
            self.stopping.wait(WRITE_INTERVAL_S)
        for clients in self.clients.values():
            for _, client in clients:
                client.close()

    def write_once(self, process):
        """One write through process, for each org in turn."""
        clients = self.clients[process]
        org, client = clients[self.sent[process] % len(clients)]
        self.sent[process] += 1
        path, body = self.workloads[org].next_write()
        try:
            status, answer = client.request("POST", path, body)
        except (OSError, http.client.HTTPException) as e:
            status, answer = None, repr(e)
        if status == 200:
            self.ok += 1
            return
        self.failed += 1
        if len(self.errors) < 5:
            self.errors.append(f"POST {path} via {process} (org {org}): {status} {answer}")


# ---------------------------------------------------------------------------------------
# The scenario

class Scenario:
    def __init__(self, binary, prometheus, workdir):
        self.binary = binary
        self.prometheus_bin = prometheus
        self.promtool = os.path.join(os.path.dirname(prometheus), "promtool")
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.procs = Processes(workdir)
        self.ports = {"worker": free_port(), "api": free_port(), "prometheus": free_port()}
        self.instance = {name: f"127.0.0.1:{self.ports[name]}" for name in ("worker", "api")}
        self.prom = Prometheus(self.ports["prometheus"])
        self.keys = {}
        self.writer = None
        self.views_lock = None

    # --- set-up ------------------------------------------------------------------------

    def run_tool(self, argv, what, timeout=60):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                cwd=self.workdir)
        if result.returncode != 0:
            raise TestFailure(f"{what} failed ({result.returncode}):\n{result.stdout}"
                              f"{result.stderr}")
        return result.stdout

    def create_keys(self):
        os.makedirs(self.data)
        for name, flags in (("acme", ["--org", "acme"]), ("admin", ["--admin", "--name", "ops"])):
            out = self.run_tool([self.binary, "apikey", "create", "--data", self.data, *flags],
                                f"viya-mv apikey create {' '.join(flags)}")
            self.keys[name] = out.strip().splitlines()[-1].strip()

    def start_viya_mv(self):
        config = os.path.join(self.workdir, "viya-mv.toml")
        with open(config, "w") as f:
            f.write(VIYA_MV_CONFIG)
        for role in ("worker", "api"):  # a replica starts once a worker made the views
            self.procs.start(role, [self.binary, "serve", "--role", role, "--data", self.data,
                                    "--http", self.instance[role], "--config", config])
            self.wait(f"viya-mv {role} to answer /readyz 200",
                      lambda role=role: self.ready(role), timeout=30)

    def ready(self, role):
        try:
            status, _ = http_get(f"http://{self.instance[role]}/readyz", timeout=2)
        except urllib.error.HTTPError:
            return False
        return status == 200

    def write_prometheus_files(self):
        rules = os.path.join(self.workdir, "viya-mv-rules.yml")
        for alert, changes in scale_rules(RULES, rules).items():
            log(f"rules: {alert}: {', '.join(changes) or 'no duration'}")
        self.run_tool([self.promtool, "check", "rules", rules], "promtool check rules")
        config = {
            "global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                       "scrape_timeout": f"{SCRAPE_INTERVAL_S}s",
                       "evaluation_interval": f"{SCRAPE_INTERVAL_S}s"},
            "rule_files": [rules],
            "scrape_configs": [{"job_name": JOB, "static_configs": [
                {"targets": [self.instance["worker"], self.instance["api"]]}]}],
        }
        path = os.path.join(self.workdir, "prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        self.run_tool([self.promtool, "check", "config", path], "promtool check config")
        return path

    def start_prometheus(self):
        config = self.write_prometheus_files()
        self.procs.start("prometheus", [
            self.prometheus_bin, f"--config.file={config}",
            f"--storage.tsdb.path={os.path.join(self.workdir, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{self.ports['prometheus']}"])
        self.wait("Prometheus to be ready", self.prometheus_ready, timeout=30)
        both_up = {(self.instance["worker"], "up"), (self.instance["api"], "up")}
        self.wait("Prometheus to scrape both viya-mv targets up",
                  lambda: set(self.prom.targets_up().items()) >= both_up, timeout=15)

    def prometheus_ready(self):
        try:
            return http_get(f"{self.prom.base}/-/ready", timeout=2)[0] == 200
        except urllib.error.HTTPError:
            return False

    def start_writer(self):
        def clients(process):  # acme with its tenant key, globex with the admin key
            port = self.ports[process]
            return [("acme", ViyaClient(port, self.keys["acme"])),
                    ("globex", ViyaClient(port, self.keys["admin"], org="globex"))]

        self.writer = Writer({"worker": clients("worker"), "api": clients("api")})
        self.writer.start()

    def wait(self, what, check, timeout, interval=0.25):
        """wait_for(), failing at once when a process the test started has exited."""

        def checked():
            self.procs.check_running()
            return check()

        return wait_for(what, checked, timeout, interval)

    # --- alerts ------------------------------------------------------------------------

    def active_alerts(self, state=None):
        return [a for a in self.prom.alerts() if state is None or a["state"] == state]

    def expect_firing(self, expected, timeout):
        """Waits until each (alertname, process) has been seen firing."""
        seen = set()

        def all_seen():
            for a in self.active_alerts("firing"):
                for name, process in expected:
                    if (a["labels"].get("alertname") == name
                            and a["labels"].get("instance") == self.instance[process]):
                        seen.add((name, process))
            return seen >= set(expected)

        try:
            self.wait("alerts firing", all_seen, timeout, interval=0.5)
        except TestFailure as e:
            missing = [f"{n} on {p}" for n, p in expected if (n, p) not in seen]
            raise TestFailure(f"{e}: never saw {', '.join(missing)} firing (saw: "
                              f"{', '.join(f'{n} on {p}' for n, p in sorted(seen)) or 'none'})")
        log("firing: " + ", ".join(sorted(f"{n} on {p}" for n, p in seen)))

    def expect_all_clear(self, timeout):
        """Waits until no alert is pending or firing."""
        self.wait("every alert to resolve", lambda: not self.active_alerts(), timeout,
                  interval=0.5)
        log("no alert pending or firing")

    def expect_none_firing_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.procs.check_running()
            firing = self.active_alerts("firing")
            if firing:
                raise TestFailure("alerts fired on a healthy system: " + ", ".join(
                    f"{a['labels'].get('alertname')} on {a['labels'].get('instance')}"
                    for a in firing))
            time.sleep(0.5)

    # --- phases ------------------------------------------------------------------------

    def phase_healthy(self):
        log("phase 1: healthy, writes through the worker and the replica")
        self.writer.use(["worker", "api"])
        # The window of MvChangeStreamStopped (5 s) plus a few evaluations.
        self.expect_none_firing_for(8)
        applied = self.prom.query(f'viya_mv_events_applied_total{{job="{JOB}"}}')
        if not applied or max(v for _, v in applied) <= 0:
            raise TestFailure(f"viya_mv_events_applied_total scraped: {applied}, want > 0")
        log(f"viya_mv_events_applied_total = {max(v for _, v in applied):g}")
        self.writer.check()

    def phase_worker_stopped(self):
        log("phase 2a: the worker process stopped (SIGSTOP), writes through the replica")
        self.writer.use(["api"])
        self.procs.pause("worker")
        self.expect_firing([("MvWorkerDown", "worker"), ("MvStalenessHigh", "api"),
                            ("MvCheckpointStalled", "api")], timeout=40)
        log("resuming the worker (SIGCONT)")
        self.procs.resume("worker")
        self.expect_all_clear(timeout=20)
        self.writer.check()

    def phase_stream_stuck(self):
        log("phase 2b: the worker runs, its stream is stuck (views.db write-locked)")
        self.writer.use(["api"])
        self.views_lock = sqlite3.connect(os.path.join(self.data, "views.db"), timeout=10,
                                          isolation_level=None)
        self.views_lock.execute("BEGIN IMMEDIATE")
        self.expect_firing([("MvChangeStreamStopped", "worker"), ("MvWorkerDown", "worker"),
                            ("MvStalenessHigh", "worker"), ("MvStalenessHigh", "api")],
                           timeout=30)
        log("releasing the lock of views.db")
        self.release_views_lock()
        self.expect_all_clear(timeout=20)
        self.writer.check()

    def release_views_lock(self):
        if self.views_lock is not None:
            try:
                self.views_lock.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self.views_lock.close()
            self.views_lock = None

    def phase_drift(self):
        log("phase 3: drift in mv_daily_metrics")
        table, rows, corrupted = self.corrupt_daily_metrics()
        log(f"corrupted {corrupted} of {rows} rows of {table}")
        admin = ViyaClient(self.ports["worker"], self.keys["admin"])
        try:
            found = self.reconcile(admin, repair=False)
            if not found.get("mv_daily_metrics"):
                raise TestFailure(f"reconcile found no drift in mv_daily_metrics: {found}")
            self.wait(f"{DRIFT_RATIO} > 0.01 in Prometheus",
                      lambda: self.prom.query(f"{DRIFT_RATIO} > 0.01"), timeout=15)
            self.expect_firing([("MvDriftHigh", "worker")], timeout=15)
            self.reconcile(admin, repair=True)
            # The runbook's "Verify": a compare-only run measures the view clean again.
            left = self.reconcile(admin, repair=False)
            if any(left.values()):
                raise TestFailure(f"drift left after the repair: {left}")
        finally:
            admin.close()
        self.wait(f"{DRIFT_RATIO} == 0 in Prometheus",
                  lambda: [v for _, v in self.prom.query(DRIFT_RATIO)] == [0.0], timeout=15)
        self.expect_all_clear(timeout=20)
        self.writer.check()

    def corrupt_daily_metrics(self):
        """Adds 1000 to the shipments of half the live mv_daily_metrics rows."""
        db = sqlite3.connect(os.path.join(self.data, "views.db"), timeout=10)
        try:
            (table,), = db.execute("SELECT physical_table FROM mv_catalog "
                                   "WHERE view = 'mv_daily_metrics' AND state = 'live'")
            key = ", ".join(row[1] for row in sorted(db.execute(f"PRAGMA table_info({table})"),
                                                     key=lambda r: r[5]) if row[5] > 0)
            (rows,), = db.execute(f"SELECT count(*) FROM {table}")
            if rows < 2:
                raise TestFailure(f"{table} has {rows} rows: the writes did not reach it")
            with db:
                cursor = db.execute(
                    f"UPDATE {table} SET shipments = shipments + 1000 WHERE ({key}) IN "
                    f"(SELECT {key} FROM {table} ORDER BY {key} LIMIT ?)", (rows // 2,))
            return table, rows, cursor.rowcount
        finally:
            db.close()

    def reconcile(self, admin, repair):
        """Runs a reconciliation of everything on the worker; {view: rows mismatched}."""
        status, op = admin.request("POST", f"/admin/reconcile?repair={str(repair).lower()}")
        if status != 202:
            raise TestFailure(f"POST /admin/reconcile?repair={repair}: {status} {op}")
        done = self.wait(f"operation {op['id']} to finish",
                         lambda: self.finished_operation(admin, op["id"]), timeout=30,
                         interval=0.2)
        if done["phase"] != "done":
            raise TestFailure(f"reconcile {op['id']} failed: {done}")
        mismatched = {}
        for entry in done.get("drift") or []:
            mismatched[entry["view"]] = mismatched.get(entry["view"], 0) + entry["mismatched"]
            if repair and entry["mismatched"] and not entry["repaired"]:
                raise TestFailure(f"reconcile with repair left {entry} unrepaired")
        drifted = {view: n for view, n in mismatched.items() if n}
        log(f"reconcile {op['id']} (repair={str(repair).lower()}): mismatched "
            f"{drifted or 'nothing'}")
        return mismatched

    @staticmethod
    def finished_operation(admin, op_id):
        status, op = admin.request("GET", f"/admin/operations/{op_id}")
        if status != 200:
            raise TestFailure(f"GET /admin/operations/{op_id}: {status} {op}")
        return op if op["phase"] in ("done", "failed") else None

    def check_dashboard(self):
        log("the dashboard's queries against this Prometheus (--require-data)")
        result = subprocess.run([sys.executable, DASHBOARD_CHECK, "--prometheus",
                                 self.prom.base, "--require-data"],
                                capture_output=True, text=True, timeout=120)
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            raise TestFailure(f"dashboard_queries.py failed:\n{output}")
        log(output)

    def phase_caught_up(self):
        log("phase 4: writes stop; lag and staleness go back to 0")
        self.writer.use([])
        self.writer.check()
        stopped = time.time()
        for metric in ("viya_mv_change_stream_lag_events", "viya_mv_change_stream_lag_seconds",
                       "viya_mv_checkpoint_age_seconds", "viya_mv_staleness_seconds"):
            self.wait(f"{metric} scraped at 0 on both processes after the writes stopped",
                      lambda metric=metric: self.all_zero_since(metric, stopped), timeout=15)
        self.expect_all_clear(timeout=15)

    def all_zero_since(self, metric, since):
        """Every series of metric reads 0 on both processes, scraped after `since`."""
        selector = f'{metric}{{job="{JOB}"}}'
        series = self.prom.query(selector)
        scraped = [t for _, t in self.prom.query(f"timestamp({selector})")]
        instances = {labels["instance"] for labels, _ in series}
        return (instances == set(self.instance.values()) and scraped and min(scraped) > since
                and all(value == 0 for _, value in series))

    # --- the whole run -----------------------------------------------------------------

    def run(self):
        self.create_keys()
        self.start_viya_mv()
        self.start_prometheus()
        self.start_writer()
        self.phase_healthy()
        self.phase_worker_stopped()
        self.phase_stream_stuck()
        self.phase_drift()
        self.check_dashboard()
        self.phase_caught_up()
        log(f"{self.writer.ok} writes, none failed")

    def cleanup(self):
        if self.writer is not None:
            self.writer.stop()
        self.release_views_lock()
        self.procs.stop_all()

    def diagnostics(self):
        """What to look at after a failure, as it stands (cleanup() comes after); never
        raises."""
        out = []
        try:
            out.append("Prometheus alerts:\n" + json.dumps(self.prom.alerts(), indent=1))
        except Exception as e:  # noqa: BLE001 - diagnostics must not hide the failure
            out.append(f"Prometheus alerts: unavailable ({e})")
        for role in ("worker", "api"):
            out.append(f"/metrics of viya-mv {role} ({self.instance[role]}), buckets left out:\n"
                       + self.metrics_text(role))
        for name in self.procs.procs:
            out.append(f"tail of the {name} log ({self.procs.logs[name]}):\n"
                       + self.procs.tail(name))
        return "\n\n".join(out)

    def metrics_text(self, role):
        if role in self.procs.paused:
            return "(not fetched: the process is stopped by the test, SIGSTOP)"
        try:
            _, body = http_get(f"http://{self.instance[role]}/metrics", timeout=3)
        except Exception as e:  # noqa: BLE001
            return f"(unavailable: {e})"
        return "\n".join(line for line in body.decode(errors="replace").splitlines()
                         if line and not line.startswith("#") and "_bucket{" not in line)


# ---------------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(
        description="viya-mv's alert rules and dashboard against a real Prometheus scraping "
                    "real viya-mv processes (see the module docstring for the scenario).")
    parser.add_argument("--binary", required=True, help="the viya-mv binary")
    parser.add_argument("--prometheus", default=DEFAULT_PROMETHEUS,
                        help="the prometheus binary, promtool beside it (default: %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (logs, data, rules, TSDB) and print its path")
    return parser.parse_args()


def on_sigterm(signum, frame):
    raise Interrupted(f"signal {signum}")


def main():
    args = parse_args()
    if not (os.path.isfile(args.prometheus) and os.access(args.prometheus, os.X_OK)):
        why = f"no prometheus binary at {args.prometheus} (scripts/install-deps.sh installs it)"
        if os.environ.get("VIYA_MV_ALLOW_SKIP") == "1":
            print(f"SKIPPED: {why}")
            return 0
        print(f"prometheus_test: FAIL: {why}; set VIYA_MV_ALLOW_SKIP=1 to skip instead",
              file=sys.stderr)
        return 1
    for path, what in ((args.binary, "viya-mv binary"),
                       (os.path.join(os.path.dirname(args.prometheus), "promtool"), "promtool")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"prometheus_test: FAIL: no {what} at {path}", file=sys.stderr)
            return 1

    signal.signal(signal.SIGTERM, on_sigterm)
    workdir = tempfile.mkdtemp(prefix="viya-mv-prometheus-test-")
    scenario = Scenario(os.path.abspath(args.binary), os.path.abspath(args.prometheus), workdir)
    log(f"work dir {workdir}; worker {scenario.instance['worker']}, replica "
        f"{scenario.instance['api']}, Prometheus {scenario.prom.base}")
    code = 1
    try:
        scenario.run()
        code = 0
        log("PASS")
    except (TestFailure, subprocess.TimeoutExpired) as e:
        print(f"\nprometheus_test: FAIL: {e}\n", file=sys.stderr, flush=True)
        print(scenario.diagnostics(), file=sys.stderr, flush=True)
    except (KeyboardInterrupt, Interrupted) as e:
        print(f"\nprometheus_test: interrupted ({str(e) or 'Ctrl-C'})", file=sys.stderr,
              flush=True)
    except Exception:  # noqa: BLE001 - a bug of the test itself: where, and the state
        traceback.print_exc()
        print(scenario.diagnostics(), file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        scenario.cleanup()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
