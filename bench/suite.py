#!/usr/bin/env python3
"""What the behaviour suite costs, per variant and whole, at two revisions.

    python3 bench/suite.py --label before --revision 5149328
    python3 bench/suite.py --label after --revision HEAD
    python3 bench/suite.py --report

Each run checks the revision out in a temporary git worktree and runs its
behaviour suite once, on the variants named (default all), as `./build.py
test` does, with the builder images as they are (warm: a builder whose
inputs did not change is not rebuilt).  It records the session's wall time
and, from pytest's JUnit XML, each variant's share (the time of its tests,
setup and teardown included), its outcome counts and its time per test file.
What belongs to no variant (collection, the builder check) is the
difference.  --python names an interpreter with the suite's requirements
(requirements-test.txt); default this one.  Results accumulate in
bench/results/suite.json under the label; --report writes suite.md from it.
"""

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "suite.json")
REPORT = os.path.join(HERE, "results", "suite.md")


def variants_of(worktree: str) -> List[str]:
    out = subprocess.run([sys.executable, "build.py", "list", "--offline"], cwd=worktree, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("python-")]


def junit_summary(path: str) -> Dict[str, Dict[str, object]]:
    """variant -> its seconds, outcome counts and seconds per test file."""
    out: Dict[str, Dict[str, object]] = {}
    for case in ET.parse(path).iter("testcase"):
        match = re.search(r"\[(python-[0-9.]+)", case.get("name", ""))
        if not match:
            continue
        v = out.setdefault(match.group(1), {"seconds": 0.0, "counts": collections.Counter(),
                                            "per_file": collections.Counter()})
        seconds = float(case.get("time", 0))
        v["seconds"] = float(v["seconds"]) + seconds  # type: ignore[arg-type]
        v["per_file"][case.get("classname", "").rsplit(".", 1)[-1]] += seconds  # type: ignore[index]
        kinds = [child.tag for child in case]
        outcome = ("failed" if "failure" in kinds or "error" in kinds
                   else "skipped" if "skipped" in kinds else "passed")
        v["counts"][outcome] += 1  # type: ignore[index]
    for v in out.values():
        v["seconds"] = round(float(v["seconds"]), 1)  # type: ignore[arg-type]
        v["counts"] = dict(v["counts"])  # type: ignore[call-overload]
        v["per_file"] = {k: round(t, 1) for k, t in sorted(v["per_file"].items())}  # type: ignore[attr-defined]
    return out


def run(label: str, revision: str, python: str, names: List[str]) -> None:
    commit = subprocess.run(["git", "rev-parse", revision], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    results = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
    keep = os.path.join(tempfile.gettempdir(), "whiskey-suite")  # the JUnit XML, for a closer look
    os.makedirs(keep, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="whiskey-suite-") as tmp:
        worktree = os.path.join(tmp, "tree")
        subprocess.run(["git", "worktree", "add", "--detach", worktree, commit], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        try:
            names = names or variants_of(worktree)
            xml = os.path.join(keep, "%s.xml" % label)
            began = time.time()
            status = subprocess.run(
                [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/behaviour",
                 "--junitxml", xml] + ["--variant=%s" % n for n in names], cwd=worktree).returncode
            seconds = round(time.time() - began, 1)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", worktree], cwd=ROOT)
    results[label] = {"commit": commit, "seconds": seconds, "exit": status,
                      "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                      "variants": junit_summary(xml)}
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    print("%s: %.0f s, exit status %d" % (label, seconds, status), flush=True)


def minutes(seconds: float) -> str:
    return "%d min %02d s" % divmod(int(round(seconds)), 60)


def report() -> None:
    results = json.load(open(RESULTS))
    labels = sorted(results, key=lambda label: results[label]["date"])  # oldest first
    names = sorted({n for e in results.values() for n in e["variants"]},
                   key=lambda n: [int(p) for p in n.split("-")[1].split(".")])
    lines = ["| variant | " + " | ".join("%s (%s)" % (label, results[label]["commit"][:7])
                                         for label in labels) + " |",
             "|---|" + "---:|" * len(labels)]
    for name in names:
        cells = []
        for label in labels:
            v = results[label]["variants"].get(name)
            cells.append("-" if v is None else "%s (%s)" % (minutes(v["seconds"]), ", ".join(
                "%d %s" % (v["counts"][k], k) for k in ("passed", "failed", "skipped")
                if v["counts"].get(k))))
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    lines.append("| **median per variant** | %s |" % " | ".join(
        minutes(statistics.median([v["seconds"] for v in results[label]["variants"].values()]))
        for label in labels))
    lines.append("| **whole session** (pytest's wall time) | %s |" % " | ".join(
        minutes(results[label]["seconds"]) for label in labels))
    with open(REPORT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help="default: every variant of the revision")
    parser.add_argument("--label")
    parser.add_argument("--revision", default="HEAD")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report()
        return 0
    if not args.label:
        parser.error("--label is needed to run (or --report)")
    run(args.label, args.revision, args.python, args.variants)
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
