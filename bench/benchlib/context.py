"""What a measuring run passes around: its settings and its state (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .noise import FOREIGN_CPU_LIMIT, ForeignCPU

if TYPE_CHECKING:
    from docker import DockerClient


@dataclass(frozen=True)
class Settings:
    """The command line, with the sizes of a --quick or a full run filled in."""

    variant: str
    quick: bool
    cpus: float
    memory: str
    skip: tuple[str, ...]
    keep_images: bool
    output_dir: str
    concurrency: tuple[int, ...]
    runs: int
    duration: int
    warmup: int
    cold_runs: int
    build_runs: int
    before: str | None = None  # an earlier revision's builder (--before)
    wrk_timeout: int = 10

    def parameters(self) -> dict[str, Any]:
        """The "parameters" entry of the results file."""
        return {"cpus": self.cpus, "memory": self.memory, "concurrency": list(self.concurrency),
                "runs": self.runs, "duration": self.duration, "warmup": self.warmup,
                "wrk_timeout": self.wrk_timeout, "cold_runs": self.cold_runs,
                "build_runs": self.build_runs, "quick": self.quick, "before": self.before,
                "foreign_cpu_limit": FOREIGN_CPU_LIMIT,
                "memory_figure": "cgroup memory usage minus page cache (v1: usage - "
                                 "total_cache; v2: usage - file), MiB, from "
                                 "container.stats(stream=False) right after each wrk run"}


@dataclass
class RunContext:
    """The engine, the settings, the noise sampler and the images this run made."""

    client: DockerClient
    settings: Settings
    foreign: ForeignCPU
    owned: set[str] = field(default_factory=set)  # ids of images this run created
