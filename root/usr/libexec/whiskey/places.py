"""Where things are in a whiskey image: one home for the paths every program uses.

Each takes the environment it is asked about (os.environ in the image; the unit
tests pass their own).  Imports os only: supervise.py's interpreter is small.
"""

import os


def app_root(env):
    return env.get("APP_ROOT") or "/opt/app-root"


def app_src(env):
    """The application (and $HOME, as in sclorg's images)."""
    return env.get("HOME") or os.path.join(app_root(env), "src")


def wheelhouse(env):
    """The wheels one build hands to the next (wheelhouse.py)."""
    return os.path.join(app_root(env), "var", "wheels")


def runtime_dir(env):
    """This UID's files of one start: Apache's configuration, the passwd entry, the
    environment of .whiskey/user_vars (runtime.py sets WHISKEY_RUNTIME_DIR to it)."""
    return env.get("WHISKEY_RUNTIME_DIR") or os.path.join(
        env.get("TMPDIR") or "/tmp", "whiskey-%d" % os.getuid())


def whiskey_file(src, *parts):
    """A file of the application's .whiskey/ directory."""
    return os.path.join(src, ".whiskey", *parts)
