"""CPU-bound pure-Python workloads, timed inside one interpreter: what PGO and LTO change.

    python cpu.py WORKLOAD REPEAT    prints the best of REPEAT timings, in seconds

Runs on every interpreter whiskey compiles (2.7, 3.3 to 3.x): standard library
only.  Each workload is the kind of code a web application runs between its
I/O: arithmetic, dict and string work, JSON, regular expressions, recursion.
The interpreter's start-up is not timed.
"""

from __future__ import print_function

import json
import re
import sys
import time


def nbody(steps=50000):
    """Floating-point arithmetic over a few bodies (the classic n-body loop)."""
    bodies = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.47],
              [4.84, -1.16, -0.10, 0.60, 2.81, -0.02, 0.037],
              [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011],
              [12.89, -15.11, -0.22, 1.08, 0.86, -0.01, 0.0017],
              [15.37, -25.91, 0.17, 0.97, 0.59, -0.03, 0.002]]
    pairs = [(a, b) for i, a in enumerate(bodies) for b in bodies[i + 1:]]
    for _ in range(steps):
        for a, b in pairs:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            mag = 0.01 * (dx * dx + dy * dy + dz * dz) ** -1.5
            a[3] -= dx * b[6] * mag
            a[4] -= dy * b[6] * mag
            a[5] -= dz * b[6] * mag
            b[3] += dx * a[6] * mag
            b[4] += dy * a[6] * mag
            b[5] += dz * a[6] * mag
        for body in bodies:
            body[0] += 0.01 * body[3]
            body[1] += 0.01 * body[4]
            body[2] += 0.01 * body[5]
    return bodies[0][0]


def fib(n=29):
    """Function calls and integer arithmetic."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def templating(rows=100000):
    """Dicts, attribute-free string building: what a template engine does per row."""
    out = []
    for i in range(rows):
        row = {"id": i, "name": "item-%d" % i, "price": i * 1.25, "tags": ["a", "b", str(i % 7)]}
        out.append("<tr><td>%(id)d</td><td>%(name)s</td><td>%(price).2f</td>" % row
                   + "".join("<span>%s</span>" % t for t in row["tags"]) + "</tr>")
    return len("\n".join(out))


def json_round_trip(times=1500):
    """Serialise and parse a request-sized document."""
    doc = {"users": [{"id": i, "name": u"user %d" % i, "active": i % 2 == 0,
                      "scores": [i * 0.5, i * 1.5, i * 2.5]} for i in range(100)]}
    size = 0
    for _ in range(times):
        size += len(json.loads(json.dumps(doc))["users"])
    return size


def regex(times=30000):
    """Parse log-like lines with a regular expression."""
    line = re.compile(r'(\d+\.\d+\.\d+\.\d+) - - \[([^\]]+)\] "(\w+) ([^ ]+) HTTP/1\.\d" (\d{3})')
    text = '127.0.0.1 - - [26/Nov/2026:01:02:03 +0000] "GET /index.html?x=%d HTTP/1.1" 200'
    hits = 0
    for i in range(times):
        for j in range(10):
            if line.match(text % (i * 10 + j)):
                hits += 1
    return hits


WORKLOADS = {"nbody": nbody, "fib": fib, "templating": templating,
             "json": json_round_trip, "regex": regex}


def main(argv):
    name, repeat = argv[0], int(argv[1])
    work = WORKLOADS[name]
    best = None
    for _ in range(repeat):
        start = time.time()
        work()
        took = time.time() - start
        best = took if best is None else min(best, took)
    print("%.6f" % best)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
