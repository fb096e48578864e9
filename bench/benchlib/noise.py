"""CPU used on the host by anything that is not this benchmark, sampled from /proc."""

from __future__ import annotations

import os
import threading
import time

from .common import read_text

# Processes of the Docker engine: busy because of us, so not noise.
ENGINE = frozenset({"dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "docker-proxy",
                    "runc", "docker-init"})
# A serving run during which others used more than this much of a core is repeated.
FOREIGN_CPU_LIMIT = 0.10

ProcessKey = tuple[int, int]  # (pid, start time in ticks): a pid may be reused


def parse_stat(stat: str) -> tuple[str, int, int, int] | None:
    """(comm, ppid, utime + stime, start time) from the text of /proc/<pid>/stat."""
    comm = stat[stat.find("(") + 1:stat.rfind(")")]
    rest = stat[stat.rfind(")") + 2:].split()
    try:
        return comm, int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19])
    except (IndexError, ValueError):
        return None


class ForeignCPU(threading.Thread):
    """CPU used on the host by anything that is not this benchmark.

    Every second it reads utime+stime of every process in /proc and adds the
    increase of the "foreign" ones to a counter (core-seconds).  Not foreign:
    this process and its children (wrk, build.py), processes inside our own
    containers, the Docker engine's processes and kernel threads.  A serving
    run during which others used more than FOREIGN_CPU_LIMIT of a core is
    repeated.  One instance per measuring run (RunContext.foreign).
    """

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.containers: set[str] = set()  # full ids of our containers
        self.total = 0.0
        self.last: dict[ProcessKey, int] = {}
        self.ours: dict[ProcessKey, bool] = {}
        self.me = os.getpid()
        self.started_ticks = self._uptime_ticks()
        self.lock = threading.Lock()
        self.scan_lock = threading.Lock()
        self.stopped = threading.Event()

    def _uptime_ticks(self) -> float:
        return float(read_text("/proc/uptime").split()[0]) * self.HZ

    def add_container(self, container_id: str) -> None:
        """From now on the processes of this container are ours."""
        self.containers.add(container_id)

    def _is_ours(self, pid: int, ppid: int, comm: str, start: int) -> bool:
        key = (pid, start)
        if key not in self.ours:
            ours = (pid == self.me or ppid == self.me or ppid == 2 or pid == 2 or comm in ENGINE)
            if not ours and self.containers:
                cg = read_text(f"/proc/{pid}/cgroup")
                ours = any(cid in cg for cid in self.containers)
            self.ours[key] = ours
        return self.ours[key]

    def sample(self) -> None:
        with self.scan_lock:
            self._scan()

    def _scan(self) -> None:
        added = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            stat = read_text(f"/proc/{pid}/stat")
            parsed = parse_stat(stat) if stat else None
            if parsed is None:
                continue
            comm, ppid, ticks, start = parsed
            if self._is_ours(pid, ppid, comm, start):
                continue
            key = (pid, start)
            if key in self.last:
                added += ticks - self.last[key]
            elif start > self.started_ticks:  # born since we started: all of it counts
                added += ticks
            self.last[key] = ticks
        with self.lock:
            self.total += added / float(self.HZ)

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(1.0)

    def read(self) -> float:
        with self.lock:
            return self.total

    def stop(self) -> None:
        self.stopped.set()

    def window(self) -> Window:
        """Start measuring the mean foreign CPU over a part of the run."""
        return Window(self)


class Window:
    """The foreign CPU counter and the clock at the start of a part of the run."""

    def __init__(self, foreign: ForeignCPU) -> None:
        self.foreign = foreign
        self.cpu0 = foreign.read()
        self.t0 = time.time()

    def mean(self) -> float:
        """Mean share of a core that other processes used since the start, rounded."""
        return round((self.foreign.read() - self.cpu0) / (time.time() - self.t0), 3)
