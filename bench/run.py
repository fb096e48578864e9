#!/usr/bin/env python3
"""Benchmark one whiskey variant: serving, cold start, image sizes, builds.

    python3 bench/run.py --variant python-3.11            # the full run (~15 min, 2 cores)
    python3 bench/run.py --variant python-3.11 --quick    # a smoke run (~2 min)

Writes bench/results/<variant>.json (every sample), <variant>.md (the tables)
and <variant>-serving.png (the plot).  Everything runs against 127.0.0.1 and is
bounded in time; see BENCHMARKS.md for what is measured and why.

Serving: ONE application image (bench/app, built with whiskey.s2i.build_app)
is run under every server configuration, so the interpreter, the libraries
and the container limits are the same for all; only the container command
(gunicorn) or the MOD_WSGI_* environment (whiskey) differs.  The load
generator is wrk on the host; each (endpoint, concurrency) cell is measured
`--runs` times, the configurations interleaved inside every repetition so
that machine noise hits them alike, and the median is reported.

Needs: the Docker engine, wrk (apt-get install wrk), and on the host Python
the packages docker, PyYAML (whiskey.matrix) and matplotlib.
"""

from __future__ import print_function

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from whiskey import matrix, s2i  # noqa: E402

APP = os.path.join(HERE, "app")
COMPILED_APP = os.path.join(ROOT, "tests", "apps", "compiled")
RESULTS = os.path.join(HERE, "results")
COLD_BUILDS = os.path.join(HERE, "cold-builds.json")
BENCH_REPO = "whiskey-bench"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
APP_DIR = "/opt/app-root/src"
HOST = "127.0.0.1"  # the only address this script ever sends traffic to


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------- machine

def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return ""


def machine(client):
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    info = client.info()
    try:
        wrk = subprocess.run(["wrk", "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout.decode().splitlines()[0]
    except (OSError, IndexError):
        wrk = None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu.group(1).strip() if cpu else None,
        "memory_gib": round(int(mem.group(1)) / 1024.0 / 1024.0, 1) if mem else None,
        "kernel": platform.release(),
        "docker_server": client.version().get("Version"),
        "cgroup_version": info.get("CgroupVersion"),
        "storage_driver": info.get("Driver"),
        "wrk": wrk,
        "host_python": platform.python_version(),
        "loadavg_at_start": _read("/proc/loadavg").split()[:3],
    }


def git_revision():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except OSError:
        return None


ENGINE = {"dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "docker-proxy",
          "runc", "docker-init"}


class ForeignCPU(threading.Thread):
    """CPU used on the host by anything that is not this benchmark.

    Every second it reads utime+stime of every process in /proc and adds the
    increase of the "foreign" ones to a counter (core-seconds).  Not foreign:
    this process and its children (wrk, build.py), processes inside our own
    containers, the Docker engine's processes and kernel threads.  A run
    during which others used more than ``LIMIT`` of a core is repeated.
    """

    LIMIT = 0.10
    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.containers = set()  # full ids of our containers
        self.total = 0.0
        self.last = {}
        self.ours = {}
        self.me = os.getpid()
        self.boot_ticks = None
        self.started_ticks = self._uptime_ticks()
        self.lock = threading.Lock()
        self.scan_lock = threading.Lock()
        self.stopped = threading.Event()

    def _uptime_ticks(self):
        return float(_read("/proc/uptime").split()[0]) * self.HZ

    def _is_ours(self, pid, ppid, comm, start):
        key = (pid, start)
        if key not in self.ours:
            ours = (pid == self.me or ppid == self.me or ppid == 2 or pid == 2 or comm in ENGINE)
            if not ours and self.containers:
                cg = _read("/proc/%d/cgroup" % pid)
                ours = any(cid in cg for cid in self.containers)
            self.ours[key] = ours
        return self.ours[key]

    def sample(self):
        with self.scan_lock:
            self._scan()

    def _scan(self):
        added = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            stat = _read("/proc/%d/stat" % pid)
            if not stat:
                continue
            comm = stat[stat.find("(") + 1:stat.rfind(")")]
            rest = stat[stat.rfind(")") + 2:].split()
            try:
                ppid, ticks, start = int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19])
            except (IndexError, ValueError):
                continue
            if self._is_ours(pid, ppid, comm, start):
                continue
            key = (pid, start)
            if key in self.last:
                added += ticks - self.last[key]
            elif start > self.started_ticks:  # born since we started: all of it counts
                added += ticks
            self.last[key] = ticks
        with self.lock:
            self.total += added / float(self.HZ)

    def run(self):
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(1.0)

    def read(self):
        with self.lock:
            return self.total

    def stop(self):
        self.stopped.set()


FOREIGN = None  # the running ForeignCPU


# ---------------------------------------------------------------- configurations

def configurations(cpus, quick):
    """(name, description, run kwargs) of every server configuration measured.

    "cores" for the usual gunicorn formula is the container's CPU limit, not
    the host's: the container cannot use more.
    """
    cores = max(1, int(math.ceil(cpus)))
    w = 2 * cores + 1
    gunicorn = ["gunicorn", "--bind", "0.0.0.0:8080"]
    configs = [
        ("whiskey-default",
         "whiskey's image command, no MOD_WSGI_* set (whiskey sizes the server for the container)",
         {}),
        ("whiskey-1x5",
         "MOD_WSGI_PROCESSES=1 MOD_WSGI_THREADS=5: mod_wsgi-express's own default "
         "(whiskey's default before commit a1a215f)",
         {"environment": {"MOD_WSGI_PROCESSES": "1", "MOD_WSGI_THREADS": "5"}}),
        ("gunicorn-sync-1",
         "gunicorn, 1 sync worker (the stock S2I Python default)",
         {"command": gunicorn + ["--workers", "1", "wsgi:application"]}),
        ("gunicorn-sync-%d" % w,
         "gunicorn, 2 x cores + 1 = %d sync workers" % w,
         {"command": gunicorn + ["--workers", str(w), "wsgi:application"]}),
        ("gunicorn-gthread-%dx4" % w,
         "gunicorn, gthread worker, %d workers x 4 threads" % w,
         {"command": gunicorn + ["--worker-class", "gthread", "--workers", str(w),
                                 "--threads", "4", "wsgi:application"]}),
        ("whiskey-1x32",
         "MOD_WSGI_PROCESSES=1 MOD_WSGI_THREADS=32",
         {"environment": {"MOD_WSGI_PROCESSES": "1", "MOD_WSGI_THREADS": "32"}}),
        ("whiskey-2x8",
         "MOD_WSGI_PROCESSES=2 MOD_WSGI_THREADS=8",
         {"environment": {"MOD_WSGI_PROCESSES": "2", "MOD_WSGI_THREADS": "8"}}),
    ]
    if quick:
        keep = ("whiskey-default", "whiskey-1x5", "gunicorn-sync-1", "gunicorn-gthread-%dx4" % w)
        configs = [c for c in configs if c[0] in keep]
    return configs


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_status(port, path, timeout=2.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def start_container(client, image, run_kwargs, cpus, memory, port):
    kwargs = dict(run_kwargs)
    if "command" in kwargs:
        kwargs["working_dir"] = APP_DIR
    c = client.containers.run(
        image, detach=True, ports={"8080/tcp": (HOST, port)},
        nano_cpus=int(cpus * 1e9), mem_limit=memory, memswap_limit=memory,
        labels={"whiskey-bench": "1"}, **kwargs)
    if FOREIGN is not None:
        FOREIGN.containers.add(c.id)
    return c


def wait_200(port, container, deadline_s=60.0, interval=0.01):
    """Seconds until GET /hello answers 200; raises if it never does."""
    start = time.time()
    while time.time() - start < deadline_s:
        try:
            if get_status(port, "/hello", timeout=1.0) == 200:
                return time.time() - start
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(interval)
    container.reload()
    raise RuntimeError("no 200 on /hello within %ss (status %s); logs:\n%s" % (
        deadline_s, container.status, container.logs().decode("utf-8", "replace")[-3000:]))


# ---------------------------------------------------------------- memory

def memory(container):
    """The container's memory from the engine's stats, in MiB.

    ``mib`` (the figure reported) is usage minus the page cache: cgroup v1
    memory.usage_in_bytes - total_cache, cgroup v2 usage - file.  Also kept:
    ``docker_stats_mib`` (usage - inactive file, what `docker stats` shows)
    and ``rss_mib`` (anonymous memory).
    """
    s = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
    usage = s.get("usage")
    st = s.get("stats") or {}
    if usage is None:
        return None
    if "total_cache" in st:  # cgroup v1
        cache, inactive, rss = st.get("total_cache", 0), st.get("total_inactive_file", 0), st.get("total_rss")
    else:  # cgroup v2
        cache, inactive, rss = st.get("file", 0), st.get("inactive_file", 0), st.get("anon")
    mib = 1024.0 * 1024.0
    return {"mib": round((usage - cache) / mib, 1),
            "docker_stats_mib": round((usage - inactive) / mib, 1),
            "rss_mib": round(rss / mib, 1) if rss is not None else None,
            "usage_mib": round(usage / mib, 1)}


# ---------------------------------------------------------------- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_wrk(out):
    r = {}
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    r["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        r["p%s_ms" % pct] = _ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                  map(int, m.groups()))) if m else {}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    # read errors are how wrk counts a server closing the connection after
    # each response (gunicorn's sync worker does): not failures.
    r["errors"] = r["non_2xx"] + sum(v for k, v in r["socket_errors"].items() if k != "read")
    return r


def wrk(port, path, concurrency, seconds, timeout_s):
    threads = min(concurrency, 2)
    cmd = ["wrk", "--latency", "-t", str(threads), "-c", str(concurrency), "-d", "%ds" % seconds,
           "--timeout", "%ds" % timeout_s, "http://%s:%d%s" % (HOST, port, path)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=seconds + timeout_s + 30)
    out = proc.stdout.decode("utf-8", "replace")
    result = parse_wrk(out)
    if result["rps"] is None:
        raise RuntimeError("wrk gave no Requests/sec:\n" + out)
    return result


# ---------------------------------------------------------------- serving

def serving(client, image, configs, args):
    """Every (endpoint, concurrency) cell, configs interleaved in each repetition."""
    endpoints = ["/io", "/hello"]
    runs = {}
    idle = {}
    containers = {}
    try:
        for name, _desc, kw in configs:
            port = free_port()
            c = start_container(client, image, kw, args.cpus, args.memory, port)
            containers[name] = (c, port)
            wait_200(port, c)
        time.sleep(2)
        capacity = {}
        for name, (c, _port) in containers.items():
            m = re.search(r"Request Capacity\s*:\s*(.+)", c.logs().decode("utf-8", "replace"))
            if m:
                capacity[name] = m.group(1).strip()
        for name, (c, _port) in containers.items():
            idle[name] = memory(c)
            log("%-22s idle memory %s MiB" % (name, idle[name]["mib"]))
        for path in endpoints:
            for conc in args.concurrency:
                for name, (c, port) in containers.items():
                    wrk(port, path, conc, args.warmup, args.wrk_timeout)  # warm-up, discarded
                for rep in range(args.runs):
                    for name, (c, port) in containers.items():
                        result = {}
                        sample = {}

                        def during(c=c, sample=sample):
                            time.sleep(args.duration / 2.0)
                            sample.update(memory(c) or {})

                        discarded = []
                        for attempt in range(3):
                            sample.clear()
                            t = threading.Thread(target=during)
                            before = FOREIGN.read()
                            t.start()
                            t0 = time.time()
                            result = wrk(port, path, conc, args.duration, args.wrk_timeout)
                            FOREIGN.sample()
                            result["foreign_cpu"] = round((FOREIGN.read() - before) / (time.time() - t0), 3)
                            t.join()
                            if result["foreign_cpu"] <= ForeignCPU.LIMIT or attempt == 2:
                                break
                            log("%s %s c=%d: other processes used %.2f of a core: run repeated"
                                % (name, path, conc, result["foreign_cpu"]))
                            discarded.append(result)
                            time.sleep(5)
                        result["discarded"] = discarded
                        result["memory_after"] = memory(c)
                        result["memory_during"] = sample or None
                        runs.setdefault(name, {}).setdefault(path, {}).setdefault(
                            str(conc), []).append(result)
                        log("%-22s %-6s c=%-3d run %d: %8.1f req/s  p50 %7.2f ms  p99 %8.2f ms  "
                            "mem %s MiB%s" % (name, path, conc, rep + 1, result["rps"],
                                              result["p50_ms"] or -1, result["p99_ms"] or -1,
                                              result["memory_after"]["mib"],
                                              "  errors %d" % result["errors"] if result["errors"] else ""))
        for name, (c, _port) in containers.items():
            c.reload()
            if c.status != "running":
                raise RuntimeError("%s stopped during the benchmark:\n%s" % (
                    name, c.logs().decode("utf-8", "replace")[-3000:]))
    finally:
        for c, _port in containers.values():
            c.remove(force=True)
    summary = {}
    for name, by_path in runs.items():
        for path, by_conc in by_path.items():
            for conc, rs in by_conc.items():
                summary.setdefault(name, {}).setdefault(path, {})[conc] = {
                    "rps": round(median([r["rps"] for r in rs]), 1),
                    "p50_ms": round(median([r["p50_ms"] for r in rs]), 2),
                    "p99_ms": round(median([r["p99_ms"] for r in rs]), 2),
                    "memory_mib": median([r["memory_after"]["mib"] for r in rs]),
                    "memory_during_mib": median([(r["memory_during"] or {}).get("mib") for r in rs]),
                    "errors": sum(r["errors"] for r in rs),
                    "runs": len(rs),
                    "foreign_cpu_max": max(r["foreign_cpu"] for r in rs),
                    "repeated": sum(len(r["discarded"]) for r in rs),
                }
    return {"runs": runs, "idle_memory": idle, "median": summary, "capacity": capacity}


# ---------------------------------------------------------------- cold start

def cold_start(client, image, configs, args):
    out = {}
    for name, _desc, kw in configs:
        times = []
        for _ in range(args.cold_runs):
            port = free_port()
            t0 = time.time()
            c = start_container(client, image, kw, args.cpus, args.memory, port)
            try:
                wait_200(port, c, interval=0.005)
                times.append(round(time.time() - t0, 3))
            finally:
                c.remove(force=True)
        out[name] = {"seconds": times, "median": median(times)}
        log("cold start %-22s median %.3f s %s" % (name, out[name]["median"], times))
    return out


# ---------------------------------------------------------------- images

def _layers(image):
    return image.attrs.get("RootFS", {}).get("Layers", [])


def images_report(client, variants_by_name, app_image=None, app_builder=None):
    """Size of every whiskey:python-* image and of the layers above its base."""
    seen = {}
    for img in client.images.list(name="whiskey"):
        tags = [t for t in img.tags if t.split(":")[-1].startswith("python-")]
        if not tags:
            continue
        variant = img.labels.get("whiskey.variant") or min(tags).split(":")[-1]
        seen.setdefault(img.id, (variant, img, sorted(img.tags)))
    rows = []
    for _id, (variant, img, tags) in sorted(seen.items(), key=lambda kv: kv[1][0]):
        v = variants_by_name.get(variant)
        base_name = v.base if v else None
        row = {"variant": variant, "tags": tags, "id": img.short_id,
               "size_mb": round(img.attrs["Size"] / 1e6, 1), "base": base_name}
        try:
            base = client.images.get(base_name)
            bl, il = _layers(base), _layers(img)
            row["base_size_mb"] = round(base.attrs["Size"] / 1e6, 1)
            row["base_is_prefix"] = il[:len(bl)] == bl
            row["added_layers"] = len(il) - len(bl)
            row["added_mb"] = round((img.attrs["Size"] - base.attrs["Size"]) / 1e6, 1)
        except Exception as exc:  # base not present: say so
            row["error"] = str(exc)
        # The biggest layers whiskey adds (docker history, newest first).
        hist = [h for h in img.history() if h.get("Size")]
        n_base = len(_layers(client.images.get(base_name))) if base_name and "error" not in row else 0
        added = hist[:max(0, len(hist) - n_base)]
        row["largest_added"] = [
            {"mb": round(h["Size"] / 1e6, 1), "created_by": h.get("CreatedBy", "")[:140]}
            for h in sorted(added, key=lambda h: -h["Size"])[:4]]
        rows.append(row)
    out = {"builders": rows}
    if app_image is not None:
        app = client.images.get(app_image)
        builder = client.images.get(app_builder)
        out["bench_app"] = {"image": app_image, "size_mb": round(app.attrs["Size"] / 1e6, 1),
                            "added_by_assemble_mb": round((app.attrs["Size"] - builder.attrs["Size"]) / 1e6, 1)}
    return out


# ---------------------------------------------------------------- builds

def _timed(cmd):
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    secs = round(time.time() - t0, 2)
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, out[-3000:]))
    return secs, out


def builds(client, variant, args):
    """Builder rebuilds through ./build.py, app assembles through s2i.build_app."""
    out = {}
    if os.path.exists(COLD_BUILDS):
        with open(COLD_BUILDS) as f:
            out["cold"] = json.load(f)
    else:
        out["cold"] = None
    # build.py writes build-logs/<variant>.log: keep the one that was there.
    logfile = os.path.join(ROOT, "build-logs", variant.name + ".log")
    saved = _read(logfile) if os.path.exists(logfile) else None
    base_cmd = [sys.executable, "build.py", "build", "--repository", BENCH_REPO, variant.name]
    try:
        # Into a repository of our own, so the lead's whiskey:* tags are never
        # moved.  The first build there goes through Docker's layer cache.
        bench_tag = "%s:%s" % (BENCH_REPO, variant.name)
        prime, text = _timed(base_cmd)
        own(client, bench_tag)
        m = re.search(r"^%s\s+(\w+)\b" % re.escape(variant.name), text, re.M)
        out["first_into_bench_repo_result"] = m.group(1) if m else None
        log("build.py build (first, into %s): %.2f s" % (BENCH_REPO, prime))
        nochange = []
        for _ in range(args.build_runs):
            secs, text = _timed(base_cmd)
            own(client, bench_tag)
            if not re.search(r"^%s\s+unchanged\b" % re.escape(variant.name), text, re.M):
                raise RuntimeError("expected a no-change build, got:\n" + text[-2000:])
            nochange.append(secs)
        log("no-change rebuild (inputs hash): %s" % nochange)
        forced = []
        for _ in range(args.build_runs):
            secs, text = _timed(base_cmd[:3] + ["--force"] + base_cmd[3:])
            own(client, bench_tag)
            if not re.search(r"^%s\s+built\b" % re.escape(variant.name), text, re.M):
                raise RuntimeError("expected a forced build, got:\n" + text[-2000:])
            steps = len(re.findall(r"Step \d+/\d+", text))
            out.setdefault("forced_steps", []).append(steps)
            forced.append(secs)
        log("no-change rebuild (--force, Docker layer cache): %s" % forced)
    finally:
        if saved is not None:
            with open(logfile, "w") as f:
                f.write(saved)
    out["first_into_bench_repo_s"] = prime
    out["nochange"] = {"command": " ".join(["python3"] + base_cmd[1:]), "seconds": nochange,
                       "median": median(nochange)}
    out["nochange_forced"] = {"command": " ".join(["python3"] + base_cmd[1:3] + ["--force"] + base_cmd[3:]),
                              "seconds": forced, "median": median(forced)}
    # App assemble, clean then incremental, interleaved.
    builder = "whiskey:%s" % variant.name
    tag = "%s/compiled:%s" % (BENCH_REPO, variant.name)
    clean, incr = [], []
    for _ in range(args.build_runs):
        t0 = time.time()
        s2i.build_app(client, builder, COMPILED_APP, tag, incremental=False, ca_bundle=CA_BUNDLE)
        own(client, tag)
        clean.append(round(time.time() - t0, 2))
        t0 = time.time()
        _img, logs = s2i.build_app(client, builder, COMPILED_APP, tag, incremental=True,
                                   ca_bundle=CA_BUNDLE)
        own(client, tag)
        incr.append(round(time.time() - t0, 2))
    log("assemble tests/apps/compiled clean %s, incremental %s" % (clean, incr))
    out["assemble"] = {"app": "tests/apps/compiled", "builder": builder,
                       "clean": {"seconds": clean, "median": median(clean)},
                       "incremental": {"seconds": incr, "median": median(incr)}}
    return out


OWNED = set()  # ids of images this run created (tagged into BENCH_REPO)


def own(client, tag):
    """Remember the image now tagged ``tag`` (one of ours) for the clean-up."""
    try:
        OWNED.add(client.images.get(tag).id)
    except Exception:
        pass


def _ours(tag):
    return tag.startswith(BENCH_REPO + "/") or tag.startswith(BENCH_REPO + ":")


def cleanup_images(client, keep_app):
    """Remove this run's own images (whiskey-bench/*, whiskey-bench:*), nothing else.

    Tags of ours are removed (an image that also carries someone else's tag
    is only untagged); then every image this run created that is left with
    no tag at all (superseded by a rebuild of one of our tags) is removed.
    """
    for img in client.images.list():
        for t in img.tags:
            if _ours(t) and not (keep_app and t.startswith(BENCH_REPO + "/app:")):
                try:
                    client.images.remove(t)
                except Exception as exc:
                    log("could not remove %s: %s" % (t, exc))
    for image_id in OWNED:
        try:
            img = client.images.get(image_id)
        except Exception:
            continue
        if not img.tags:
            try:
                client.images.remove(image_id)
            except Exception as exc:
                log("could not remove %s: %s" % (image_id[:19], exc))


# ---------------------------------------------------------------- report

def ratios(summary, configs, conc="32", path="/io"):
    def cell(name):
        return summary.get(name, {}).get(path, {}).get(conc)
    names = [c[0] for c in configs]
    gun1 = cell("gunicorn-sync-1")
    tuned = [n for n in names if n.startswith("gunicorn-") and n != "gunicorn-sync-1" and cell(n)]
    best = max(tuned, key=lambda n: cell(n)["rps"]) if tuned else None
    out = {"at": {"path": path, "concurrency": int(conc)}, "best_tuned_gunicorn": best, "by_config": {}}
    for n in names:
        if not n.startswith("whiskey") or not cell(n) or not gun1:
            continue
        w = cell(n)
        r = {"rps_vs_gunicorn_sync_1": round(w["rps"] / gun1["rps"], 2),
             "memory_vs_gunicorn_sync_1": round(w["memory_mib"] / gun1["memory_mib"], 2)}
        if best:
            b = cell(best)
            r["rps_vs_best_tuned"] = round(w["rps"] / b["rps"], 3)
            r["memory_vs_best_tuned"] = round(w["memory_mib"] / b["memory_mib"], 3)
        out["by_config"][n] = r
    return out


def targets(result):
    t = []
    rat = result.get("ratios", {}).get("by_config", {}).get("whiskey-default")
    if rat:
        t.append(("/io c=32: whiskey default >= 10x req/s of gunicorn 1 sync worker",
                  "%.2fx" % rat["rps_vs_gunicorn_sync_1"], rat["rps_vs_gunicorn_sync_1"] >= 10))
        t.append(("/io c=32: ... at <= 1.5x its memory",
                  "%.2fx" % rat["memory_vs_gunicorn_sync_1"], rat["memory_vs_gunicorn_sync_1"] <= 1.5))
        if "rps_vs_best_tuned" in rat:
            t.append(("/io c=32: within 20%% of the best tuned gunicorn (%s) in req/s"
                      % result["ratios"]["best_tuned_gunicorn"],
                      "%.2fx" % rat["rps_vs_best_tuned"], rat["rps_vs_best_tuned"] >= 0.8))
            t.append(("/io c=32: ... at less memory than it",
                      "%.2fx" % rat["memory_vs_best_tuned"], rat["memory_vs_best_tuned"] < 1.0))
    cs = result.get("cold_start", {}).get("whiskey-default")
    if cs:
        t.append(("cold start (docker run to first 200) < 1.5 s", "%.2f s" % cs["median"],
                  cs["median"] < 1.5))
    b = result.get("builds")
    if b:
        t.append(("no-change rebuild of a variant < 10 s (`build.py build`, inputs hash)",
                  "%.2f s" % b["nochange"]["median"], b["nochange"]["median"] < 10))
        t.append(("... forced through Docker's layer cache (`build.py build --force`)",
                  "%.2f s" % b["nochange_forced"]["median"], b["nochange_forced"]["median"] < 10))
    return [{"target": a, "measured": m, "met": ok} for a, m, ok in t]


def markdown(result):
    L = []
    p = result["parameters"]
    L.append("# Benchmark results: %s" % result["variant"])
    L.append("")
    L.append("Produced by `%s` on %s (whiskey %s). Do not edit: run it again." % (
        result["command"], result["finished"], result["git_revision"]))
    if result.get("builder"):
        bd = result["builder"]
        L.append("")
        L.append("Builder image: `%s` (%s, created %s)." % (bd["tag"], bd["id"], bd["created"]))
    L.append("")
    m = result["machine"]
    L.append("Machine: %s, %s CPUs, %s GiB RAM, Linux %s, Docker %s (cgroup v%s, %s), %s. "
             "Load average at start %s, at end %s (it counts this benchmark's own CPU-throttled "
             "threads; the noise line under Serving is the measure of other activity)." % (
                 m["cpu_model"], m["nproc"], m["memory_gib"], m["kernel"], m["docker_server"],
                 m["cgroup_version"], m["storage_driver"], m["wrk"], " ".join(m["loadavg_at_start"]),
                 " ".join(m.get("loadavg_at_end", []))))
    L.append("")
    if "serving" in result:
        L.append("## Serving")
        L.append("")
        L.append("Every container: `--cpus %s --memory %s`, port 8080 published on 127.0.0.1, the "
                 "same image `%s`. wrk on the host: `wrk --latency -t min(c,2) -c c -d %ds "
                 "--timeout %ds`, after a %ds warm-up per cell; the median of %d runs, the "
                 "configurations interleaved in each run. Memory: the container's cgroup usage minus "
                 "page cache, sampled right after each run (MiB)." % (
                     p["cpus"], p["memory"], result["app_image"], p["duration"], p["wrk_timeout"],
                     p["warmup"], p["runs"]))
        L.append("")
        allruns = [r for by_p in result["serving"]["runs"].values() for by_c in by_p.values()
                   for rs in by_c.values() for r in rs]
        L.append("Noise from the rest of the machine: other processes (not this script, wrk, "
                 "our containers or the Docker engine) used on average %.3f of a core during the "
                 "serving part; the worst kept run saw %.3f; %d runs were repeated because others "
                 "used more than %.2f of a core during them." % (
                     result["serving"]["foreign_cpu_mean"], max(r["foreign_cpu"] for r in allruns),
                     sum(len(r["discarded"]) for r in allruns), ForeignCPU.LIMIT))
        L.append("")
        L.append("| configuration | what it is | mod_wsgi-express's request capacity | idle memory (MiB) |")
        L.append("|---|---|---|---:|")
        for name, desc in result["configurations"]:
            L.append("| %s | %s | %s | %s |" % (name, desc, result["serving"]["capacity"].get(name, "-"),
                                               result["serving"]["idle_memory"][name]["mib"]))
        L.append("")
        med = result["serving"]["median"]
        for path, title in (("/io", "`/io` (sleeps 50 ms: I/O-bound)"),
                            ("/hello", "`/hello` (hello world: server overhead, CPU-bound)")):
            L.append("### %s" % title)
            L.append("")
            L.append("| configuration | c | req/s | p50 ms | p99 ms | memory MiB | errors |")
            L.append("|---|---:|---:|---:|---:|---:|---:|")
            for name, _desc in result["configurations"]:
                for conc in p["concurrency"]:
                    cell = med[name][path][str(conc)]
                    L.append("| %s | %d | %.1f | %.2f | %.2f | %.1f | %d |" % (
                        name, conc, cell["rps"], cell["p50_ms"], cell["p99_ms"],
                        cell["memory_mib"], cell["errors"]))
            L.append("")
        L.append("![requests/s against concurrency](%s)" % os.path.basename(result["plot"]))
        L.append("")
        r = result["ratios"]
        L.append("### Ratios at `/io`, c=%d (same run)" % r["at"]["concurrency"])
        L.append("")
        L.append("Best tuned gunicorn at this cell: **%s**." % r["best_tuned_gunicorn"])
        L.append("")
        L.append("| whiskey configuration | req/s vs gunicorn-sync-1 | memory vs gunicorn-sync-1 | "
                 "req/s vs best tuned | memory vs best tuned |")
        L.append("|---|---:|---:|---:|---:|")
        for name, v in [(n, r["by_config"][n]) for n, _d in result["configurations"]
                        if n in r["by_config"]]:
            L.append("| %s | %.2fx | %.2fx | %s | %s |" % (
                name, v["rps_vs_gunicorn_sync_1"], v["memory_vs_gunicorn_sync_1"],
                "%.2fx" % v["rps_vs_best_tuned"] if "rps_vs_best_tuned" in v else "-",
                "%.2fx" % v["memory_vs_best_tuned"] if "memory_vs_best_tuned" in v else "-"))
        L.append("")
    if "cold_start" in result:
        L.append("## Cold start")
        L.append("")
        L.append("From `containers.run(detach=True)` to the first 200 on `/hello` (polled every "
                 "5 ms), same limits; median of %d." % p["cold_runs"])
        L.append("")
        L.append("| configuration | median s | runs (s) |")
        L.append("|---|---:|---|")
        for name, v in [(n, result["cold_start"][n]) for n, _d in result["configurations"]
                        if n in result["cold_start"]]:
            L.append("| %s | %.3f | %s |" % (name, v["median"], ", ".join("%.3f" % s for s in v["seconds"])))
        L.append("")
        L.append("Other processes used on average %.3f of a core meanwhile." % result.get(
            "cold_start_foreign_cpu_mean", float("nan")))
        L.append("")
    if "images" in result:
        L.append("## Images")
        L.append("")
        L.append("Sizes as `docker images` reports them (MB = 10^6 bytes); \"added\" is the image "
                 "minus its base (the base's layers are checked to be a prefix of the image's).")
        L.append("")
        L.append("| variant | tags | size MB | base | base MB | added MB | added layers |")
        L.append("|---|---|---:|---|---:|---:|---:|")
        for row in result["images"]["builders"]:
            L.append("| %s | %s | %.1f | %s | %s | %s | %s |" % (
                row["variant"], ", ".join(row["tags"]), row["size_mb"], row["base"],
                row.get("base_size_mb", "?"), row.get("added_mb", "?"), row.get("added_layers", "?")))
        L.append("")
        L.append("Largest layers whiskey adds:")
        L.append("")
        L.append("| variant | MB | instruction (truncated) |")
        L.append("|---|---:|---|")
        for row in result["images"]["builders"]:
            for lay in row["largest_added"][:3]:
                L.append("| %s | %.1f | `%s` |" % (row["variant"], lay["mb"],
                                                  lay["created_by"].replace("|", "\\|")[:100]))
        L.append("")
        a = result["images"].get("bench_app")
        if a:
            L.append("The benchmark's application image (`%s`): %.1f MB, of which assemble added "
                     "%.1f MB." % (a["image"], a["size_mb"], a["added_by_assemble_mb"]))
            L.append("")
    if "builds" in result:
        b = result["builds"]
        L.append("## Builds")
        L.append("")
        L.append("| what | command | median s | runs (s) |")
        L.append("|---|---|---:|---|")
        if b["cold"]:
            for k, v in sorted(b["cold"].items()):
                if isinstance(v, dict):
                    secs = v.get("seconds")
                    L.append("| cold build %s | `%s` | %s | %s |" % (
                        k, v.get("command", "docker builder prune -af && python3 build.py build %s" % k),
                        secs if not isinstance(secs, list) else median(secs),
                        secs if isinstance(secs, list) else ""))
                else:
                    L.append("| cold build %s | `docker builder prune -af && python3 build.py build %s` "
                             "| %s | |" % (k, k, v))
        else:
            L.append("| cold build | `docker builder prune -af && python3 build.py build %s` | "
                     "not measured in this run | |" % result["variant"])
        L.append("| no-change rebuild (inputs hash unchanged: retag only) | `%s` | %.2f | %s |" % (
            b["nochange"]["command"], b["nochange"]["median"], b["nochange"]["seconds"]))
        L.append("| no-change rebuild forced through Docker's layer cache | `%s` | %.2f | %s |" % (
            b["nochange_forced"]["command"], b["nochange_forced"]["median"], b["nochange_forced"]["seconds"]))
        a = b["assemble"]
        L.append("| app assemble, clean (`%s`, compiles crcmod) | `s2i.build_app(..., incremental=False)` "
                 "| %.2f | %s |" % (a["app"], a["clean"]["median"], a["clean"]["seconds"]))
        L.append("| app assemble, incremental (saved wheels) | `s2i.build_app(..., incremental=True)` "
                 "| %.2f | %s |" % (a["incremental"]["median"], a["incremental"]["seconds"]))
        L.append("")
        L.append("Other processes used on average %.3f of a core during the builds." % b.get(
            "foreign_cpu_mean", float("nan")))
        L.append("")
        L.append("The first `build.py build` into the `%s` repository (a new tag: a full Docker "
                 "build, every step from the layer cache) took %.2f s." % (BENCH_REPO, b["first_into_bench_repo_s"]))
        L.append("")
    if result.get("targets"):
        L.append("## Targets (issue 5)")
        L.append("")
        L.append("| target | measured | met |")
        L.append("|---|---:|---|")
        for t in result["targets"]:
            L.append("| %s | %s | %s |" % (t["target"], t["measured"], "yes" if t["met"] else "**no**"))
        L.append("")
    return "\n".join(L)


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    med = result["serving"]["median"]
    concs = result["parameters"]["concurrency"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    for ax, ep, title in ((axes[0], "/io", "/io (sleep 50 ms): requests/s"),
                          (axes[1], "/hello", "/hello: requests/s")):
        for name, _d in result["configurations"]:
            ys = [med[name][ep][str(c)]["rps"] for c in concs]
            style = "-o" if name.startswith("whiskey") else "--s"
            ax.plot(concs, ys, style, label=name)
        ax.set_xscale("log", base=2)
        ax.set_xticks(concs)
        ax.set_xticklabels([str(c) for c in concs])
        ax.set_xlabel("concurrent connections (wrk -c)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    ax = axes[2]
    for name, _d in result["configurations"]:
        ys = [med[name]["/io"][str(c)]["memory_mib"] for c in concs]
        style = "-o" if name.startswith("whiskey") else "--s"
        ax.plot(concs, ys, style, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(concs)
    ax.set_xticklabels([str(c) for c in concs])
    ax.set_xlabel("concurrent connections (wrk -c)")
    ax.set_title("/io: container memory after the run (MiB)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("whiskey %s vs gunicorn, same image, --cpus %s --memory %s (median of %d runs)" % (
        result["variant"], result["parameters"]["cpus"], result["parameters"]["memory"],
        result["parameters"]["runs"]))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", default="python-3.11")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 4 configurations, c=1 and 32, 1 run of 2 s, 1 build run")
    ap.add_argument("--cpus", type=float, default=1.0, help="container CPU limit (default 1.0)")
    ap.add_argument("--memory", default="512m", help="container memory limit (default 512m)")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["serving", "cold-start", "images", "builds"])
    ap.add_argument("--keep-images", action="store_true", help="keep the bench app image")
    ap.add_argument("--output-dir", default=RESULTS)
    ap.add_argument("--render", metavar="JSON",
                    help="only write the .md and the plot again from an earlier results file")
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            result = json.load(f)
        stem = args.render[:-len(".json")]
        if "serving" in result:
            plot(result, stem + "-serving.png")
        with open(stem + ".md", "w") as f:
            f.write(markdown(result) + "\n")
        log("wrote %s.md from %s" % (stem, args.render))
        return 0
    if args.quick:
        args.concurrency, args.runs, args.duration, args.warmup = [1, 32], 1, 2, 1
        args.cold_runs, args.build_runs = 2, 1
    else:
        args.concurrency, args.runs, args.duration, args.warmup = [1, 8, 32, 64], 3, 4, 2
        args.cold_runs, args.build_runs = 5, 3
    args.wrk_timeout = 10

    import docker
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing (apt-get install -y wrk)")
    import importlib.util
    if importlib.util.find_spec("matplotlib") is None:
        sys.exit("bench: matplotlib is missing (python3 -m pip install matplotlib)")
    client = docker.from_env(timeout=1200)
    variants = {v.name: v for v in matrix.load()}
    if args.variant not in variants:
        sys.exit("bench: unknown variant %s" % args.variant)
    variant = variants[args.variant]
    builder = "whiskey:%s" % variant.name
    builder_image = client.images.get(builder)  # must exist: ./build.py build <variant>

    global FOREIGN
    FOREIGN = ForeignCPU()
    FOREIGN.start()
    started = time.time()
    result = {
        "variant": variant.name,
        "command": "python3 bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_revision": git_revision(),
        "builder": {"tag": builder, "id": builder_image.short_id,
                    "created": builder_image.labels.get("org.opencontainers.image.created"),
                    "revision": builder_image.labels.get("org.opencontainers.image.revision")},
        "machine": machine(client),
        "parameters": {"cpus": args.cpus, "memory": args.memory, "concurrency": args.concurrency,
                       "runs": args.runs, "duration": args.duration, "warmup": args.warmup,
                       "wrk_timeout": args.wrk_timeout, "cold_runs": args.cold_runs,
                       "build_runs": args.build_runs, "quick": args.quick,
                       "memory_figure": "cgroup memory usage minus page cache (v1: usage - "
                                        "total_cache; v2: usage - file), MiB, from "
                                        "container.stats(stream=False) right after each wrk run"},
    }
    configs = configurations(args.cpus, args.quick)
    result["configurations"] = [(n, d) for n, d, _ in configs]
    app_tag = "%s/app:%s" % (BENCH_REPO, variant.name)
    try:
        if "serving" not in args.skip or "cold-start" not in args.skip:
            t0 = time.time()
            s2i.build_app(client, builder, APP, app_tag, ca_bundle=CA_BUNDLE)
            own(client, app_tag)
            result["app_image"] = app_tag
            result["app_build_s"] = round(time.time() - t0, 2)
            log("built %s in %.1f s" % (app_tag, result["app_build_s"]))
        if "serving" not in args.skip:
            f0 = FOREIGN.read()
            t0 = time.time()
            result["serving"] = serving(client, app_tag, configs, args)
            result["serving"]["foreign_cpu_mean"] = round((FOREIGN.read() - f0) / (time.time() - t0), 3)
            result["ratios"] = ratios(result["serving"]["median"], configs)
        if "cold-start" not in args.skip:
            cs_configs = [c for c in configs if c[0] in ("whiskey-default", "gunicorn-sync-1")]
            f0, t0 = FOREIGN.read(), time.time()
            result["cold_start"] = cold_start(client, app_tag, cs_configs, args)
            result["cold_start_foreign_cpu_mean"] = round((FOREIGN.read() - f0) / (time.time() - t0), 3)
        if "images" not in args.skip:
            result["images"] = images_report(client, variants,
                                             app_tag if "app_image" in result else None, builder)
        if "builds" not in args.skip:
            f0, t0 = FOREIGN.read(), time.time()
            result["builds"] = builds(client, variant, args)
            result["builds"]["foreign_cpu_mean"] = round((FOREIGN.read() - f0) / (time.time() - t0), 3)
    finally:
        for c in client.containers.list(all=True, filters={"label": "whiskey-bench"}):
            c.remove(force=True)
        cleanup_images(client, args.keep_images)
    FOREIGN.stop()
    result["foreign_cpu_core_seconds_total"] = round(FOREIGN.read(), 1)
    result["machine"]["loadavg_at_end"] = _read("/proc/loadavg").split()[:3]
    result["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    result["wall_seconds"] = round(time.time() - started, 1)
    result["targets"] = targets(result)
    if not os.path.isdir(args.output_dir):
        os.makedirs(args.output_dir)
    stem = os.path.join(args.output_dir, variant.name + ("-quick" if args.quick else ""))
    result["plot"] = stem + "-serving.png"
    if "serving" in result:
        plot(result, result["plot"])
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    with open(stem + ".md", "w") as f:
        f.write(markdown(result) + "\n")
    log("wrote %s.json, %s.md%s in %.0f s" % (stem, stem, ", " + result["plot"] if "serving" in result else "",
                                             result["wall_seconds"]))
    for t in result["targets"]:
        log("target %-75s %-10s %s" % (t["target"][:75], t["measured"], "met" if t["met"] else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
