"""Serving: every server configuration on the same image, loaded with wrk, interleaved.

Every (endpoint, concurrency) cell is measured ``runs`` times, the
configurations interleaved inside every repetition so that machine noise
hits them alike.  A run during which other processes used more than
FOREIGN_CPU_LIMIT of a core is repeated (at most twice).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .common import Result, log
from .containers import free_port, logs_tail, memory, start_container, wait_200
from .loadgen import wrk
from .noise import FOREIGN_CPU_LIMIT
from .stats import Runs, summarise

if TYPE_CHECKING:
    from docker.models.containers import Container

    from .context import RunContext

ENDPOINTS = ("/io", "/hello")
ATTEMPTS = 3  # a noisy run is measured again, at most this many times in all

Running = dict[str, tuple["Container", int]]  # configuration name -> (container, host port)


@dataclass(frozen=True)
class ServerConfig:
    """A server configuration: the same image, another command or MOD_WSGI_* environment
    (or, for the default of an earlier revision, another image)."""

    name: str
    description: str
    run_kwargs: Mapping[str, Any]
    image: str | None = None  # default: the bench app built on this revision's builder


def configurations(cpus: float, quick: bool, peers: bool = True,
                   before: str | None = None) -> list[ServerConfig]:
    """Every server configuration measured; ``peers``: with pyuwsgi and Granian (the
    bench app installs them from Python 3.10 on); ``before``: the bench app image
    built on an earlier revision's builder, run with its default configuration.

    "cores" for the usual gunicorn formula is the container's CPU limit, not
    the host's: the container cannot use more.
    """
    cores = max(1, math.ceil(cpus))
    w = 2 * cores + 1
    gunicorn = ["gunicorn", "--bind", "0.0.0.0:8080"]
    configs = [
        ServerConfig("whiskey-default",
                     "whiskey's image command, no MOD_WSGI_* set (embedded mode where "
                     "mod_wsgi-express has it; whiskey sizes the server for the container)",
                     {}),
        ServerConfig("whiskey-daemon",
                     "MOD_WSGI_EMBEDDED_MODE=0: mod_wsgi daemon processes, whiskey's sizing "
                     "(the default before embedded mode became it)",
                     {"environment": {"MOD_WSGI_EMBEDDED_MODE": "0"}}),
        ServerConfig("whiskey-1x5",
                     "MOD_WSGI_PROCESSES=1 MOD_WSGI_THREADS=5: mod_wsgi-express's own default "
                     "(whiskey's default before commit a1a215f)",
                     {"environment": {"MOD_WSGI_PROCESSES": "1", "MOD_WSGI_THREADS": "5"}}),
        ServerConfig("gunicorn-sync-1",
                     "gunicorn, 1 sync worker (the stock S2I Python default)",
                     {"command": gunicorn + ["--workers", "1", "wsgi:application"]}),
        ServerConfig(f"gunicorn-sync-{w}",
                     f"gunicorn, 2 x cores + 1 = {w} sync workers",
                     {"command": gunicorn + ["--workers", str(w), "wsgi:application"]}),
        ServerConfig(f"gunicorn-gthread-{w}x4",
                     f"gunicorn, gthread worker, {w} workers x 4 threads",
                     {"command": gunicorn + ["--worker-class", "gthread", "--workers", str(w),
                                             "--threads", "4", "wsgi:application"]}),
        ServerConfig("whiskey-embedded-4",
                     "MOD_WSGI_EMBEDDED_MODE=1 MOD_WSGI_THREADS=4: embedded, tuned for "
                     "CPU-bound work",
                     {"environment": {"MOD_WSGI_EMBEDDED_MODE": "1", "MOD_WSGI_THREADS": "4"}}),
    ]
    if peers:
        configs += [
            ServerConfig("pyuwsgi-1",
                         "uWSGI (pyuwsgi), 1 process, its HTTP socket, no request log",
                         {"command": ["uwsgi", "--http-socket", "0.0.0.0:8080", "--master",
                                      "--processes", "1", "--module", "wsgi:application",
                                      "--need-app", "--die-on-term", "--disable-logging"]}),
            ServerConfig("granian-1",
                         "Granian, WSGI interface, 1 worker, its defaults",
                         {"command": ["granian", "--interface", "wsgi", "--host", "0.0.0.0",
                                      "--port", "8080", "--workers", "1", "wsgi:application"]}),
        ]
    if before:
        configs.insert(1, ServerConfig("whiskey-default-before",
                                       "whiskey's image command, no MOD_WSGI_* set, in the "
                                       "bench app built on an earlier revision's builder "
                                       "(--before)", {}, image=before))
    if quick:
        keep = ("whiskey-default", "whiskey-default-before", "whiskey-daemon", "whiskey-embedded-4",
                "gunicorn-sync-1", f"gunicorn-gthread-{w}x4", "pyuwsgi-1", "granian-1")
        configs = [c for c in configs if c.name in keep]
    return configs


def start_all(ctx: RunContext, image: str, configs: list[ServerConfig], running: Running) -> None:
    """Start every configuration (into ``running``, so a failure still cleans up) and wait for it."""
    for cfg in configs:
        port = free_port()
        c = start_container(ctx, cfg.image or image, cfg.run_kwargs, port)
        running[cfg.name] = (c, port)
        wait_200(port, c)


def request_capacities(running: Running) -> dict[str, str]:
    """mod_wsgi-express's "Request Capacity" line from each whiskey container's log."""
    capacity = {}
    for name, (c, _port) in running.items():
        m = re.search(r"Request Capacity\s*:\s*(.+)", c.logs().decode("utf-8", "replace"))
        if m:
            capacity[name] = m.group(1).strip()
    return capacity


def idle_memories(running: Running) -> Result:
    idle = {}
    for name, (c, _port) in running.items():
        idle[name] = memory(c)
        log(f"{name:<22} idle memory {idle[name]['mib']} MiB")
    return idle


def attempt(ctx: RunContext, container: Container, port: int, path: str, conc: int,
            sample: Result) -> Result:
    """One wrk run, the container's memory sampled half-way into ``sample``, the noise alongside."""
    s = ctx.settings

    def during() -> None:
        time.sleep(s.duration / 2.0)
        sample.update(memory(container) or {})

    sample.clear()
    t = threading.Thread(target=during)
    before = ctx.foreign.read()
    t.start()
    t0 = time.time()
    result = wrk(port, path, conc, s.duration, s.wrk_timeout)
    ctx.foreign.sample()
    result["foreign_cpu"] = round((ctx.foreign.read() - before) / (time.time() - t0), 3)
    t.join()
    return result


def measured_run(ctx: RunContext, name: str, container: Container, port: int, path: str,
                 conc: int) -> Result:
    """A kept run of one cell: repeated while other processes were too busy (the others are kept too)."""
    sample: Result = {}
    discarded = []
    for n in range(ATTEMPTS):
        result = attempt(ctx, container, port, path, conc, sample)
        if result["foreign_cpu"] <= FOREIGN_CPU_LIMIT or n == ATTEMPTS - 1:
            break
        log(f"{name} {path} c={conc:d}: other processes used {result['foreign_cpu']:.2f} of a core: "
            "run repeated")
        discarded.append(result)
        time.sleep(5)
    result["discarded"] = discarded
    result["memory_after"] = memory(container)
    result["memory_during"] = sample or None
    return result


def log_run(name: str, path: str, conc: int, rep: int, result: Result) -> None:
    errors = f"  errors {result['errors']:d}" if result["errors"] else ""
    log(f"{name:<22} {path:<6} c={conc:<3d} run {rep + 1:d}: {result['rps']:8.1f} req/s  "
        f"p50 {result['p50_ms'] or -1:7.2f} ms  p99 {result['p99_ms'] or -1:8.2f} ms  "
        f"mem {result['memory_after']['mib']} MiB{errors}")


def measure_cells(ctx: RunContext, running: Running) -> Runs:
    """runs[name][path][str(concurrency)]: the kept runs of every cell, configurations interleaved."""
    s = ctx.settings
    runs: Runs = {}
    for path in ENDPOINTS:
        for conc in s.concurrency:
            for _c, port in running.values():
                wrk(port, path, conc, s.warmup, s.wrk_timeout)  # warm-up, discarded
            for rep in range(s.runs):
                for name, (c, port) in running.items():
                    result = measured_run(ctx, name, c, port, path, conc)
                    runs.setdefault(name, {}).setdefault(path, {}).setdefault(str(conc), []).append(result)
                    log_run(name, path, conc, rep, result)
    return runs


def check_running(running: Running) -> None:
    """Raise if a server died during the benchmark (its figures would mean nothing)."""
    for name, (c, _port) in running.items():
        c.reload()
        if c.status != "running":
            raise RuntimeError(f"{name} stopped during the benchmark:\n{logs_tail(c)}")


def serving(ctx: RunContext, image: str, configs: list[ServerConfig]) -> Result:
    """Every (endpoint, concurrency) cell, configs interleaved in each repetition."""
    running: Running = {}
    try:
        start_all(ctx, image, configs, running)
        time.sleep(2)
        capacity = request_capacities(running)
        idle = idle_memories(running)
        runs = measure_cells(ctx, running)
        check_running(running)
    finally:
        for c, _port in running.values():
            c.remove(force=True)
    return {"runs": runs, "idle_memory": idle, "median": summarise(runs), "capacity": capacity}
