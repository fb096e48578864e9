"""Stands in for ``mod_wsgi-express setup-server``, which server.py runs in its own process.

It records its arguments as the command they were (in $OUT) and the
MALLOC_ARENA_MAX it saw (in $OUT.arena).  Like setup-server, it writes an
apachectl into the --server-root (always the last argument): a script that
records how it was started and the signals it gets (see apachectl beside
this package).  With $SETUP_EXIT it ends as optparse's errors do; with
$SETUP_RAISE it fails as a bug would.
"""

import os
import shutil
import sys

APACHECTL = os.path.join(os.path.dirname(__file__), "..", "..", "apachectl")


def cmd_setup_server(params: list[str]) -> None:
    out = os.environ["OUT"]
    with open(out, "w") as f:
        f.write("".join(word + "\n" for word in ["mod_wsgi-express", "setup-server"] + params))
    with open(out + ".arena", "w") as f:
        f.write(os.environ.get("MALLOC_ARENA_MAX", "unset") + "\n")
    print("Server Root        :", params[-1])  # to stdout, as setup-server reports
    os.makedirs(params[-1], exist_ok=True)
    shutil.copy(APACHECTL, os.path.join(params[-1], "apachectl"))
    if os.environ.get("SETUP_RAISE"):
        raise RuntimeError(os.environ["SETUP_RAISE"])
    if os.environ.get("SETUP_EXIT"):
        sys.exit(int(os.environ["SETUP_EXIT"]))
