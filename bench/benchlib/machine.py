"""What the run is about: the host, the Docker engine, wrk and the git revision."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from typing import TYPE_CHECKING

from .common import ROOT, Result, read_text

if TYPE_CHECKING:
    from docker import DockerClient


def wrk_version() -> str | None:
    try:
        return subprocess.run(["wrk", "--version"], check=False, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout.decode().splitlines()[0]
    except (OSError, IndexError):
        return None


def loadavg() -> list[str]:
    return read_text("/proc/loadavg").split()[:3]


def machine(client: DockerClient) -> Result:
    cpu = re.search(r"^model name\s*:\s*(.+)$", read_text("/proc/cpuinfo"), re.MULTILINE)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", read_text("/proc/meminfo"), re.MULTILINE)
    info = client.info()
    wrk = wrk_version()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu.group(1).strip() if cpu else None,
        "memory_gib": round(int(mem.group(1)) / 1024.0 / 1024.0, 1) if mem else None,
        "kernel": platform.release(),
        "docker_server": client.version().get("Version"),
        "cgroup_version": info.get("CgroupVersion"),
        "storage_driver": info.get("Driver"),
        "wrk": wrk,
        "host_python": platform.python_version(),
        "loadavg_at_start": loadavg(),
    }


def git_revision() -> str | None:
    """The short HEAD of the checkout, "+uncommitted changes" when tracked files differ."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], check=False,
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except OSError:
        return None
