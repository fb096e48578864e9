"""The application's action hooks (.whiskey/action_hooks/NAME), run one way for all.

A hook that is absent is no step.  One that is there but not executable is named
in a warning and passed over.  One is run as bash runs a command: a script
without a ``#!`` line is run by bash.  A hook that fails ends the build or the
start (say.Failed, naming it and its exit status); ``start`` replaces the process.
"""

import errno
import os

import say
from places import whiskey_file
from say import Failed


def _ready(src, name, passed_over):
    """The hook's path when it is there and executable, else None (warning when it is
    there but not executable: passed_over says what happens instead)."""
    path = whiskey_file(src, "action_hooks", name)
    if not os.path.exists(path):
        return None
    if not os.access(path, os.X_OK):
        say.warn(".whiskey/action_hooks/%s is not executable (chmod +x it); %s"
                 % (name, passed_over))
        return None
    return path


def run(src, name):
    """Run the hook NAME of the application in src, if there; Failed if it fails."""
    path = _ready(src, name, "skipped")
    if path is None:
        return
    say.step("Running action hook %s" % name)
    import subprocess  # here: a start without hooks does without it (BENCHMARKS.md, cold start)
    try:
        status = subprocess.call([path])
    except OSError as exc:
        if exc.errno != errno.ENOEXEC:
            raise Failed("action hook .whiskey/action_hooks/%s cannot be run: %s"
                         % (name, exc.strerror or exc))
        status = subprocess.call(["/bin/bash", path])
    if status != 0:
        raise Failed("action hook .whiskey/action_hooks/%s failed with exit status %d"
                     % (name, status if status > 0 else 128 - status))


def replace(src, name, args, instead):
    """Replace this process with the hook NAME given args, if it is there; else return
    (instead: what happens then, for the warning about a hook that is not executable)."""
    path = _ready(src, name, instead)
    if path is None:
        return
    say.step("Running action hook %s (replaces mod_wsgi-express)" % name)
    execute([path] + list(args), "action hook .whiskey/action_hooks/%s" % name)


def execute(argv, what):
    """Replace this process with argv, as bash runs a command: a script without a #!
    line is run by bash (ENOEXEC); Failed naming `what` when it cannot be run."""
    try:
        os.execv(argv[0], argv)
    except OSError as exc:
        if exc.errno != errno.ENOEXEC:
            raise Failed("%s cannot be run: %s" % (what, exc.strerror or exc))
    os.execv("/bin/bash", ["/bin/bash"] + argv)
