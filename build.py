#!/usr/bin/env python3
"""whiskey: render, build and test S2I builder images (see ./build.py --help).

Python 3.11 or newer runs this (the versions requirements.txt and
requirements-test.txt lock need it, and CI tests on it); an older Python is
told so in one line before anything else.  That check, and so this whole
file, must parse on any Python: no f-strings, no print() keywords (vermin
checks it in `tox -e lint`).

Where docker, jinja2 and pyyaml are not importable, this runs itself inside
.venv/, creating it with requirements.txt first (exact versions, each checked
against its sha256: the file is compiled from requirements.in).  .venv/
records the sha256 of the requirements.txt it was made from: when that file
changes, or a previous creation failed or was interrupted half-way, .venv/ is
made again.  The test suites' tools (tox and what it runs) are not needed to
build: `build.py test` adds them, from requirements-test.txt, when they are
missing.
"""
import sys

FLOOR = (3, 11)
ERROR = "build.py: error: "  # as argparse and whiskey.text say it

if tuple(sys.version_info[:2]) < FLOOR:
    sys.stderr.write("%sthis is Python %s (%s); build.py needs Python %d.%d or newer\n" % (
        ERROR, ".".join(str(n) for n in sys.version_info[:3]), sys.executable or "python",
        FLOOR[0], FLOOR[1]))
    sys.exit(1)

import hashlib  # noqa: E402  (after the floor check, which must run first)
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402

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


def _run(cmd):
    """Run cmd; its stderr is shown only when it fails (not when it is interrupted)."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        err = proc.communicate()[1]
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode in (-signal.SIGINT, 128 + signal.SIGINT):
        # Ctrl-C reaches the whole group: the child may end before this process
        # sees its own KeyboardInterrupt.
        raise KeyboardInterrupt
    if proc.returncode != 0:
        sys.stderr.write(err.decode("utf-8", "replace"))
        raise subprocess.CalledProcessError(proc.returncode, cmd)


def _create():
    sys.stderr.write("build.py: creating .venv/ with requirements.txt\n")
    sys.stderr.flush()
    shutil.rmtree(VENV, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "venv", VENV])
        _run([PYTHON, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", REQUIREMENTS])
    except KeyboardInterrupt:
        _give_up(130, "interrupted while creating .venv/; removed it, the next run makes it again")
    except (OSError, subprocess.CalledProcessError) as exc:
        _give_up(1, "could not create .venv/ (%s); pip's message is above. Check the network or "
                    "PIP_INDEX_URL, then run again." % exc)
    with open(STAMP, "w") as f:
        f.write(_wanted() + "\n")


def _give_up(code, message):
    """Never leave a half-made .venv/ behind: remove it (a second Ctrl-C waits), then exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    shutil.rmtree(VENV, ignore_errors=True)
    sys.stderr.write(ERROR + message + "\n")
    sys.exit(code)


def _bootstrap():
    """Re-run this script in .venv/, (re)creating it first if it is not current."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        sys.stderr.write("%s.venv/ lacks its requirements; delete .venv/ and run again\n" % ERROR)
        sys.exit(1)
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
