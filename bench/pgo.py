#!/usr/bin/env python3
"""What PGO and LTO cost and give for the compiled interpreters, side by side in one run.

    python3 bench/pgo.py python-3.5 python-3.4 python-2.7   # ~1 h on 2 cores
    python3 bench/pgo.py --report-only                        # pgo.md again from pgo.json

For each variant, stage 1 of its Dockerfile (the interpreter, pip, mod_wsgi)
is built twice from an empty layer cache: as matrix.yaml says (`optimize:
true`, PGO and, where configure offers it, LTO) and with `optimize: false`.
Both build times are recorded.  Then bench/cpu.py's workloads run in both
interpreters, one CPU each, the two builds interleaved in every round so that
machine noise hits them alike; the median of the rounds is reported.

Writes bench/results/pgo.json (every sample) and bench/results/pgo.md.
Needs the Docker engine and, on the host, docker, PyYAML and jinja2
(whiskey's own requirements); the variant's sources in the source cache.
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

RESULTS = os.path.join(HERE, "results", "pgo.json")
REPORT = os.path.join(HERE, "results", "pgo.md")
WORKLOADS = ["nbody", "fib", "templating", "json", "regex"]
ROUNDS = 5
REPEAT = 3  # each sample is the best of this many runs inside one interpreter
TAG = "whiskey-bench/pgo"


def build_stage1(client: Any, variant: Any, optimize: bool, log: Any) -> Dict[str, Any]:
    """Build the `build` stage from no cache; its tag and seconds."""
    from whiskey import context, sources
    v = dataclasses.replace(variant, optimize=optimize)
    plan = context.plan(v)
    verified = {a: sources.fetch(a) for a in v.artifacts}
    tag = "%s:%s-%s" % (TAG, v.name, "optimized" if optimize else "plain")
    start = time.time()
    tail: List[str] = []
    for chunk in client.api.build(fileobj=context.tar(plan, verified), custom_context=True,
                                  target="build", tag=tag, nocache=True, rm=True, forcerm=True,
                                  decode=True):
        if "error" in chunk:
            raise RuntimeError("building %s failed: %s\nlast output:\n%s"
                               % (tag, chunk["error"].strip(), "\n".join(tail)))
        for line in chunk.get("stream", "").splitlines():
            tail = (tail + [line])[-40:]
            if line.startswith("Step "):
                log("  [%s] %s" % (tag, line[:120]))
    return {"tag": tag, "seconds": round(time.time() - start, 1)}


def sample(tag: str, workload: str) -> float:
    out = subprocess.run(
        ["docker", "run", "--rm", "--cpus", "1", "--network", "none",
         "-v", os.path.join(HERE, "cpu.py") + ":/cpu.py:ro", tag,
         "/opt/app-root/bin/python", "/cpu.py", workload, str(REPEAT)],
        capture_output=True, text=True, timeout=600, check=True)
    return float(out.stdout.strip())


def measure(names: List[str]) -> Dict[str, Any]:
    import docker

    from whiskey import matrix
    client = docker.from_env(timeout=7200)
    variants = matrix.select(matrix.load(), names)
    data: Dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                            "cores": os.cpu_count(), "rounds": ROUNDS, "repeat": REPEAT,
                            "variants": {}}
    for v in variants:
        if not v.compiled:
            raise SystemExit("%s is not compiled here: nothing to compare" % v.name)
        builds = {}
        for optimize in (False, True):
            builds["optimized" if optimize else "plain"] = build_stage1(
                client, v, optimize, lambda t: print(t, file=sys.stderr, flush=True))
        samples: Dict[str, Dict[str, List[float]]] = {k: {w: [] for w in WORKLOADS}
                                                      for k in builds}
        for r in range(ROUNDS):
            for w in WORKLOADS:
                order = ["plain", "optimized"] if r % 2 == 0 else ["optimized", "plain"]
                for kind in order:
                    samples[kind][w].append(sample(builds[kind]["tag"], w))
            print("%s: round %d of %d" % (v.name, r + 1, ROUNDS), file=sys.stderr, flush=True)
        data["variants"][v.name] = {"python": v.python, "builds": builds, "samples": samples}
    return data


def report(data: Dict[str, Any]) -> str:
    lines = ["# PGO and LTO for the compiled interpreters",
             "",
             "Measured %s on %s cores by `python3 bench/pgo.py`: stage 1 built from no cache "
             "without and with optimisation; each workload's median of %d rounds, each sample "
             "the best of %d runs, one CPU per container." % (
                 data["date"], data["cores"], data["rounds"], data["repeat"]),
             "",
             "| variant | stage 1 build, plain | optimized | workload | plain (s) | optimized (s) "
             "| speed-up |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for name, v in data["variants"].items():
        speedups = []
        for i, w in enumerate(WORKLOADS):
            plain = statistics.median(v["samples"]["plain"][w])
            opt = statistics.median(v["samples"]["optimized"][w])
            speedups.append(plain / opt)
            head = (name, "%.0f s" % v["builds"]["plain"]["seconds"],
                    "%.0f s" % v["builds"]["optimized"]["seconds"]) if i == 0 else ("", "", "")
            lines.append("| %s | %s | %s | %s | %.3f | %.3f | %.2f× |" % (
                head + (w, plain, opt, plain / opt)))
        geo = statistics.geometric_mean(speedups)
        lines.append("| %s | | | **geometric mean** | | | **%.2f×** |" % (name, geo))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=["python-3.5", "python-3.4", "python-2.7"])
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.report_only:
        with open(RESULTS) as f:
            data = json.load(f)
    else:
        data = measure(args.variants)
        with open(RESULTS, "w") as f:
            json.dump(data, f, indent=1)
    with open(REPORT, "w") as f:
        f.write(report(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
