#!/usr/bin/env python3
"""whiskey: render, build and test S2I builder images (see ./build.py --help).

On first use this sets up .venv/ with requirements.txt (docker, jinja2,
pyyaml, tox) when those are not importable, then runs inside it.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")


def _bootstrap():
    """Re-run this script in .venv/, creating it first if needed."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        sys.exit("build.py: .venv/ lacks its requirements; delete .venv/ and run again")
    if not os.path.exists(python):
        print("build.py: creating .venv/ with requirements.txt (first run only)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([python, "-m", "pip", "install", "--quiet",
                               "-r", os.path.join(ROOT, "requirements.txt")])
    os.execv(python, [python] + sys.argv)


try:
    import docker  # noqa: F401
    import jinja2  # noqa: F401
    import tox  # noqa: F401
    import yaml  # noqa: F401
except ImportError:
    _bootstrap()

from whiskey.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
