"""How whiskey's programs in the image speak: one home for the prefixes.

``---> `` says what is being done, ``whiskey: WARNING: `` and ``whiskey: ERROR: ``
what went wrong, and ``whiskey: `` the server's own account of how it stopped.
The S2I scripts write the same prefixes from common.sh (a unit test holds the
two equal).  Every line is flushed at once, so that it keeps its place among
the output of the programs run after it: before 3.9, Python buffers a stderr
that is not a terminal, and supervise.py runs with -E, which ignores
PYTHONUNBUFFERED.  Imports sys only: supervise.py (python -S -E) imports it.
"""

import sys

STEP = "---> "
WARNING = "whiskey: WARNING: "
ERROR = "whiskey: ERROR: "
NOTE = "whiskey: "


class Failed(Exception):
    """What ends a build or a start: said in one ``whiskey: ERROR:`` line, exit status 1."""


def _line(prefix, message):
    sys.stderr.write("%s%s\n" % (prefix, message))
    sys.stderr.flush()


def step(message):
    _line(STEP, message)


def warn(message):
    _line(WARNING, message)


def error(message):
    _line(ERROR, message)


def note(message):
    _line(NOTE, message)
