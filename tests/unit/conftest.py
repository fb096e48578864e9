"""Shared by the unit tests that run ./build.py as a user would."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def env(tmp_path):
    """The caller's environment, minus proxies, with no Docker engine and an empty source cache."""
    e = dict(os.environ)
    e["DOCKER_HOST"] = "unix://%s" % (tmp_path / "no-docker.sock")
    e["WHISKEY_SOURCE_CACHE"] = str(tmp_path / "cache")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        e.pop(var, None)
    return e


def build_py(env, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "build.py")] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
