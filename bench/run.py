#!/usr/bin/env python3
"""Benchmark one whiskey variant: serving, cold start, image sizes, builds.

    python3 bench/run.py --variant python-3.11            # the full run (~15 min, 2 cores)
    python3 bench/run.py --variant python-3.11 --quick    # a smoke run (~2 min)
    python3 bench/run.py --variant python-3.11 --report-only   # the .md (and .png) again, no Docker

Writes bench/results/<variant>.json (every sample), then from that file alone
<variant>.md (the tables, through bench/templates/report.md.j2) and
<variant>-serving.png (the plot).  Everything runs against 127.0.0.1 and is
bounded in time; see BENCHMARKS.md for what is measured and why.

Serving: ONE application image (bench/app, built with tests/support/s2i.py, the suite's s2i emulation)
is run under every server configuration, so the interpreter, the libraries
and the container limits are the same for all; only the container command
(gunicorn) or the MOD_WSGI_* environment (whiskey) differs.  The load
generator is wrk on the host; each (endpoint, concurrency) cell is measured
`--runs` times, the configurations interleaved inside every repetition so
that machine noise hits them alike, and the median is reported.

The work is in bench/benchlib/ (see its __init__ for which module does what).

Needs: the Docker engine, wrk (apt-get install wrk), and on the host Python
the packages docker, PyYAML (whiskey.matrix) and matplotlib.  --report-only
and --render need only jinja2 (and matplotlib for the plot).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, HERE):  # whiskey (a measuring run imports whiskey.matrix and tests.support.s2i), benchlib
    if path not in sys.path:
        sys.path.insert(0, path)

from benchlib import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli.main())
