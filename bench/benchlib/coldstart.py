"""Cold start: from containers.run(detach=True) to the first 200 on /hello.

Also the part inside the container, in rounds of their own: the container's
command runs under ``sh -c``, which prints the time (STAMP) and then execs
it; from that time to the first 200.  The rest of the whole is the engine's
(create, network, start), the same for every server, and the engine goes on
with its own work (the port's proxy, the start's bookkeeping) while the
container starts, so a start shows in the whole only where it is longer
than that.  (The engine's State.StartedAt is no measure of it: it is written
after the command has run for a while.)  Configurations are interleaved in
every round, so that the machine's drift falls on all of them alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .common import Result, log
from .containers import free_port, start_container, wait_200
from .stats import median

if TYPE_CHECKING:
    from .context import RunContext
    from .serving import ServerConfig

MARK = "whiskey-bench-exec"
STAMP = 'echo "%s $(date +%%s.%%N)" >&2; exec "$@"' % MARK


def stamped(ctx: RunContext, image: str, cfg: ServerConfig) -> dict[str, Any]:
    """cfg's run arguments with its command (or the image's) run under STAMP."""
    command = cfg.run_kwargs.get("command") or ctx.client.images.get(image).attrs["Config"]["Cmd"]
    return dict(cfg.run_kwargs, entrypoint=["/bin/sh", "-c", STAMP, "stamp"], command=command)


def one_cold_start(ctx: RunContext, image: str, cfg: ServerConfig,
                   kwargs: Mapping[str, Any] | None = None) -> float:
    """Seconds from starting a fresh container to its first 200, polled every
    5 ms; with stamped() kwargs, from its command's start instead.  Removes it."""
    image = cfg.image or image
    is_stamped = kwargs is not None
    kwargs = cfg.run_kwargs if kwargs is None else kwargs
    port = free_port()
    t0 = time.time()
    c = start_container(ctx, image, kwargs, port)
    try:
        wait_200(port, c, interval=0.005)
        answered = time.time()
        if not is_stamped:
            return round(answered - t0, 3)
        found = re.search(r"%s ([0-9.]+)" % MARK, c.logs().decode("utf-8", "replace"))
        if not found:
            raise RuntimeError(f"{cfg.name}: no {MARK} line in the container's log")
        return round(answered - float(found.group(1)), 3)
    finally:
        c.remove(force=True)


def cold_start(ctx: RunContext, image: str, configs: list[ServerConfig]) -> Result:
    whole: dict[str, list[float]] = {cfg.name: [] for cfg in configs}
    inside: dict[str, list[float]] = {cfg.name: [] for cfg in configs}
    under_stamp = {cfg.name: stamped(ctx, cfg.image or image, cfg) for cfg in configs}
    for _ in range(ctx.settings.cold_runs):
        for cfg in configs:
            whole[cfg.name].append(one_cold_start(ctx, image, cfg))
    for _ in range(ctx.settings.cold_runs):
        for cfg in configs:
            inside[cfg.name].append(one_cold_start(ctx, image, cfg, under_stamp[cfg.name]))
    out = {}
    for cfg in configs:
        times, ins = whole[cfg.name], inside[cfg.name]
        out[cfg.name] = {"seconds": times, "median": median(times),
                         "inside_seconds": ins, "inside_median": median(ins)}
        log(f"cold start {cfg.name:<22} median {median(times):.3f} s (in the container "
            f"{median(ins):.3f} s) {times} {ins}")
    return out
