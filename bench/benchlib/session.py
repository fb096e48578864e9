"""One measuring run: every part in turn, the clean-up, the results file, then the report."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.support import s2i

from whiskey import matrix

from . import report
from .builds import builds
from .cleanup import own, remove_containers, remove_images
from .coldstart import cold_start
from .common import APP, BENCH_REPO, CA_BUNDLE, Result, log, now_utc
from .context import RunContext, Settings
from .images import images_report
from .machine import git_revision, loadavg, machine
from .noise import ForeignCPU
from .serving import ServerConfig, configurations, serving
from .stats import ratios, targets

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

COLD_START_CONFIGS = ("whiskey-default", "whiskey-default-before", "whiskey-embedded-4", "gunicorn-sync-1")


@dataclass(frozen=True)
class Subject:
    """What is measured: the variant, its builder image and the app image built from it."""

    variant: Any  # a whiskey.matrix variant: .name and .base are used
    variants: Mapping[str, Any]  # every variant of the matrix by name (for the images table)
    builder: str
    app_tag: str

    @property
    def before_tag(self) -> str:
        """The bench app built on an earlier revision's builder (--before)."""
        return self.app_tag.replace("/app:", "/app-before:", 1)


def connect() -> DockerClient:
    """The Docker client, once the tools a measuring run needs are known to be there."""
    import docker
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing (apt-get install -y wrk)")
    if importlib.util.find_spec("matplotlib") is None:
        sys.exit("bench: matplotlib is missing (python3 -m pip install matplotlib)")
    return docker.from_env(timeout=1200)


def subject_for(name: str) -> Subject:
    variants = {v.name: v for v in matrix.load()}
    if name not in variants:
        sys.exit(f"bench: unknown variant {name}")
    variant = variants[name]
    return Subject(variant=variant, variants=variants, builder=f"whiskey:{variant.name}",
                   app_tag=f"{BENCH_REPO}/app:{variant.name}")


def header(ctx: RunContext, subject: Subject, builder_image: Image, command: str) -> Result:
    """The first entries of the results file: what, when, on what, with which parameters."""
    return {
        "variant": subject.variant.name,
        "command": command,
        "started": now_utc(),
        "git_revision": git_revision(),
        "builder": {"tag": subject.builder, "id": builder_image.short_id,
                    "created": builder_image.labels.get("org.opencontainers.image.created"),
                    "revision": builder_image.labels.get("org.opencontainers.image.revision")},
        "machine": machine(ctx.client),
        "parameters": ctx.settings.parameters(),
    }


def build_app(ctx: RunContext, subject: Subject, result: Result) -> None:
    """The one application image (bench/app) every server configuration runs."""
    t0 = time.time()
    s2i.build_app(ctx.client, subject.builder, APP, subject.app_tag, ca_bundle=CA_BUNDLE)
    own(ctx, subject.app_tag)
    if ctx.settings.before:
        s2i.build_app(ctx.client, ctx.settings.before, APP, subject.before_tag,
                      ca_bundle=CA_BUNDLE)
        own(ctx, subject.before_tag)
    result["app_image"] = subject.app_tag
    result["app_build_s"] = round(time.time() - t0, 2)
    log(f"built {subject.app_tag} in {result['app_build_s']:.1f} s")


def measure_serving(ctx: RunContext, subject: Subject, configs: list[ServerConfig], result: Result) -> None:
    window = ctx.foreign.window()
    result["serving"] = serving(ctx, subject.app_tag, configs)
    result["serving"]["foreign_cpu_mean"] = window.mean()
    result["ratios"] = ratios(result["serving"]["median"], [c.name for c in configs])
    result["ratios_hello"] = ratios(result["serving"]["median"], [c.name for c in configs],
                                    path="/hello")


def measure_cold_start(ctx: RunContext, subject: Subject, configs: list[ServerConfig],
                       result: Result) -> None:
    cs_configs = [c for c in configs if c.name in COLD_START_CONFIGS]
    window = ctx.foreign.window()
    result["cold_start"] = cold_start(ctx, subject.app_tag, cs_configs)
    result["cold_start_foreign_cpu_mean"] = window.mean()


def measure_builds(ctx: RunContext, subject: Subject, result: Result) -> None:
    window = ctx.foreign.window()
    result["builds"] = builds(ctx, subject.variant.name)
    result["builds"]["foreign_cpu_mean"] = window.mean()


def measure(ctx: RunContext, subject: Subject, configs: list[ServerConfig], result: Result) -> None:
    """Every part not skipped, each with the noise that other processes made meanwhile."""
    skip = ctx.settings.skip
    if "serving" not in skip or "cold-start" not in skip:
        build_app(ctx, subject, result)
    if "serving" not in skip:
        measure_serving(ctx, subject, configs, result)
    if "cold-start" not in skip:
        measure_cold_start(ctx, subject, configs, result)
    if "images" not in skip:
        app_image = subject.app_tag if "app_image" in result else None
        result["images"] = images_report(ctx.client, subject.variants, app_image, subject.builder)
    if "builds" not in skip:
        measure_builds(ctx, subject, result)


def finish(ctx: RunContext, result: Result, started: float) -> None:
    result["foreign_cpu_core_seconds_total"] = round(ctx.foreign.read(), 1)
    result["machine"]["loadavg_at_end"] = loadavg()
    result["finished"] = now_utc()
    result["wall_seconds"] = round(time.time() - started, 1)
    result["targets"] = targets(result)


def write_results(settings: Settings, result: Result) -> str:
    """bench/results/<variant>[-quick].json; returns its stem."""
    if not os.path.isdir(settings.output_dir):
        os.makedirs(settings.output_dir)
    stem = os.path.join(settings.output_dir, result["variant"] + ("-quick" if settings.quick else ""))
    result["plot"] = stem + "-serving.png"
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    return stem


def run(settings: Settings, command: str) -> int:
    """Measure, clean up, write the results file and render the report from it."""
    client = connect()
    subject = subject_for(settings.variant)
    builder_image = client.images.get(subject.builder)  # must exist: ./build.py build <variant>
    ctx = RunContext(client=client, settings=settings, foreign=ForeignCPU())
    ctx.foreign.start()
    started = time.time()
    result = header(ctx, subject, builder_image, command)
    configs = configurations(settings.cpus, settings.quick,
                             peers=subject.variant.version_info[:2] >= (3, 10),
                             before=subject.before_tag if settings.before else None)
    result["configurations"] = [(c.name, c.description) for c in configs]
    try:
        measure(ctx, subject, configs, result)
    finally:
        remove_containers(client)
        remove_images(ctx, settings.keep_images)
    ctx.foreign.stop()
    finish(ctx, result, started)
    stem = write_results(settings, result)
    report.write_outputs(stem + ".json", need_plot=True)
    plot = ", " + result["plot"] if "serving" in result else ""
    log(f"wrote {stem}.json, {stem}.md{plot} in {result['wall_seconds']:.0f} s")
    for t in result["targets"]:
        log(f"target {t['target'][:75]:<75} {t['measured']:<10} {'met' if t['met'] else 'NOT met'}")
    return 0
