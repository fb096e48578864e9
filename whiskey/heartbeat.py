"""Show that a long, quiet step is still alive: its elapsed time and latest line."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Heartbeat:
    """Every `every` seconds, say "<what>: still running after 3m20s (<latest line>)".

    Use as a context manager around the step; feed it the step's output with
    note().  Nothing is said when the step finishes within `every` seconds.
    """

    def __init__(self, say: Callable[[str], None], what: str, every: float = 60.0) -> None:
        self.say = say
        self.what = what
        self.every = every
        self.latest = ""
        self.started = time.time()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def note(self, line: str) -> None:
        self.latest = line.strip()

    def elapsed(self) -> str:
        seconds = int(time.time() - self.started)
        return "%dm%02ds" % divmod(seconds, 60)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self.say("%s: still running after %s%s" % (
                self.what, self.elapsed(), " (%s)" % self.latest[:120] if self.latest else ""))

    def __enter__(self) -> "Heartbeat":
        self.started = time.time()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
