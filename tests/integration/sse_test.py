#!/usr/bin/env python3
"""Whole-process test of GET /v1/ops/realtime/stream as a real client meets it.

Usage: sse_test.py BINARY

Starts `BINARY serve` on a fresh data folder (heartbeat 300 ms, at most 50 streams) and
checks, over raw sockets (HTTP/1.1 chunked, parsed as server-sent events):
  1. the first event is the org's current board (the same as GET /v1/ops/realtime);
  2. each write gives exactly one `realtime` event, tokens strictly increasing, the
     board's `shipments` up by one; another org's writes give none;
  3. heartbeats come about every 300 ms while idle and carry the token; none comes while
     the stream's own events are closer together than that, and an idle org still gets
     them while another org is busy;
  4. two subscribers of an org and an admin with ?org= see every event; another org's
     stream is refused as the other reads refuse it; a missing or bad key is 401;
  5. subscribers that never read (tiny receive buffer) do not slow the writes or a normal
     subscriber, and are dropped: the server closes their connections;
  6. the (max+1)-th stream is answered 503 while the others stay open, and a stream that
     goes away frees its place;
  7. SIGTERM ends every stream cleanly (chunked terminator, or EOF for HTTP/1.0) and the
     process exits 0 within the drain time.
Python standard library only. Exit 0 when every check holds, 1 otherwise.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

HEARTBEAT_MS = 300
MAX_STREAMS = 50
DRAIN_MS = 3000
BUFFER_LIMIT = 256 << 10  # a subscriber's unsent data beyond this is dropped
TOTAL_TIMEOUT_S = 240
SLOW_CLIENTS = 4
BURST = 3000


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def log(message):
    print(message, flush=True)


def now():
    return time.monotonic()


# ---- Server-sent events over a raw HTTP connection ----------------------------------------


class Event:
    def __init__(self, kind, eid, data, at):
        self.kind = kind  # the `event` field ("message" when absent)
        self.id = eid
        self.data = data
        self.at = at  # monotonic time of arrival
        try:
            self.json = json.loads(data)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"Event({self.kind!r}, id={self.id!r}, data={self.data[:120]!r})"


TRAILERS = -1  # StreamParser.chunk_left after the last chunk
LINE_END = re.compile(r"\r\n|\r|\n")


class StreamParser:
    """The response as it arrives: head, then chunked (or close-delimited) body, then SSE."""

    def __init__(self):
        self.raw = bytearray()  # bytes not yet parsed
        self.status = None
        self.headers = {}
        self.version = None
        self.chunked = False
        self.body_done = False  # the chunked terminator (and trailers) arrived
        self.error_body = b""  # a non-200 answer's body
        self.chunk_left = None  # bytes left in the current chunk (None: at a size line)
        self.body_bytes = 0
        self.text = ""  # decoded body not yet split into lines
        self.lines_event = None
        self.lines_data = []
        self.lines_id = None
        self.last_id = None
        self.retry = None
        self.events = []
        self.protocol_errors = []

    # Returns the events completed by `data`.
    def feed(self, data, at):
        self.raw += data
        before = len(self.events)
        if self.status is None:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return []
            head = self.raw[:end].decode("latin-1").split("\r\n")
            del self.raw[: end + 4]
            parts = head[0].split(" ", 2)
            self.version, self.status = parts[0], int(parts[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
            self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if self.status != 200:
            self.error_body += bytes(self.raw)
            self.raw.clear()
            return []
        if not self.chunked:
            self._body(bytes(self.raw), at)
            self.raw.clear()
        else:
            self._chunks(at)
        return self.events[before:]

    def _chunks(self, at):
        while not self.body_done:
            if self.chunk_left is None:  # at a chunk-size line
                eol = self.raw.find(b"\r\n")
                if eol < 0:
                    return
                line = bytes(self.raw[:eol])
                del self.raw[: eol + 2]
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.protocol_errors.append(f"bad chunk-size line {line!r}")
                    self.body_done = True
                    return
                self.chunk_left = size if size else TRAILERS
            elif self.chunk_left == TRAILERS:  # after the last chunk: trailers, empty line
                eol = self.raw.find(b"\r\n")
                if eol < 0:
                    return
                line = bytes(self.raw[:eol])
                del self.raw[: eol + 2]
                if not line:
                    self.body_done = True
                    if self.raw:
                        self.protocol_errors.append(
                            f"{len(self.raw)} bytes after the chunked terminator")
            elif self.chunk_left > 0:  # in a chunk's data
                take = min(len(self.raw), self.chunk_left)
                if take == 0:
                    return
                self._body(bytes(self.raw[:take]), at)
                del self.raw[:take]
                self.chunk_left -= take
            else:  # the CRLF after a chunk's data
                if len(self.raw) < 2:
                    return
                if self.raw[:2] != b"\r\n":
                    self.protocol_errors.append("a chunk's data does not end with CRLF")
                del self.raw[:2]
                self.chunk_left = None

    def _body(self, data, at):
        self.body_bytes += len(data)
        work = self.text + data.decode("utf-8")
        hold = ""
        if work.endswith("\r"):  # perhaps the first half of a CRLF
            work, hold = work[:-1], "\r"
        lines = LINE_END.split(work)
        self.text = lines.pop() + hold
        for line in lines:
            self._line(line, at)

    def _line(self, line, at):
        # The event-stream interpretation of the HTML standard.
        if line == "":
            if self.lines_id is not None:
                self.last_id = self.lines_id
            if self.lines_data:
                self.events.append(Event(self.lines_event or "message", self.last_id,
                                         "\n".join(self.lines_data), at))
            self.lines_event, self.lines_data, self.lines_id = None, [], None
            return
        if line.startswith(":"):
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self.lines_event = value
        elif name == "data":
            self.lines_data.append(value)
        elif name == "id":
            self.lines_id = value
        elif name == "retry":
            self.retry = value
        else:
            self.protocol_errors.append(f"unknown field {name!r}")

    def refused(self):
        """A whole answer other than 200 arrived."""
        if self.status is None or self.status == 200:
            return False
        length = self.headers.get("content-length")
        return length is not None and len(self.error_body) >= int(length)

    def pending_event(self):
        """An event started but not finished (bytes after the last blank line)."""
        return bool(self.text) or bool(self.lines_data) or self.lines_event is not None


class Stream:
    """A subscriber: a raw socket, read by a thread (or, when `reader=False`, never read
    until drain() is called)."""

    def __init__(self, port, target, key=None, rcvbuf=None, mss=None, http10=False,
                 reader=True, name="stream"):
        self.name = name
        self.parser = StreamParser()
        self.cv = threading.Condition()
        self.eof = False  # the server closed (recv gave b"")
        self.eof_at = None
        self.error = None  # a socket error (a reset, most likely)
        self.stop = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if mss:
            # A small MSS keeps the server's send buffer small (on loopback, with the
            # 64 KiB MTU, the kernel lets it grow to megabytes).
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.local_port = self.sock.getsockname()[1]
        version = "HTTP/1.0" if http10 else "HTTP/1.1"
        head = (f"GET {target} {version}\r\nHost: 127.0.0.1:{port}\r\n"
                "Accept: text/event-stream\r\n")
        if key:
            head += f"Authorization: Bearer {key}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.thread = None
        if reader:
            self.sock.settimeout(0.2)
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _receive(self):
        """One recv: False once the stream is over."""
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except OSError as e:
            with self.cv:
                self.error = e
                self.cv.notify_all()
            return False
        at = now()
        with self.cv:
            if not data:
                self.eof, self.eof_at = True, at
            else:
                self.parser.feed(data, at)
            self.cv.notify_all()
        return bool(data)

    def _run(self):
        while not self.stop and self._receive():
            pass

    def drain(self, timeout):
        """Reads what the server sent until it closes, for at most `timeout` seconds."""
        self.sock.settimeout(0.2)
        deadline = now() + timeout
        while now() < deadline and not self.parser.refused() and self._receive():
            pass

    def wait(self, predicate, timeout):
        """Waits until predicate(self) holds; returns whether it did."""
        deadline = now() + timeout
        with self.cv:
            while not predicate(self):
                left = deadline - now()
                if left <= 0:
                    return False
                self.cv.wait(left)
            return True

    def events(self, kind=None):
        with self.cv:
            return [e for e in self.parser.events if kind is None or e.kind == kind]

    def realtime(self):
        return self.events("realtime")

    def over(self):
        return self.eof or self.error is not None

    def close(self):
        # Shut down first: the reader thread's recv returns, and it is gone before the
        # descriptor is closed (and perhaps reused by another socket).
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.thread:
            self.thread.join(2)
        self.sock.close()


def server_time(event):
    """A heartbeat's `time` (the server's clock) as seconds since the epoch."""
    text = (event.json or {}).get("time")
    check(isinstance(text, str), f"a heartbeat without its time: {event!r}")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Failure(f"a heartbeat's time is not RFC 3339: {event!r}")
    check(when.tzinfo is not None, f"a heartbeat's time has no zone: {event!r}")
    return when.timestamp()


def check_order(stream):
    """Realtime tokens strictly increase, each a changed board; no id goes back."""
    events = stream.events()
    last_token, last_board, last_id = -1, None, -1
    for e in events:
        check(e.id is not None and int(e.id) >= last_id,
              f"{stream.name}: the id goes back to {e.id} after {last_id}: {e!r}")
        last_id = int(e.id)
        if e.kind == "realtime":
            token = int(e.json["token"])
            check(token > last_token,
                  f"{stream.name}: realtime token {token} after {last_token}")
            check(e.json["board"] != last_board,
                  f"{stream.name}: an event for an unchanged board at token {token}")
            last_token, last_board = token, e.json["board"]
        else:
            check(e.kind == "heartbeat", f"{stream.name}: an unexpected event {e!r}")
    return len(events)


def first_realtime(stream, timeout=3.0):
    ok = stream.wait(lambda s: s.parser.events or s.over() or
                     (s.parser.status not in (None, 200)), timeout)
    p = stream.parser
    check(ok, f"{stream.name}: no event within {timeout} s (status {p.status}, "
              f"{p.body_bytes} body bytes)")
    check(p.status == 200, f"{stream.name}: status {p.status}: {p.error_body[:300]!r}")
    first = p.events[0]
    check(first.kind == "realtime",
          f"{stream.name}: the first event is {first!r}, not the board")
    return first


# ---- The process and its API ---------------------------------------------------------------


class Server:
    def __init__(self, binary, data_dir, log_path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None
        self.port = None

    def keys(self, *args):
        out = subprocess.run([self.binary, "apikey", "create", "--data", self.data_dir, *args],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, f"apikey create {args}: {out.stderr.strip()}")
        return out.stdout.strip().splitlines()[-1]

    def start(self):
        env = dict(os.environ)
        env.update({
            "VIYA_MV_HTTP_STREAM_HEARTBEAT_MS": str(HEARTBEAT_MS),
            "VIYA_MV_HTTP_MAX_STREAMS": str(MAX_STREAMS),
            "VIYA_MV_HTTP_DRAIN_TIMEOUT_MS": str(DRAIN_MS),
        })
        for attempt in range(5):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            self.logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--data", self.data_dir, "--http",
                 f"127.0.0.1:{self.port}"],
                stdout=self.logf, stderr=subprocess.STDOUT, env=env)
            deadline = now() + 20
            while now() < deadline and self.proc.poll() is None:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    c.request("GET", "/readyz")
                    r = c.getresponse()
                    r.read()
                    c.close()
                    if r.status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                raise Failure("the server did not become ready within 20 s")
            self.logf.close()  # the port was taken meanwhile, most likely: another one
        raise Failure(f"the server did not start; see the log:\n{self.log_tail()}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Api:
    """One keep-alive connection."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, target, key=None, body=None):
        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        self.conn.request(method, target, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def write(self, key, docs):
        status, _, data = self.call("POST", "/v1/shipments", key, docs)
        check(status == 200, f"POST /v1/shipments: {status} {data[:300]!r}")
        return int(json.loads(data)["token"])

    def board(self, key, org=None, min_token=None):
        target = "/v1/ops/realtime"
        query = []
        if org:
            query.append(f"org={org}")
        if min_token is not None:
            query.append(f"minToken={min_token}")
        if query:
            target += "?" + "&".join(query)
        status, headers, data = self.call("GET", target, key)
        check(status == 200, f"GET {target}: {status} {data[:300]!r}")
        return int(headers["x-view-token"]), json.loads(data)

    def close(self):
        self.conn.close()


def shipment(i, prefix="S"):
    # No promised delivery: no SLA transition changes the board behind the test's back.
    return {"id": f"{prefix}-{i}", "status": "booked", "createdAt": "2026-01-01T00:00:00Z",
            "carrierId": "dhl", "customerId": "C-1"}


def tcp_sockets():
    """(local port, remote port) -> (state, tx_queue, rx_queue) of 127.0.0.1 TCP sockets."""
    out = {}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                tx, rx = fields[4].split(":")
                out[(int(local.split(":")[1], 16), int(remote.split(":")[1], 16))] = (
                    int(state, 16), int(tx, 16), int(rx, 16))
    except OSError:
        return None
    return out


TCP_ESTABLISHED = 1
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING"}


# ---- The checks ----------------------------------------------------------------------------


class Test:
    def __init__(self, binary):
        self.tmp = tempfile.mkdtemp(prefix="viya-mv-sse-")
        self.server = Server(binary, os.path.join(self.tmp, "data"),
                             os.path.join(self.tmp, "serve.log"))
        self.streams = []
        self.failures = []

    def expect(self, cond, message):
        """A check the next ones do not depend on: recorded, and the test goes on."""
        if not cond:
            self.failures.append(message)
            print(f"FAIL: {message}", file=sys.stderr, flush=True)

    def stream(self, target, key=None, **kw):
        s = Stream(self.server.port, target, key, **kw)
        self.streams.append(s)
        return s

    def run(self):
        os.makedirs(self.server.data_dir)
        self.acme = self.server.keys("--org", "acme")
        self.globex = self.server.keys("--org", "globex")
        self.admin = self.server.keys("--admin", "--name", "sse-test")
        self.server.start()
        log(f"server on port {self.server.port}, data {self.server.data_dir}")
        self.api = Api(self.server.port)
        self.acme_count = 0
        self.globex_count = 0
        self.last_token = 0
        # A board that is not empty to begin with.
        self.last_token = self.api.write(self.acme, [shipment(i, "seed") for i in range(5)])
        self.acme_count = 5
        self.last_token = self.api.write(self.globex, [shipment(i, "seed") for i in range(3)])
        self.globex_count = 3
        self.api.board(self.acme, min_token=self.last_token)

        self.first_event()
        self.writes()
        self.heartbeats()
        self.refusals()
        self.slow_clients()
        self.max_streams()
        self.sigterm()

    # 1
    def first_event(self):
        token, board = self.api.board(self.acme)
        self.a = self.stream("/v1/ops/realtime/stream", self.acme, name="acme#1")
        first = first_realtime(self.a)
        p = self.a.parser
        check(p.version == "HTTP/1.1" and p.chunked,
              f"the stream is not chunked HTTP/1.1: {p.version} {p.headers}")
        check(p.headers.get("content-type", "").startswith("text/event-stream"),
              f"Content-Type: {p.headers.get('content-type')}")
        check(p.headers.get("cache-control") == "no-store",
              f"Cache-Control: {p.headers.get('cache-control')}")
        check(isinstance(first.json, dict) and isinstance(first.json.get("lagSeconds"), (int, float))
              and {k: v for k, v in first.json.items() if k != "lagSeconds"}
              == {"token": str(token), "board": board},
              f"the first event is not the current board (token {token}, {board}): {first!r}")
        check(first.id == str(token), f"the first event's id is {first.id}, the token {token}")
        check(board["shipments"] == self.acme_count, f"board: {board}")
        log(f"ok 1: the first event is the board at token {token} "
            f"(retry: {p.retry}; headers {p.headers.get('content-type')}, "
            f"{p.headers.get('cache-control')})")

    def expect_same_realtime(self, stream, reference, count, timeout=3.0):
        ok = stream.wait(lambda s: len(s.realtime()) >= count, timeout)
        got = [(e.id, e.json) for e in stream.realtime()]
        want = [(e.id, e.json) for e in reference.realtime()]
        check(ok and got == want,
              f"{stream.name} saw {len(got)} realtime events, {reference.name} {len(want)}; "
              f"first difference: "
              f"{next(((i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w), None)}")

    # 2 and the subscribers of 4
    def writes(self):
        self.b = self.stream("/v1/ops/realtime/stream", self.acme, name="acme#2")
        self.c = self.stream("/v1/ops/realtime/stream?org=acme", self.admin, name="admin?org=acme")
        self.g = self.stream("/v1/ops/realtime/stream", self.globex, name="globex")
        for s in (self.b, self.c):
            first = first_realtime(s)
            check(first.json == self.a.realtime()[0].json,
                  f"{s.name}'s first board differs from acme#1's: {first!r}")
        gfirst = first_realtime(self.g)
        check(gfirst.json["board"]["org"] == "globex" and
              gfirst.json["board"]["shipments"] == self.globex_count,
              f"globex's first board: {gfirst!r}")

        n = 30
        sock = None
        t0 = now()
        for i in range(n):
            token = self.api.write(self.acme, shipment(i, "W"))
            if sock is None:
                sock = self.api.conn.sock
            check(self.api.conn.sock is sock and sock is not None,
                  "the writes' keep-alive connection was not kept")
            self.acme_count += 1
            self.last_token = token
            want = 2 + i
            ok = self.a.wait(lambda s: len(s.realtime()) >= want, 3.0)
            check(ok, f"write {i + 1} (token {token}): no realtime event within 3 s; "
                      f"got {self.a.realtime()[-2:]}")
            ev = self.a.realtime()[want - 1]
            prev = self.a.realtime()[want - 2]
            check(int(ev.json["token"]) >= token,
                  f"write {i + 1} (token {token}) came as an event at token {ev.json['token']}")
            check(int(ev.json["token"]) > int(prev.json["token"]),
                  f"tokens do not increase: {prev!r} then {ev!r}")
            check(ev.id == ev.json["token"], f"id {ev.id} != token in {ev!r}")
            check(ev.json["board"]["shipments"] == prev.json["board"]["shipments"] + 1 ==
                  self.acme_count, f"write {i + 1}: shipments went from "
                  f"{prev.json['board']['shipments']} to {ev.json['board']['shipments']}, "
                  f"{self.acme_count} written")
        elapsed = now() - t0
        # Nothing more comes for those writes.
        time.sleep(0.5)
        check(len(self.a.realtime()) == n + 1,
              f"{len(self.a.realtime())} realtime events for {n} writes and the first board: "
              f"{self.a.realtime()[n + 1:][:3]}")
        for s in (self.b, self.c):
            self.expect_same_realtime(s, self.a, n + 1)
        # Another org's writes: events on its stream, none on acme's.
        for i in range(10):
            self.last_token = self.api.write(self.globex, shipment(i, "G"))
            self.globex_count += 1
            ok = self.g.wait(lambda s: len(s.realtime()) >= 2 + i, 3.0)
            check(ok, f"globex write {i + 1}: no event on globex's stream")
            check(self.g.realtime()[-1].json["board"]["shipments"] == self.globex_count,
                  f"globex's board: {self.g.realtime()[-1]!r}")
        time.sleep(0.5)
        for s in (self.a, self.b, self.c):
            check(len(s.realtime()) == n + 1,
                  f"{s.name}: writes to globex gave realtime events: {s.realtime()[n + 1:][:3]}")
        log(f"ok 2: {n} writes (keep-alive, {elapsed / n * 1000:.1f} ms each with the wait) "
            f"gave {n} realtime events, tokens increasing, shipments +1 each; 10 writes to "
            f"globex gave none on acme's streams")
        log(f"ok 4: acme#2 and admin?org=acme saw the same {n + 1} realtime events as acme#1")

    # 3
    def heartbeats(self):
        # Idle: about one every 300 ms, with the token. Timed by the heartbeats' own `time`
        # (the server's clock, the same host's), so that a stalled reader thread here does
        # not look like a late heartbeat.
        time.sleep(HEARTBEAT_MS / 1000 + 0.05)
        t0, t0m = time.time(), now()
        time.sleep(2.0)
        t1, t1m = time.time(), now()
        time.sleep(0.1)  # those sent by t1 have arrived
        for s in (self.a, self.b, self.c, self.g):
            beats = [e for e in s.events("heartbeat") if t0 <= server_time(e) < t1]
            gaps = [(server_time(y) - server_time(x)) * 1000 for x, y in zip(beats, beats[1:])]
            check(5 <= len(beats) <= 8,
                  f"{s.name}: {len(beats)} heartbeats in 2 s idle (heartbeat {HEARTBEAT_MS} ms)")
            check(all(150 <= g <= 700 for g in gaps) and
                  200 <= statistics.median(gaps) <= 450,
                  f"{s.name}: heartbeat gaps {[round(g) for g in gaps]} ms")
            for e in beats:
                check(e.json.get("token") == str(self.last_token) and
                      e.id == str(self.last_token),
                      f"{s.name}: heartbeat without the token {self.last_token}: {e!r}")
                lag = e.json.get("lagSeconds")
                check(isinstance(lag, (int, float)) and 0 <= lag < 5, f"lagSeconds: {e!r}")
            check(not [e for e in s.events() if t0m <= e.at < t1m and e.kind != "heartbeat"],
                  f"{s.name}: events other than heartbeats while idle")
        beats = [e for e in self.a.events("heartbeat") if t0 <= server_time(e) < t1]
        gaps = [(server_time(y) - server_time(x)) * 1000 for x, y in zip(beats, beats[1:])]
        log(f"ok 3: idle for 2 s, {len(beats)} heartbeats to acme#1, gaps "
            f"{[round(g) for g in gaps]} ms, token {self.last_token}")

        # Busy: acme's events every ~60 ms for 1.5 s. "After http.stream_heartbeat_ms
        # without an event": acme's streams get no heartbeat meanwhile, globex's (idle) do.
        start_a = len(self.a.events())
        start_g = len(self.g.events())
        t0 = time.time()
        sent = []  # (token, when the request was sent): its event was sent after that
        i = 0
        while time.time() - t0 < 1.5:
            begun = time.time()
            self.last_token = self.api.write(self.acme, shipment(i, "H"))
            sent.append((self.last_token, begun))
            self.acme_count += 1
            i += 1
            time.sleep(0.06)
        t1 = time.time()
        self.a.wait(lambda s: s.realtime()[-1].json["board"]["shipments"] == self.acme_count, 3)
        evs = self.a.events()[start_a:]
        early = []
        prev = None
        for e in evs:
            if e.kind == "realtime":
                prev = e
            elif prev is not None:
                # The last write `prev` holds was sent at `begun`: `prev` went out after it.
                begun = max((w for tok, w in sent if tok <= int(prev.json["token"])),
                            default=None)
                if begun is not None and server_time(e) - begun < (HEARTBEAT_MS - 100) / 1000:
                    early.append(f"{(server_time(e) - begun) * 1000:.0f} ms after the write "
                                 f"of realtime id {prev.id}")
        gbeats = [e for e in self.g.events()[start_g:]
                  if e.kind == "heartbeat" and server_time(e) <= t1]
        n_real = len([e for e in evs if e.kind == "realtime"])
        log(f"    busy acme for {t1 - t0:.1f} s ({i} writes, {n_real} realtime events): "
            f"{len([e for e in evs if e.kind == 'heartbeat'])} heartbeats on acme#1, "
            f"{len(gbeats)} on idle globex")
        check(len(gbeats) >= int((t1 - t0) * 1000 / HEARTBEAT_MS) - 2,
              f"globex's idle stream got {len(gbeats)} heartbeats in {t1 - t0:.1f} s "
              f"while acme was busy")
        self.expect(not early,
                    f"heartbeats on acme#1 while its events came every ~60 ms (the contract: "
                    f"a heartbeat after http.stream_heartbeat_ms without an event): {early[:4]}")
        if not early:
            log("ok 3: no heartbeat while the stream's events come closer than the heartbeat; "
                "an idle org's stream keeps them")

    # 4: refusals
    def refusals(self):
        port = self.server.port

        def answer(target, key):
            s = Stream(port, target, key, reader=False, name=target)
            s.drain(3)
            s.close()
            p = s.parser
            check(p.status is not None, f"GET {target}: no answer")
            check(not p.headers.get("content-type", "").startswith("text/event-stream"),
                  f"GET {target}: refused with a stream? {p.headers}")
            return p.status, p.error_body

        cases = [
            ("tenant naming another org", "?org=globex", self.acme),
            ("admin naming no org", "", self.admin),
            ("an unknown parameter", "?since=3", self.acme),
            ("no key", "", None),
            ("an unknown key", "", "vmv_" + "0" * 48),
        ]
        for what, query, key in cases:
            stream_status, body = answer("/v1/ops/realtime/stream" + query, key)
            read_status, _, _ = self.api.call("GET", "/v1/ops/realtime" + query, key)
            check(stream_status == read_status,
                  f"{what}: the stream answers {stream_status}, GET /v1/ops/realtime "
                  f"{read_status}")
            check(stream_status in (400, 401, 403), f"{what}: {stream_status} {body[:200]!r}")
            log(f"ok 4: {what}: {stream_status} (as GET /v1/ops/realtime)")
        check(answer("/v1/ops/realtime/stream", None)[0] == 401, "no key: not 401")

    # 5
    def burst(self, label, prefix):
        lat = []
        t0 = now()
        for i in range(BURST):
            w0 = now()
            self.last_token = self.api.write(self.acme, shipment(i, prefix))
            lat.append(now() - w0)
        t_last = now()
        self.acme_count += BURST
        ok = self.a.wait(
            lambda s: s.realtime()[-1].json["board"]["shipments"] == self.acme_count, 5)
        seen = now() - t_last
        check(ok, f"{label}: the normal subscriber's board is "
                  f"{self.a.realtime()[-1].json['board']['shipments']}, {self.acme_count} "
                  f"written, 5 s after the last write")
        check(seen <= 1.0, f"{label}: the normal subscriber saw the final board "
                           f"{seen * 1000:.0f} ms after the last write (> 1 s)")
        rate = BURST / (t_last - t0)
        med = statistics.median(lat) * 1000
        p99 = sorted(lat)[int(len(lat) * 0.99)] * 1000
        log(f"    {label}: {BURST} writes in {t_last - t0:.2f} s ({rate:.0f}/s), "
            f"median {med:.2f} ms, p99 {p99:.2f} ms; final board seen "
            f"{seen * 1000:.0f} ms after the last write")
        return rate, med

    def slow_clients(self):
        for s in (self.b, self.c, self.g):
            s.close()
        base_rate, base_med = self.burst("without slow clients", "X")
        mark_bytes = self.a.parser.body_bytes
        slow = [self.stream("/v1/ops/realtime/stream", self.acme, rcvbuf=1024, mss=536,
                            reader=False, name=f"slow#{k}") for k in range(SLOW_CLIENTS)]
        time.sleep(0.3)
        slow_rate, slow_med = self.burst(f"with {SLOW_CLIENTS} slow clients", "Y")
        log(f"    medians: {base_med:.2f} ms without, {slow_med:.2f} ms with; "
            f"throughput {slow_rate / base_rate:.2f}x")
        check(slow_rate >= 0.5 * base_rate,
              f"the slow clients slowed the writes: {slow_rate:.0f}/s with them, "
              f"{base_rate:.0f}/s without")

        # Make sure every slow client had more than the limit pushed at it: the normal
        # subscriber received the same events.
        def in_kernel():
            sockets = tcp_sockets() or {}
            most = 0
            for s in slow:
                server_side = sockets.get((self.server.port, s.local_port), (0, 0, 0))
                client_side = sockets.get((s.local_port, self.server.port), (0, 0, 0))
                most = max(most, server_side[1] + client_side[2])
            return most if sockets else (1 << 20)

        extra = 0
        while (self.a.parser.body_bytes - mark_bytes < BUFFER_LIMIT + in_kernel() + (64 << 10)
               and extra < 30000):
            for i in range(200):
                self.last_token = self.api.write(self.acme, shipment(extra + i, "Z"))
            extra += 200
            self.acme_count += 200
        pushed = self.a.parser.body_bytes - mark_bytes
        check(self.a.wait(
            lambda s: s.realtime()[-1].json["board"]["shipments"] == self.acme_count, 5),
            "the normal subscriber missed the last writes")
        n_events = check_order(self.a)
        log(f"    acme#1: {n_events} events so far, in order, every realtime one a change")
        log(f"    {pushed} bytes pushed to each subscriber since the slow ones came "
            f"({extra} more writes to get there); at most {in_kernel()} bytes of a slow "
            f"client's in the kernel")

        # The server counts them no more (when it has the gauge).
        open_streams = self.metric("viya_mv_http_streams")
        if open_streams is not None:
            self.expect(
                self.wait_metric("viya_mv_http_streams", lambda v: v == 1, 2.0),
                f"viya_mv_http_streams is {self.metric('viya_mv_http_streams')} 2 s after the "
                f"drop; 1 subscriber reads")

        # The server ends a dropped subscriber's connection: its side of the socket leaves
        # ESTABLISHED (FIN_WAIT1: closed with data unsent) without the client reading.
        t_drop = now()
        states = {}
        while now() - t_drop < 2.0:
            sockets = tcp_sockets()
            if sockets is None:
                break
            states = {s.name: sockets.get((self.server.port, s.local_port), (None, 0, 0))
                      for s in slow}
            if all(st[0] != TCP_ESTABLISHED for st in states.values()):
                break
            time.sleep(0.05)
        waited = now() - t_drop
        lingering = {name: f"{TCP_STATES.get(st[0], st[0])}, {st[1]} bytes unsent"
                     for name, st in states.items() if st[0] == TCP_ESTABLISHED}

        # Reading them now: the data buffered before the drop, then the end.
        for s in slow:
            t0 = now()
            s.drain(5)
            p = s.parser
            check(p.status == 200, f"{s.name}: status {p.status}")
            check(s.over(), f"{s.name}: still open after 5 s of reading "
                            f"({p.body_bytes} bytes read): it was not dropped")
            check(s.error is None, f"{s.name}: {s.error}")
            last = s.realtime()[-1].json["board"]["shipments"] if s.realtime() else None
            check(last is not None and last < self.acme_count,
                  f"{s.name}: its last board has {last} shipments, {self.acme_count} "
                  f"written: it got everything, so it was not dropped?")
            log(f"    {s.name}: {p.body_bytes} bytes, {len(s.realtime())} realtime events "
                f"(last board {last}), then "
                f"{'the chunked terminator and ' if p.body_done else ''}EOF, "
                f"{(s.eof_at - t0) * 1000:.0f} ms of reading")
        self.expect(not lingering,
                    f"dropped subscribers' connections are still ESTABLISHED on the server "
                    f"{waited:.1f} s after they were dropped (the client not reading; the "
                    f"server gives up a blocked write only after http.write_timeout_ms): "
                    f"{lingering}")
        log(f"ok 5: {SLOW_CLIENTS} subscribers that never read were dropped"
            f"{'' if lingering else ' and their connections closed'}; the writes kept "
            f"{slow_rate / base_rate:.2f}x their pace and the normal subscriber its board")

    def metric(self, name):
        status, _, data = self.api.call("GET", "/metrics")
        check(status == 200, f"GET /metrics: {status}")
        for line in data.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_metric(self, name, predicate, timeout):
        deadline = now() + timeout
        while True:
            if predicate(self.metric(name)):
                return True
            if now() > deadline:
                return False
            time.sleep(0.05)

    # 6
    def max_streams(self):
        port = self.server.port
        # The slow clients' places must be free by now (they were dropped).
        self.extra = []
        deadline = now() + 3
        while len(self.extra) + 1 < MAX_STREAMS:  # acme#1 is open
            s = self.stream("/v1/ops/realtime/stream?org=globex" if len(self.extra) % 2
                            else "/v1/ops/realtime/stream?org=acme", self.admin,
                            name=f"extra#{len(self.extra)}")
            ok = s.wait(lambda x: x.parser.status is not None, 3)
            check(ok, f"{s.name}: no answer")
            if s.parser.status == 503 and now() < deadline:
                s.close()  # a closed stream's place is freed at the next push
                time.sleep(0.1)
                continue
            first_realtime(s)
            self.extra.append(s)
        over = self.stream("/v1/ops/realtime/stream", self.acme, name="one too many")
        check(over.wait(lambda x: x.over() or x.parser.status not in (None, 200), 3) and
              over.parser.status == 503,
              f"stream {MAX_STREAMS + 1}: status {over.parser.status}")
        body = json.loads(over.parser.error_body.decode() or "{}")
        over.close()
        # The others are still served.
        mark = now()
        for s in [self.a] + self.extra:
            ok = s.wait(lambda x: any(e.at > mark for e in x.parser.events[-3:]) or x.over(), 2)
            check(ok and not s.over(), f"{s.name}: no heartbeat after the refusal")
        # A stream that goes away frees its place.
        gone = self.extra.pop()
        gone.close()
        t0 = now()
        while True:
            s = self.stream("/v1/ops/realtime/stream", self.acme, name="replacement")
            s.wait(lambda x: x.parser.status is not None, 3)
            if s.parser.status == 200:
                first_realtime(s)
                self.extra.append(s)
                break
            s.close()
            check(now() - t0 < 5, f"a closed stream's place is not free {now() - t0:.1f} s "
                                  f"later (status {s.parser.status})")
            time.sleep(0.1)
        log(f"ok 6: {MAX_STREAMS} streams open, the next one 503 "
            f"({body.get('error', {}).get('message')!r}); a closed stream's place was free "
            f"again {(now() - t0) * 1000:.0f} ms later")

    # 7
    def sigterm(self):
        # An HTTP/1.0 subscriber (its body ends with the connection), and one that reads
        # nothing with its socket full (it cannot be ended cleanly, but must not keep the
        # process past the drain time).
        for _ in range(2):
            self.extra.pop().close()
        time.sleep(1.0)  # their places are freed at the next pushes
        deadline = now() + 5
        while True:
            old = self.stream("/v1/ops/realtime/stream", self.acme, http10=True, name="http/1.0")
            old.wait(lambda x: x.parser.status is not None, 3)
            if old.parser.status == 200 or now() > deadline:
                break
            old.close()
            time.sleep(0.1)
        first_realtime(old)
        check(not old.parser.chunked, "HTTP/1.0 got a chunked body")
        stuck = self.stream("/v1/ops/realtime/stream", self.acme, rcvbuf=1024, mss=536,
                            reader=False, name="stuck")
        time.sleep(0.2)
        for i in range(1500):
            self.last_token = self.api.write(self.acme, shipment(i, "T"))
        self.acme_count += 1500
        sockets = tcp_sockets()
        stuck_note = ""
        if sockets is not None:
            state, unsent, _ = sockets.get((self.server.port, stuck.local_port), (None, 0, 0))
            check(state == TCP_ESTABLISHED and unsent > 10000,
                  f"the stuck subscriber is not a full stream: state {state}, {unsent} unsent")
            stuck_note = f" and one with {unsent} bytes unsent that reads nothing"
        live = [self.a, old] + self.extra
        counts = {"acme": self.acme_count, "globex": self.globex_count}
        for s in live:
            ok = s.wait(lambda x: x.over() or x.realtime()[-1].json["board"]["shipments"] ==
                        counts[x.realtime()[-1].json["board"]["org"]], 3)
            check(ok and not s.over(), f"{s.name}: not at the last board before SIGTERM "
                                       f"({s.error})")
        t0 = now()
        self.server.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.server.proc.wait(DRAIN_MS / 1000 + 5)
        except subprocess.TimeoutExpired:
            raise Failure(f"the server still runs {DRAIN_MS / 1000 + 5:.0f} s after SIGTERM")
        took = now() - t0
        check(rc == 0, f"the server exited {rc} after SIGTERM")
        check(took <= DRAIN_MS / 1000 + 1,
              f"the server took {took:.1f} s to exit (drain {DRAIN_MS} ms)")
        ends = []
        for s in live:
            s.wait(lambda x: x.over(), 2)
            p = s.parser
            check(s.eof and s.error is None,
                  f"{s.name}: after SIGTERM: eof {s.eof}, error {s.error}")
            check(s.parser.chunked == (s is not old), f"{s.name}: chunked {p.chunked}")
            if p.chunked:
                check(p.body_done, f"{s.name}: the stream ended without the chunked terminator")
            check(not p.pending_event(), f"{s.name}: ended inside an event: {p.text[:100]!r}")
            check(not p.protocol_errors, f"{s.name}: {p.protocol_errors[:3]}")
            check_order(s)
            ends.append(s.eof_at - t0)
        stuck.close()
        log(f"ok 7: SIGTERM with {len(live)} streams open{stuck_note}: exit 0 after "
            f"{took * 1000:.0f} ms (drain {DRAIN_MS} ms); "
            f"every stream ended cleanly (chunked terminator, or EOF for HTTP/1.0) within "
            f"{max(ends) * 1000:.0f} ms")

    def cleanup(self):
        for s in self.streams:
            s.close()
        self.server.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    if not os.access(binary, os.X_OK):
        print(f"FAIL: {binary} is not an executable", file=sys.stderr)
        return 1

    def on_alarm(signum, frame):
        raise Failure(f"the test took more than {TOTAL_TIMEOUT_S} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TOTAL_TIMEOUT_S)
    t0 = now()
    test = Test(binary)
    try:
        test.run()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(f"--- the server's log (last lines) ---\n{test.server.log_tail()}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - any surprise is a failure with its trace
        import traceback
        traceback.print_exc()
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"--- the server's log (last lines) ---\n{test.server.log_tail()}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        test.cleanup()
    if test.failures:
        print(f"FAIL: {len(test.failures)} check(s) failed:", file=sys.stderr)
        for f in test.failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    log(f"PASS ({now() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
