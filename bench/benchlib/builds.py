"""Builds: builder rebuilds through ./build.py, application assembles through s2i.build_app."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from tests.support import s2i

from .cleanup import own
from .common import BENCH_REPO, CA_BUNDLE, COLD_BUILDS, COMPILED_APP, ROOT, Result, log, read_text
from .stats import median

if TYPE_CHECKING:
    from .context import RunContext


def timed(cmd: list[str]) -> tuple[float, str]:
    """(seconds, output) of a command run in the repository root; raises when it fails."""
    t0 = time.time()
    proc = subprocess.run(cmd, check=False, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    secs = round(time.time() - t0, 2)
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode:d}):\n{out[-3000:]}")
    return secs, out


def cold_builds() -> Any | None:
    """Cold builds timed by hand (bench/cold-builds.json), if there are any."""
    if not os.path.exists(COLD_BUILDS):
        return None
    with open(COLD_BUILDS) as f:
        return json.load(f)


def outcome_re(variant: str, word: str) -> str:
    """build.py's summary line for the variant: its name, then a one-word outcome."""
    return rf"^{re.escape(variant)}\s+{word}\b"


def rebuilds(ctx: RunContext, cmd: list[str], variant: str, expect: str,
             what: str) -> list[tuple[float, str]]:
    """``build_runs`` timed runs of ``cmd``, each of which must end in ``expect``."""
    runs = []
    for _ in range(ctx.settings.build_runs):
        secs, text = timed(cmd)
        own(ctx, f"{BENCH_REPO}:{variant}")
        if not re.search(outcome_re(variant, expect), text, re.MULTILINE):
            raise RuntimeError(f"expected {what}, got:\n" + text[-2000:])
        runs.append((secs, text))
    return runs


def restore(logfile: str, saved: str | None) -> None:
    if saved is not None:
        with open(logfile, "w") as f:
            f.write(saved)


def builder_rebuilds(ctx: RunContext, variant: str) -> Result:
    """First build, no-change rebuilds and forced rebuilds into a repository of our own.

    Into a repository of our own, so the lead's whiskey:* tags are never
    moved.  The first build there goes through Docker's layer cache.
    """
    out: Result = {}
    cmd = [sys.executable, "build.py", "build", "--repository", BENCH_REPO, variant]
    forced_cmd = cmd[:3] + ["--force"] + cmd[3:]
    # build.py writes build-logs/<variant>.log: keep the one that was there.
    logfile = os.path.join(ROOT, "build-logs", variant + ".log")
    saved = read_text(logfile) if os.path.exists(logfile) else None
    try:
        prime, text = timed(cmd)
        own(ctx, f"{BENCH_REPO}:{variant}")
        m = re.search(outcome_re(variant, r"(\w+)"), text, re.MULTILINE)
        out["first_into_bench_repo_result"] = m.group(1) if m else None
        log(f"build.py build (first, into {BENCH_REPO}): {prime:.2f} s")
        nochange = [secs for secs, _text in rebuilds(ctx, cmd, variant, "unchanged", "a no-change build")]
        log(f"no-change rebuild (inputs hash): {nochange}")
        forced_runs = rebuilds(ctx, forced_cmd, variant, "built", "a forced build")
        forced = [secs for secs, _text in forced_runs]
        if forced_runs:
            out["forced_steps"] = [len(re.findall(r"Step \d+/\d+", text)) for _secs, text in forced_runs]
        log(f"no-change rebuild (--force, Docker layer cache): {forced}")
    finally:
        restore(logfile, saved)
    out["first_into_bench_repo_s"] = prime
    out["nochange"] = {"command": " ".join(["python3"] + cmd[1:]), "seconds": nochange,
                       "median": median(nochange)}
    out["nochange_forced"] = {"command": " ".join(["python3"] + forced_cmd[1:]), "seconds": forced,
                              "median": median(forced)}
    return out


def timed_assemble(ctx: RunContext, builder: str, tag: str, incremental: bool) -> float:
    t0 = time.time()
    s2i.build_app(ctx.client, builder, COMPILED_APP, tag, incremental=incremental, ca_bundle=CA_BUNDLE)
    own(ctx, tag)
    return round(time.time() - t0, 2)


def assembles(ctx: RunContext, variant: str) -> Result:
    """App assemble of tests/apps/compiled, clean then incremental, interleaved."""
    builder = f"whiskey:{variant}"
    tag = f"{BENCH_REPO}/compiled:{variant}"
    clean, incr = [], []
    for _ in range(ctx.settings.build_runs):
        clean.append(timed_assemble(ctx, builder, tag, incremental=False))
        incr.append(timed_assemble(ctx, builder, tag, incremental=True))
    log(f"assemble tests/apps/compiled clean {clean}, incremental {incr}")
    return {"app": "tests/apps/compiled", "builder": builder,
            "clean": {"seconds": clean, "median": median(clean)},
            "incremental": {"seconds": incr, "median": median(incr)}}


def builds(ctx: RunContext, variant: str) -> Result:
    """Builder rebuilds through ./build.py, app assembles through s2i.build_app."""
    out: Result = {"cold": cold_builds(), "repository": BENCH_REPO}
    out.update(builder_rebuilds(ctx, variant))
    out["assemble"] = assembles(ctx, variant)
    return out
