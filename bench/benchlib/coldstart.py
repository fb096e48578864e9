"""Cold start: from containers.run(detach=True) to the first 200 on /hello."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .common import Result, log
from .containers import free_port, start_container, wait_200
from .stats import median

if TYPE_CHECKING:
    from .context import RunContext
    from .serving import ServerConfig


def one_cold_start(ctx: RunContext, image: str, cfg: ServerConfig) -> float:
    """Seconds from starting a fresh container to its first 200 (polled every 5 ms); removes it."""
    port = free_port()
    t0 = time.time()
    c = start_container(ctx, image, cfg.run_kwargs, port)
    try:
        wait_200(port, c, interval=0.005)
        return round(time.time() - t0, 3)
    finally:
        c.remove(force=True)


def cold_start(ctx: RunContext, image: str, configs: list[ServerConfig]) -> Result:
    out = {}
    for cfg in configs:
        times = [one_cold_start(ctx, image, cfg) for _ in range(ctx.settings.cold_runs)]
        out[cfg.name] = {"seconds": times, "median": median(times)}
        log(f"cold start {cfg.name:<22} median {out[cfg.name]['median']:.3f} s {times}")
    return out
