#!/usr/bin/env python3
"""whiskey: render, build and test S2I builder images (see ./build.py --help).

Where docker, jinja2 and pyyaml are not importable, this runs itself inside
.venv/, creating it with requirements.txt first (exact versions, each checked
against its sha256: the file is compiled from requirements.in).  .venv/
records the sha256 of the requirements.txt it was made from: when that file
changes, or a previous creation failed half-way, .venv/ is made again.  The
test suites' tools (tox and what it runs) are not needed to build: `build.py
test` adds them, from requirements-test.txt, when they are missing.
"""
import hashlib
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
PYTHON = os.path.join(VENV, "bin", "python")
REQUIREMENTS = os.path.join(ROOT, "requirements.txt")
STAMP = os.path.join(VENV, ".whiskey-requirements")  # written only after a complete install


def _wanted():
    with open(REQUIREMENTS, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _current():
    try:
        with open(STAMP) as f:
            return f.read().strip()
    except OSError:
        return None


def _create():
    print("build.py: creating .venv/ with requirements.txt", file=sys.stderr)
    shutil.rmtree(VENV, ignore_errors=True)
    try:
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([PYTHON, "-m", "pip", "install", "--quiet", "--require-hashes",
                               "-r", REQUIREMENTS])
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)  # never leave a half-made .venv/ behind
        sys.exit("build.py: could not create .venv/ (%s); pip's message is above. Check the "
                 "network or PIP_INDEX_URL, then run again." % exc)
    with open(STAMP, "w") as f:
        f.write(_wanted() + "\n")


def _bootstrap():
    """Re-run this script in .venv/, (re)creating it first if it is not current."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        sys.exit("build.py: .venv/ lacks its requirements; delete .venv/ and run again")
    if _current() != _wanted() or not os.path.exists(PYTHON):
        _create()
    os.execv(PYTHON, [PYTHON] + sys.argv)


def _command(argv):
    """The subcommand named in argv (skipping --matrix and its value), or None."""
    args = iter(argv)
    for arg in args:
        if arg == "--matrix":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


try:
    import docker  # noqa: F401
    import jinja2  # noqa: F401
    import yaml  # noqa: F401
    if os.path.abspath(sys.prefix) != os.path.abspath(VENV) and _command(sys.argv[1:]) == "test":
        import tox  # noqa: F401  (else the suites run from .venv/, where `test` adds them)
except ImportError:
    _bootstrap()

if __name__ == "__main__":
    from whiskey.cli import main
    sys.exit(main())
