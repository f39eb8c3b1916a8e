"""What the HTTP benchmark scripts (http_bench.py, soak.py) share: a free port, waiting
for a server, a process's RSS, timestamps, and stopping servers and removing their data
folder when a run ends."""

import http.client
import shutil
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, path="/healthz", timeout=30.0):
    """Returns once GET path on 127.0.0.1:port answers below 500; exits after timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{sys.argv[0]}: nothing answers on port {port}")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def finish(procs, data, keep):
    """Stops the processes still running (SIGTERM, then SIGKILL after 30 s) and removes
    the data folder unless it is to be kept."""
    for p in procs:
        if p.poll() is not None:
            continue
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    if keep:
        print(f"data folder kept: {data}", file=sys.stderr)
    else:
        shutil.rmtree(data, ignore_errors=True)
