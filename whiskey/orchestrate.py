"""Build several variants in one pass: plan -> fetch and verify -> build.

1. plan: render each variant and hash its inputs, once (context.plan);
   a variant whose image already carries that hash is retagged, not built;
2. fetch and verify: the base image and every source file, one variant at a
   time, so parallel builds never debootstrap or download the same thing;
3. build: `jobs` variants at once through the Docker SDK (images.build).

Full build output goes to build-logs/<variant>.log; the terminal shows one
status line per build step, prefixed with the variant, so parallel builds
stay readable.  A failure in one variant never hides the others' results.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from . import baseimage, context, images, outcome, settings, sources
from .context import Plan
from .heartbeat import Heartbeat
from .matrix import ROOT, Artifact, Variant
from .outcome import Outcome

LOG_DIR = os.path.join(ROOT, "build-logs")
HEARTBEAT = 60.0  # seconds of quiet (a long compile step) before saying it is still alive
Log = Callable[[str], None]


class Progress:
    """Thread-safe progress on a stream: '[variant] Step 7/24 : RUN ...' and events.

    On a terminal (live; not with TERM=dumb), each variant being built has one status line, redrawn
    in place every second with its elapsed time and current step (fitted to the
    terminal's width), and events (built, skipped, FAILED with its reason) are
    printed whole above them.  Elsewhere (a log, CI), every line is printed as
    it comes, never cut.
    """

    _DONE = ("built in ", "FAILED", "skipped", "shared stages built in ")

    def __init__(self, out: IO[str], live: Optional[bool] = None) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.live = out.isatty() and settings.terminal_redraws() if live is None else live
        self.status: Dict[str, Tuple[float, str]] = {}
        self.drawn = 0
        if self.live:
            threading.Thread(target=self._tick, daemon=True).start()

    def line(self, variant: str, message: str) -> None:
        with self.lock:
            if not self.live:
                self.out.write("[%s] %s\n" % (variant, message))
                self.out.flush()
                return
            started = self.status.get(variant, (time.time(), ""))[0]
            if message.startswith("Step ") or "still running after" in message:
                text = message if message.startswith("Step ") else self.status.get(
                    variant, (0.0, ""))[1]
                self.status[variant] = (started, text)
                self._draw()
                return
            if message.startswith(self._DONE):
                self.status.pop(variant, None)
            self._clear()
            self.out.write("[%s] %s\n" % (variant, message))
            self._draw()

    def _clear(self) -> None:
        if self.drawn:
            self.out.write("\x1b[%dF\x1b[J" % self.drawn)
            self.drawn = 0

    def _draw(self) -> None:
        import shutil
        self._clear()
        width = shutil.get_terminal_size().columns
        for variant, (started, text) in self.status.items():
            elapsed = "%dm%02ds" % divmod(int(time.time() - started), 60)
            self.out.write(("[%s] %s  %s" % (variant, elapsed, text))[:max(20, width - 1)] + "\n")
        self.drawn = len(self.status)
        self.out.flush()

    def _tick(self) -> None:
        while True:
            time.sleep(1.0)
            with self.lock:
                if self.status:
                    self._draw()


def _logger(name: str, progress: Progress, logfile: IO[str], verbose: bool,
            beat: Heartbeat) -> Log:
    def log(message: str) -> None:
        logfile.write(message + "\n")
        logfile.flush()
        stripped = message.strip()
        shown = stripped.split("] ", 1)[-1]
        if "Step " in stripped:
            beat.note(shown)
        if verbose or "Step " in stripped or not stripped.startswith("["):
            progress.line(name, shown)
    return log


class Fetcher:
    """Step 2's one owner: each base image ensured and each source verified once per run,
    however many variants share it."""

    def __init__(self, docker_client: Any, ca_bundle: Optional[str]) -> None:
        self.client = docker_client
        self.ca_bundle = ca_bundle
        self.bases: Set[str] = set()
        self.verified: Dict[Artifact, str] = {}

    def __call__(self, variant: Variant, log: Log) -> Dict[Artifact, str]:
        if variant.base not in self.bases:
            baseimage.ensure(self.client, variant.base, log=log)
            self.bases.add(variant.base)
        for a in variant.artifacts:
            if a not in self.verified:
                path = sources.fetch(a, self.ca_bundle, log)
                if a.signature is not None:
                    log("%s: %s" % (a.file, sources.verify_signature(a, path, self.ca_bundle, log)))
                self.verified[a] = path
        return {a: self.verified[a] for a in variant.artifacts}


def build_many(variants: Sequence[Variant], explicit: bool, repository: str,
               ca_bundle: Optional[str] = None, jobs: int = 1, force: bool = False,
               progress: Optional[Progress] = None, verbose: bool = False,
               docker_client: Any = None, pull: bool = False,
               dry_run: bool = False) -> List[Outcome]:
    """Build variants (jobs at a time); an Outcome per variant, in matrix order.

    pull: get every base image anew first (pull, else debootstrap), so that a
    base with security updates rebuilds the variants on it.
    dry_run: plan only: say what would be built, retagged, skipped or would fail, and
    why, as the build would decide it (with pull, whether the registry has another
    base); nothing is fetched, pulled, tagged, built or written.
    """
    progress = progress or Progress(sys.stderr)
    client = docker_client or images.client()
    outcomes: Dict[str, Outcome] = {}
    shared = context.shared_files()
    bases = list(dict.fromkeys(v.base for v in variants))
    renewed: Dict[str, str] = {}  # (dry run) base -> why --pull would give it another id
    for base in bases if pull else []:
        if not dry_run:
            baseimage.refresh(client, base, log=functools.partial(progress.line, base))
            continue
        why = baseimage.pull_would_change(client, base)
        if why:
            renewed[base] = why
            progress.line(base, "--pull: " + why)
    base_ids = {base: baseimage.image_id(client, base) or "" for base in bases}
    todo: List[Plan] = []
    planned_with = {v.name: base_ids[v.base] for v in variants}
    for v in variants:
        plan = context.plan(v, shared=shared, base_id=base_ids[v.base])
        image = None if force or v.base in renewed else images.current(client, plan, repository)
        runtime = None if image is None else images.current_runtime(client, plan, repository)
        if image is not None and runtime is not None:
            if not dry_run:
                images.tag_all(image, v, repository)
                images.tag_all(runtime, v, images.runtime_repository(repository))
            outcomes[v.name] = Outcome(v, "unchanged", 0.0, image.attrs.get("Size", 0) / 1e6,
                                       "inputs hash %s" % plan.inputs_hash[:12],
                                       image_id=image.id,
                                       runtime_size_mb=runtime.attrs.get("Size", 0) / 1e6,
                                       runtime_image_id=runtime.id)
            continue
        if not explicit or dry_run:  # a named variant's build fails when fetching instead
            ok, why = sources.availability(v, ca_bundle)
            if not ok:
                result: outcome.Result = "would fail" if explicit else "skipped"
                outcomes[v.name] = Outcome(v, result, detail=why)
                progress.line(v.name, "%s: %s" % (result, why))
                continue
        todo.append(plan)

    if dry_run:
        for plan in todo:
            v = plan.variant
            why = ("no local image" if _missing(client, images.image_name(v, repository))
                   else "forced" if force else "--pull: " + renewed[v.base] if v.base in renewed
                   else "the local images were built from other inputs")
            outcomes[v.name] = Outcome(v, "would build", detail="%s; inputs hash %s%s" % (
                why, plan.inputs_hash[:12] if v.base not in renewed else "unknown until then",
                "" if base_ids[v.base] else "; %s would be pulled or made first" % v.base))
        return [outcomes[v.name] for v in variants]

    os.makedirs(LOG_DIR, exist_ok=True)

    fetch = Fetcher(client, ca_bundle)
    ready: List[Tuple[Plan, Dict[Artifact, str]]] = []
    for plan in todo:
        v = plan.variant
        try:
            verified = fetch(v, functools.partial(progress.line, v.name))
            if not base_ids[v.base]:  # the base was made just now
                base_ids[v.base] = baseimage.image_id(client, v.base) or ""
            if base_ids[v.base] != planned_with[v.name]:  # hash its id in, as the next run will
                plan = Plan(v, plan.files, context.inputs_hash(v, plan.files, base_ids[v.base]))
            ready.append((plan, verified))
        except Exception as exc:  # one variant's failure must not stop the others
            outcomes[v.name] = Outcome(v, "failed", detail=str(exc).splitlines()[0])
            progress.line(v.name, "FAILED: %s" % exc)

    def one(item: Tuple[Plan, Dict[Artifact, str]]) -> Outcome:
        plan, verified = item
        v = plan.variant
        path = os.path.join(LOG_DIR, v.name + ".log")
        say = functools.partial(progress.line, v.name)
        with open(path, "w") as logfile, Heartbeat(say, "build", HEARTBEAT) as beat:
            log = _logger(v.name, progress, logfile, verbose, beat)
            start = time.time()
            try:
                result = images.build(client, plan, verified, repository, log)
            except Exception as exc:
                progress.line(v.name, "FAILED (full log: %s)" % os.path.relpath(path))
                return Outcome(v, "failed", time.time() - start,
                               detail="%s (log: %s)" % (str(exc).splitlines()[0],
                                                        os.path.relpath(path)))
            progress.line(v.name, "built in %.1fs" % result.seconds)
            return Outcome(v, "built", result.seconds, result.size_mb,
                           "tags " + ", ".join("%s:%s" % (repository, t) for t in v.tags)
                           + " and %s:*" % images.runtime_repository(repository),
                           image_id=result.image.id, runtime_size_mb=result.runtime_size_mb,
                           runtime_image_id=result.runtime.id)

    ready = _shared_stages(client, ready, outcomes, progress)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for done in pool.map(one, ready):
            outcomes[done.variant.name] = done
    return [outcomes[v.name] for v in variants]


def _missing(client: Any, name: str) -> bool:
    import docker.errors
    try:
        client.images.get(name)
        return False
    except docker.errors.ImageNotFound:
        return True


def _shared_stages(client: Any, ready: List[Tuple[Plan, Dict[Artifact, str]]],
                   outcomes: Dict[str, Outcome], progress: Progress
                   ) -> List[Tuple[Plan, Dict[Artifact, str]]]:
    """Build each base's shared stages once, through its first variant, before the
    variants themselves; the variants whose base's shared stages failed are failed."""
    failed: Dict[str, str] = {}
    done: Set[str] = set()
    for plan, verified in ready:
        base = plan.variant.base
        if base in done or base in failed:
            continue
        say = functools.partial(progress.line, base)
        path = os.path.join(LOG_DIR, "shared-%s.log" % base.replace(":", "_").replace("/", "_"))
        with open(path, "w") as logfile, Heartbeat(say, "shared stages", HEARTBEAT) as beat:
            def log(message: str) -> None:
                logfile.write(message + "\n")
                if "Step " in message:
                    beat.note(message.strip().split("] ", 1)[-1])
            try:
                seconds = images.build_shared(client, plan, verified, log)
                say("shared stages built in %.1fs" % seconds)
                done.add(base)
            except Exception as exc:
                failed[base] = "%s (log: %s)" % (str(exc).splitlines()[0], os.path.relpath(path))
                say("FAILED: shared stages: " + failed[base])
    for plan, _ in ready:
        if plan.variant.base in failed:
            outcomes[plan.variant.name] = Outcome(plan.variant, "failed",
                                                  detail=failed[plan.variant.base])
    return [(plan, verified) for plan, verified in ready if plan.variant.base not in failed]


def summary(outcomes: Sequence[Outcome]) -> str:
    return outcome.summary(outcomes)
