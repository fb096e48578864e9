"""Paths, names and small helpers every part of the benchmark shares (constants only)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
ROOT = os.path.dirname(BENCH)
APP = os.path.join(BENCH, "app")
COMPILED_APP = os.path.join(ROOT, "tests", "apps", "compiled")
RESULTS = os.path.join(BENCH, "results")
TEMPLATES = os.path.join(BENCH, "templates")
COLD_BUILDS = os.path.join(BENCH, "cold-builds.json")
BENCH_REPO = "whiskey-bench"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
APP_DIR = "/opt/app-root/src"
HOST = "127.0.0.1"  # the only address the benchmark ever sends traffic to

Result = dict[str, Any]  # a results file (bench/results/<variant>.json), or a part of one


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def read_text(path: str) -> str:
    """The file's text, or "" when it cannot be read (a process gone from /proc, say)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def now_utc() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
