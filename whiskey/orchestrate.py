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

from . import baseimage, context, images, outcome, sources
from .context import Plan
from .heartbeat import Heartbeat
from .matrix import ROOT, Artifact, Variant
from .outcome import Outcome

LOG_DIR = os.path.join(ROOT, "build-logs")
HEARTBEAT = 60.0  # seconds of quiet (a long compile step) before saying it is still alive
Log = Callable[[str], None]


class Progress:
    """Thread-safe status lines: '[variant] Step 7/24 : RUN ...' and events."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def line(self, variant: str, message: str) -> None:
        with self.lock:
            self.out.write("[%s] %s\n" % (variant, message))
            self.out.flush()


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
               docker_client: Any = None, pull: bool = False) -> List[Outcome]:
    """Build variants (jobs at a time); an Outcome per variant, in matrix order.

    pull: get every base image anew first (pull, else debootstrap), so that a
    base with security updates rebuilds the variants on it.
    """
    progress = progress or Progress(sys.stderr)
    client = docker_client or images.client()
    os.makedirs(LOG_DIR, exist_ok=True)
    outcomes: Dict[str, Outcome] = {}
    shared = context.shared_files()
    if pull:
        for base in dict.fromkeys(v.base for v in variants):
            baseimage.refresh(client, base, log=functools.partial(progress.line, base))
    base_ids = {base: baseimage.image_id(client, base) or ""
                for base in dict.fromkeys(v.base for v in variants)}
    todo: List[Plan] = []
    planned_with = {v.name: base_ids[v.base] for v in variants}
    for v in variants:
        plan = context.plan(v, shared=shared, base_id=base_ids[v.base])
        image = None if force else images.current(client, plan, repository)
        runtime = None if image is None else images.current_runtime(client, plan, repository)
        if image is not None and runtime is not None:
            images.tag_all(image, v, repository)
            images.tag_all(runtime, v, images.runtime_repository(repository))
            outcomes[v.name] = Outcome(v, "unchanged", 0.0, image.attrs.get("Size", 0) / 1e6,
                                       "inputs hash %s" % plan.inputs_hash[:12],
                                       image_id=image.id,
                                       runtime_size_mb=runtime.attrs.get("Size", 0) / 1e6,
                                       runtime_image_id=runtime.id)
            continue
        if not explicit:
            ok, why = sources.availability(v, ca_bundle)
            if not ok:
                outcomes[v.name] = Outcome(v, "skipped", detail=why)
                progress.line(v.name, "skipped: " + why)
                continue
        todo.append(plan)

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
