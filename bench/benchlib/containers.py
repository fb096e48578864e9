"""One server container: start it under the run's limits, wait for it, read its memory."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .common import APP_DIR, HOST, Result

if TYPE_CHECKING:
    from docker.models.containers import Container

    from .context import RunContext

LABEL = "whiskey-bench"  # every container the benchmark starts carries it


def free_port() -> int:
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_status(port: int, path: str, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def start_container(ctx: RunContext, image: str, run_kwargs: Mapping[str, Any], port: int) -> Container:
    """Run ``image`` detached, port 8080 on 127.0.0.1:``port``, at the run's CPU and memory limits."""
    kwargs = dict(run_kwargs)
    if "command" in kwargs:
        kwargs["working_dir"] = APP_DIR
    memory = ctx.settings.memory
    c = ctx.client.containers.run(
        image, detach=True, ports={"8080/tcp": (HOST, port)},
        nano_cpus=int(ctx.settings.cpus * 1e9), mem_limit=memory, memswap_limit=memory,
        labels={LABEL: "1"}, **kwargs)
    ctx.foreign.add_container(c.id)
    return c


def logs_tail(container: Container) -> str:
    return container.logs().decode("utf-8", "replace")[-3000:]


def wait_200(port: int, container: Container, deadline_s: float = 60.0, interval: float = 0.01) -> float:
    """Seconds until GET /hello answers 200; raises if it never does."""
    start = time.time()
    while time.time() - start < deadline_s:
        try:
            if get_status(port, "/hello", timeout=1.0) == 200:
                return time.time() - start
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(interval)
    container.reload()
    raise RuntimeError(f"no 200 on /hello within {deadline_s}s (status {container.status}); logs:\n"
                       f"{logs_tail(container)}")


def memory(container: Container) -> Result | None:
    """The container's memory from the engine's stats, in MiB.

    ``mib`` (the figure reported) is usage minus the page cache: cgroup v1
    memory.usage_in_bytes - total_cache, cgroup v2 usage - file.  Also kept:
    ``docker_stats_mib`` (usage - inactive file, what `docker stats` shows)
    and ``rss_mib`` (anonymous memory).
    """
    s = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
    usage = s.get("usage")
    st = s.get("stats") or {}
    if usage is None:
        return None
    if "total_cache" in st:  # cgroup v1
        cache, inactive, rss = st.get("total_cache", 0), st.get("total_inactive_file", 0), st.get("total_rss")
    else:  # cgroup v2
        cache, inactive, rss = st.get("file", 0), st.get("inactive_file", 0), st.get("anon")
    mib = 1024.0 * 1024.0
    return {"mib": round((usage - cache) / mib, 1),
            "docker_stats_mib": round((usage - inactive) / mib, 1),
            "rss_mib": round(rss / mib, 1) if rss is not None else None,
            "usage_mib": round(usage / mib, 1)}
