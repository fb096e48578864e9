"""Plain-text output shared by the commands: results go to stdout, and every log,
progress and error line to stderr, through log() and error() here."""

import sys

ERROR = "build.py: error: "  # every error line's prefix, as argparse's own (and build.py's)


class OutputError(RuntimeError):
    """stdout cannot take a result (a full disk, say); the message says why."""


def out(result: str, end: str = "\n") -> None:
    """A result, on stdout, flushed: a failure to write it is an OutputError here, not a
    traceback at exit.  A closed pipe (`| head`) stays a BrokenPipeError."""
    try:
        sys.stdout.write(result + end)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError("cannot write the output: %s" % (exc.strerror or exc)) from None


def log(message: str) -> None:
    """A log or progress line, on stderr: stdout holds results only."""
    print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """An error line, on stderr: `build.py: error: <message>`."""
    print(ERROR + message, file=sys.stderr, flush=True)


def table(rows):
    """Rows of strings as aligned columns; the last column is left ragged."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
                     for r in rows)
