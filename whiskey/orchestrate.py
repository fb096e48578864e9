"""Build several variants: skip what is up to date, run independent builds at
once, show progress per variant, and summarise.

Full build output goes to build-logs/<variant>.log; the terminal shows one
status line per build step, prefixed with the variant, so parallel builds
stay readable.  A failure in one variant never hides the others' results.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import images, matrix, sources, text

LOG_DIR = os.path.join(matrix.ROOT, "build-logs")


class Outcome(object):
    def __init__(self, variant, result, seconds=0.0, size_mb=0.0, detail=""):
        self.variant = variant
        self.result = result  # built | unchanged | skipped | failed
        self.seconds = seconds
        self.size_mb = size_mb
        self.detail = detail


class Progress(object):
    """Thread-safe status lines: '[variant] Step 7/24 : RUN ...' and events."""

    def __init__(self, out, width=110):
        self.out = out
        self.width = width
        self.lock = threading.Lock()

    def line(self, variant, text):
        with self.lock:
            self.out.write(("[%s] %s" % (variant, text))[:self.width] + "\n")
            self.out.flush()


def _logger(variant, progress, logfile, verbose):
    def log(text):
        logfile.write(text + "\n")
        logfile.flush()
        stripped = text.strip()
        if verbose:
            progress.line(variant.name, stripped.split("] ", 1)[-1])
        elif "Step " in stripped or not stripped.startswith("["):
            progress.line(variant.name, stripped.split("] ", 1)[-1])
    return log


def build_many(variants, explicit, repository, ca_bundle=None, jobs=1, force=False,
               progress=None, verbose=False, docker_client=None):
    """Build variants (jobs at a time); a list of Outcome in matrix order."""
    import sys
    progress = progress or Progress(sys.stdout)
    client = docker_client or images.client()
    if not os.path.isdir(LOG_DIR):
        os.makedirs(LOG_DIR)
    outcomes = {}
    todo = []
    for v in variants:
        if not force:
            current = images.up_to_date(client, v, repository)
            if current is not None:
                for tag in v.tags:
                    current.tag(repository, tag)
                outcomes[v.name] = Outcome(v, "unchanged", 0.0, current.attrs.get("Size", 0) / 1e6,
                                           "inputs hash %s" % current.labels[images.LABEL_INPUTS][:12])
                continue
        if not explicit:
            ok, why = sources.availability(v, ca_bundle)
            if not ok:
                outcomes[v.name] = Outcome(v, "skipped", detail=why)
                progress.line(v.name, "skipped: " + why)
                continue
        todo.append(v)

    # Bases and sources first, one at a time: parallel builds must not
    # debootstrap or download the same thing at once.
    ready = []
    for v in todo:
        try:
            images.prepare(v, ca_bundle, lambda t, v=v: progress.line(v.name, t), client)
            ready.append(v)
        except Exception as exc:  # one variant's failure must not stop the others
            outcomes[v.name] = Outcome(v, "failed", detail=str(exc).splitlines()[0])
            progress.line(v.name, "FAILED: %s" % exc)

    def one(v):
        path = os.path.join(LOG_DIR, v.name + ".log")
        with open(path, "w") as logfile:
            log = _logger(v, progress, logfile, verbose)
            start = time.time()
            try:
                result = images.build(v, repository, ca_bundle, log, client, force=True)
            except Exception as exc:
                progress.line(v.name, "FAILED (full log: %s)" % os.path.relpath(path))
                return Outcome(v, "failed", time.time() - start,
                               detail="%s (log: %s)" % (str(exc).splitlines()[0],
                                                        os.path.relpath(path)))
            progress.line(v.name, "built in %.1fs" % result.seconds)
            return Outcome(v, "built", result.seconds, result.size_mb,
                           "tags " + ", ".join("%s:%s" % (repository, t) for t in v.tags))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for outcome in pool.map(one, ready):
            outcomes[outcome.variant.name] = outcome
    return [outcomes[v.name] for v in variants]


def summary(outcomes):
    """The summary table, as text."""
    rows = [("VARIANT", "RESULT", "TIME", "SIZE", "DETAIL")]
    for o in outcomes:
        rows.append((o.variant.name, o.result, "%.1fs" % o.seconds,
                     "%.0f MB" % o.size_mb if o.size_mb else "-", o.detail))
    return text.table(rows)
