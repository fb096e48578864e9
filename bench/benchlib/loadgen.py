"""The load generator: one wrk run against 127.0.0.1, and the parse of what it prints."""

from __future__ import annotations

import re
import subprocess
from types import MappingProxyType

from .common import HOST, Result

UNITS_MS = MappingProxyType({"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3})


def to_ms(text: str) -> float | None:
    """wrk's "1.50ms", "3.27s", ... in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * UNITS_MS[m.group(2)] if m else None


def parse_wrk(out: str) -> Result:
    r: Result = {}
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    r["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.MULTILINE)
        r[f"p{pct}_ms"] = to_ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (?P<connect>\d+), read (?P<read>\d+), "
                  r"write (?P<write>\d+), timeout (?P<timeout>\d+)", out)
    r["socket_errors"] = {k: int(v) for k, v in m.groupdict().items()} if m else {}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    # read errors are how wrk counts a server closing the connection after
    # each response (gunicorn's sync worker does): not failures.
    r["errors"] = r["non_2xx"] + sum(v for k, v in r["socket_errors"].items() if k != "read")
    return r


def wrk(port: int, path: str, concurrency: int, seconds: int, timeout_s: int,
        script: str | None = None) -> Result:
    """One wrk run of ``seconds`` at ``concurrency`` connections (``script``: a Lua file for
    wrk's -s); bounded by a subprocess timeout."""
    threads = min(concurrency, 2)
    cmd = ["wrk", "--latency", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds:d}s",
           "--timeout", f"{timeout_s:d}s"] + (["-s", script] if script else []) + [
           f"http://{HOST}:{port:d}{path}"]
    proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=seconds + timeout_s + 30)
    out = proc.stdout.decode("utf-8", "replace")
    result = parse_wrk(out)
    if result["rps"] is None:
        raise RuntimeError("wrk gave no Requests/sec:\n" + out)
    return result
