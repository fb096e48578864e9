#!/usr/bin/env python3
"""A soak: whiskey's default configuration held at half its measured capacity.

    python3 bench/soak.py --variant python-3.11 [--minutes 10]

Builds bench/app on whiskey:<variant>, runs it as the serving benchmark does
(one CPU, 512 MiB, port 8080 on 127.0.0.1 only, nothing set), measures its
capacity on /hello (wrk, 32 connections, 10 s), then keeps it at about half of
that for --minutes: 16 connections, each waiting after every answer so that
together they ask at that rate (wrk's delay() hook).  One wrk run a minute;
after each, the container's memory.  Passes when no request failed and the
last minute's memory is within 10% of the second's (the first is warm-up).
Writes bench/results/soak-<variant>.json and .md; exits 1 when it did not pass.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from benchlib.common import APP, BENCH_REPO, CA_BUNDLE, HOST, RESULTS, log, now_utc  # noqa: E402
from benchlib.containers import LABEL, free_port, memory, wait_200  # noqa: E402
from benchlib.loadgen import wrk  # noqa: E402
from benchlib.machine import git_revision  # noqa: E402

CONNECTIONS = 16


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="python-3.11")
    ap.add_argument("--minutes", type=int, default=10)
    args = ap.parse_args()
    import docker
    from tests.support import s2i
    client = docker.from_env(timeout=600)
    tag = f"{BENCH_REPO}/soak:{args.variant}"
    s2i.build_app(client, f"whiskey:{args.variant}", APP, tag, ca_bundle=CA_BUNDLE)
    port = free_port()
    container = client.containers.run(tag, detach=True, ports={"8080/tcp": (HOST, port)},
                                      nano_cpus=int(1e9), mem_limit="512m",
                                      memswap_limit="512m", labels={LABEL: "1"})
    result: dict = {"variant": args.variant, "started": now_utc(),
                    "git_revision": git_revision(), "connections": CONNECTIONS, "minutes": []}
    try:
        wait_200(port, container)
        wrk(port, "/hello", 32, 5, 10)  # warm-up
        capacity = wrk(port, "/hello", 32, 10, 10)["rps"]
        # Each connection: its answer (about 1 ms at this load), then the delay.
        delay_ms = max(0, int(1000.0 * CONNECTIONS / (capacity / 2.0)) - 1)
        result.update(capacity_rps=capacity, target_rps=round(capacity / 2.0), delay_ms=delay_ms)
        log(f"capacity {capacity:.0f} req/s: soaking at about {capacity / 2:.0f} "
            f"({CONNECTIONS} connections, {delay_ms} ms between requests)")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(f"function delay()\n  return {delay_ms:d}\nend\n")
        try:
            for minute in range(args.minutes):
                run = wrk(port, "/hello", CONNECTIONS, 60, 10, script=lua.name)
                mem = memory(container)
                row = {"minute": minute + 1, "rps": run["rps"], "requests": run["requests"],
                       "errors": run["errors"], "socket_errors": run["socket_errors"],
                       "p99_ms": run["p99_ms"], "memory_mib": mem["mib"] if mem else None}
                result["minutes"].append(row)
                log(f"minute {minute + 1}: {run['rps']:.0f} req/s, {run['errors']} errors, "
                    f"p99 {run['p99_ms']} ms, {row['memory_mib']} MiB")
        finally:
            os.unlink(lua.name)
    finally:
        container.remove(force=True)
        client.images.remove(tag, force=True)
    rows = result["minutes"]
    errors = sum(r["errors"] for r in rows)
    growth = rows[-1]["memory_mib"] / rows[1]["memory_mib"] - 1.0 if len(rows) > 1 else 0.0
    result.update(errors=errors, memory_growth=round(growth, 3),
                  passed=errors == 0 and growth <= 0.10, finished=now_utc())
    stem = os.path.join(RESULTS, f"soak-{args.variant}")
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(report(result))
    log(f"wrote {stem}.json and .md: {'passed' if result['passed'] else 'NOT passed'}")
    return 0 if result["passed"] else 1


def report(r: dict) -> str:
    lines = [f"# Soak: {r['variant']}, default configuration, {len(r['minutes'])} minutes",
             "",
             f"`python3 bench/soak.py --variant {r['variant']} --minutes {len(r['minutes'])}`, "
             f"{r['started']} to {r['finished']}, revision {r['git_revision']}: capacity "
             f"{r['capacity_rps']:.0f} req/s on /hello (32 connections, 10 s), held at about "
             f"{r['target_rps']} ({r['connections']} connections, {r['delay_ms']} ms between "
             f"requests). One CPU, 512 MiB. Errors: {r['errors']}; memory, last minute against "
             f"the second: {r['memory_growth'] * 100:+.1f}%; "
             f"{'passed' if r['passed'] else 'NOT passed'}.",
             "",
             "| minute | req/s | requests | errors | p99 (ms) | memory (MiB) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for m in r["minutes"]:
        lines.append(f"| {m['minute']} | {m['rps']:.0f} | {m['requests']} | {m['errors']} | "
                     f"{m['p99_ms']} | {m['memory_mib']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
