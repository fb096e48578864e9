"""Cold start: from containers.run(detach=True) to the first 200 on /hello.

Also the part inside the container: from the engine's State.StartedAt (its
process has started) to that 200.  The rest is the engine's (create, network,
start), the same for every server.  Configurations are interleaved in each
round, so that the machine's drift falls on all of them alike.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from .common import Result, log
from .containers import free_port, start_container, wait_200
from .stats import median

if TYPE_CHECKING:
    from .context import RunContext
    from .serving import ServerConfig


def started_at(stamp: str) -> float:
    """The engine's RFC 3339 time (nanoseconds, Z) as seconds since the epoch."""
    day, _, rest = stamp.rstrip("Z").partition("T")
    clock, _, fraction = rest.partition(".")
    whole = datetime.fromisoformat(f"{day}T{clock}+00:00").timestamp()
    return whole + float("0." + (fraction or "0"))


def one_cold_start(ctx: RunContext, image: str, cfg: ServerConfig) -> tuple[float, float]:
    """(seconds from starting a fresh container to its first 200, the part after
    its process started), polled every 5 ms; removes it."""
    port = free_port()
    t0 = time.time()
    c = start_container(ctx, image, cfg.run_kwargs, port)
    try:
        wait_200(port, c, interval=0.005)
        answered = time.time()
        c.reload()
        return round(answered - t0, 3), round(answered - started_at(c.attrs["State"]["StartedAt"]), 3)
    finally:
        c.remove(force=True)


def cold_start(ctx: RunContext, image: str, configs: list[ServerConfig]) -> Result:
    runs: dict[str, list[tuple[float, float]]] = {cfg.name: [] for cfg in configs}
    for _ in range(ctx.settings.cold_runs):
        for cfg in configs:
            runs[cfg.name].append(one_cold_start(ctx, image, cfg))
    out = {}
    for name, pairs in runs.items():
        times, inside = [p[0] for p in pairs], [p[1] for p in pairs]
        out[name] = {"seconds": times, "median": median(times),
                     "inside_seconds": inside, "inside_median": median(inside)}
        log(f"cold start {name:<22} median {out[name]['median']:.3f} s (in the container "
            f"{out[name]['inside_median']:.3f} s) {times}")
    return out
