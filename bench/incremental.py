#!/usr/bin/env python3
"""Clean and incremental application builds with the real s2i client, side by
side in one run: what an incremental build saves when requirements.txt is
unchanged, for the compiled sample, the Django sample and a Django + numpy +
pandas + crcmod stack.

    PATH=/path/to/s2i/dir:$PATH python3 bench/incremental.py python-3.11
    python3 bench/incremental.py --rounds 5 python-3.11 python-2.7
    python3 bench/incremental.py --repository whiskey-before --repository whiskey python-3.11

Each round builds every app clean (its previous image removed first; pip
downloads or compiles everything) and then incremental (`s2i build
--incremental` on the image just made), interleaved, so both see the same
machine; with several --repository values (builders of two revisions under
two names), each round does so for each of them in turn.  The host's CA
bundle is mounted for pip as the test suite does.
Writes bench/results/incremental.json (every sample) and incremental.md (or --name's).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APPS = os.path.join(ROOT, "tests", "apps")
RESULTS = os.path.join(HERE, "results")
CA = "/etc/ssl/certs/ca-certificates.crt"
# A real dependency tree: Django and a scientific stack, plus a C extension
# compiled from its sdist (python-3.11 and newer).
DATA_STACK = "Django==4.2.27\nnumpy==2.3.5\npandas==2.3.3\ncrcmod==1.7\n"
DATA_WSGI = ("import numpy, pandas, crcmod\n"
             "from django.core.wsgi import get_wsgi_application  # noqa: F401\n"
             "def application(environ, start_response):\n"
             "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
             "    return [pandas.__version__.encode()]\n")


def apps(work: str) -> Dict[str, str]:
    """{name: source directory}: copies, so that s2i copies rather than clones."""
    out = {}
    for name in ("compiled", "django-hello-world"):
        out[name] = shutil.copytree(os.path.join(APPS, name), os.path.join(work, name))
    stack = os.path.join(work, "django-numpy-pandas")
    os.makedirs(stack)
    with open(os.path.join(stack, "requirements.txt"), "w") as f:
        f.write(DATA_STACK)
    with open(os.path.join(stack, "wsgi.py"), "w") as f:
        f.write(DATA_WSGI)
    out["django-numpy-pandas"] = stack
    return out


def s2i_build(s2i: str, src: str, builder: str, tag: str, incremental: bool,
              ca_dir: Optional[str]) -> Tuple[Dict[str, float], str]:
    """One build: its time in all and in three parts, read off when its lines arrive:
    before assemble starts (for --incremental: s2i running save-artifacts in the
    previous image and streaming its tar), assemble, and after (s2i committing the
    container and removing it), with the log."""
    args = [s2i, "build", "--pull-policy", "never", "--copy", src, builder, tag]
    if incremental:
        args.insert(2, "--incremental")
    if ca_dir:
        args[2:2] = ["-v", "%s:/run/secrets/whiskey-ca" % ca_dir]
    began = time.monotonic()
    started = assembled = None
    lines = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as p:
        assert p.stdout is not None
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if started is None and line.startswith("---> "):
                started = time.monotonic()
            if "---> Application assembled" in line:
                assembled = time.monotonic()
        p.wait(timeout=1800)
    ended = time.monotonic()
    text = "".join(lines)
    if p.returncode != 0 or started is None or assembled is None:
        sys.exit("s2i build of %s failed:\n%s" % (src, text[-3000:]))
    return {"total": ended - began, "before": started - began, "assemble": assembled - started,
            "after": ended - assembled}, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="incremental",
                        help="write bench/results/NAME.json and NAME.md (default incremental)")
    parser.add_argument("--repository", action="append",
                        help="the builders' repository (repeatable; default whiskey)")
    opts = parser.parse_args()
    repositories = opts.repository or ["whiskey"]
    s2i = shutil.which("s2i")
    if not s2i:
        sys.exit("bench/incremental.py: no s2i client on PATH")
    version = subprocess.run([s2i, "version"], stdout=subprocess.PIPE).stdout.decode().strip()
    samples: Dict[str, Dict[str, List[float]]] = {}
    with tempfile.TemporaryDirectory() as work:
        ca_dir = None
        if os.path.exists(CA):
            ca_dir = os.path.join(work, "ca")
            os.makedirs(ca_dir)
            shutil.copy(CA, os.path.join(ca_dir, "ca-bundle.pem"))
        sources = apps(work)
        for variant in opts.variants:
            for app, src in sources.items():
                if app == "django-numpy-pandas" and variant in ("python-2.7", "python-3.3",
                                                                 "python-3.4", "python-3.5"):
                    continue  # no such releases for those interpreters
                for _ in range(opts.rounds):
                    for repository in repositories:
                        key = "%s %s %s" % (repository, variant, app)
                        runs = samples.setdefault(key, {})
                        builder = "%s:%s" % (repository, variant)
                        tag = "whiskey-bench/incremental-%s:%s-%s" % (app, repository, variant)
                        subprocess.run(["docker", "rmi", "-f", tag], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                        clean, _ = s2i_build(s2i, src, builder, tag, False, ca_dir)
                        inc, log = s2i_build(s2i, src, builder, tag, True, ca_dir)
                        for kind, times in (("clean", clean), ("incremental", inc)):
                            for part, value in times.items():
                                runs.setdefault("%s %s" % (kind, part), []).append(round(value, 2))
                        how = [line for line in log.splitlines() if "unchanged since" in line]
                        print("%s: clean %.2f s, incremental %.2f s (%s)"
                              % (key, clean["total"], inc["total"],
                                 how[0][5:] if how else "no reuse"), file=sys.stderr)
                        subprocess.run(["docker", "rmi", "-f", tag], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
    result = {"s2i": version, "rounds": opts.rounds, "samples": samples,
              "revision": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                         stdout=subprocess.PIPE).stdout.decode().strip()}
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, opts.name + ".json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = ["| builder, variant, app | clean (s) | incremental (s) | clean / incremental "
             "| assemble: clean / incremental (s) | s2i's own part: clean / incremental (s) |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, s in samples.items():
        m = dict((part, statistics.median(values)) for part, values in s.items())
        c, i = m["clean total"], m["incremental total"]
        lines.append("| %s | %.2f | %.2f | %.2f× | %.2f / %.2f | %.2f / %.2f |" % (
            key, c, i, c / i, m["clean assemble"], m["incremental assemble"],
            m["clean before"] + m["clean after"],
            m["incremental before"] + m["incremental after"]))
    report = ("Clean and incremental builds with %s, %d rounds interleaved, revision %s; "
              "medians.  *s2i's own part*: the time before assemble starts (for an "
              "incremental build, save-artifacts run in the previous image and its tar "
              "streamed) and after it ends (the container committed and removed).\n\n%s\n"
              % (version, opts.rounds, result["revision"], "\n".join(lines)))
    with open(os.path.join(RESULTS, opts.name + ".md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
