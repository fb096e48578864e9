"""Build and tag builder images through the Docker SDK.

This module only talks to the engine: whether a build is needed, and what
goes into it, is decided by orchestrate.py from a context.Plan.
"""

from __future__ import annotations

import datetime
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from . import matrix, settings
from .context import Plan, tar
from .matrix import Artifact, Variant

DEFAULT_REPOSITORY = settings.repository()
LABEL_INPUTS = "whiskey.inputs-hash"

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


def client() -> Any:
    import docker
    try:
        c = docker.from_env(timeout=600)
        c.ping()
    except Exception as exc:
        raise BuildError("no Docker engine answers (%s); start one, e.g. `bash .ci/run` "
                         "does on Debian" % exc) from exc
    return c


def image_name(variant: Variant, repository: str = DEFAULT_REPOSITORY) -> str:
    return "%s:%s" % (repository, variant.tags[0])


@dataclass
class Result:
    """What build() made: the image and the seconds it took."""

    image: Any
    seconds: float

    @property
    def size_mb(self) -> float:
        return self.image.attrs.get("Size", 0) / 1e6


def current(docker_client: Any, build: Plan, repository: str = DEFAULT_REPOSITORY) -> Optional[Any]:
    """The local image of the plan's variant if it carries the plan's inputs hash, else None."""
    import docker.errors
    try:
        image = docker_client.images.get(image_name(build.variant, repository))
    except docker.errors.ImageNotFound:
        return None
    return image if image.labels.get(LABEL_INPUTS) == build.inputs_hash else None


def tag_all(image: Any, variant: Variant, repository: str) -> None:
    for t in variant.tags:
        image.tag(repository, t)


def _revision() -> str:
    try:
        return subprocess.run(["git", "-C", matrix.ROOT, "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build(docker_client: Any, build: Plan, verified: Mapping[Artifact, str],
          repository: str = DEFAULT_REPOSITORY, log: Log = print) -> Result:
    """Build the plan's image from its context and verified sources; tag it with every tag."""
    variant = build.variant
    start = time.time()
    labels = {
        "org.opencontainers.image.created":
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.revision": _revision(),
        LABEL_INPUTS: build.inputs_hash,
    }
    tags = ["%s:%s" % (repository, t) for t in variant.tags]
    log("building %s as %s" % (variant.name, ", ".join(tags)))
    image_id = None
    tail: list = []
    for chunk in docker_client.api.build(fileobj=tar(build, verified), custom_context=True,
                                         tag=tags[0], rm=True, forcerm=True, labels=labels,
                                         decode=True):
        for line in chunk.get("stream", "").splitlines():
            if line.strip():
                log("  [%s] %s" % (variant.name, line))
                tail = (tail + [line])[-15:]
        if "ID" in chunk.get("aux", {}):
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            raise BuildError("building %s failed: %s\nlast output:\n  %s"
                             % (variant.name, chunk["error"].strip(), "\n  ".join(tail)))
    if image_id is None:
        raise BuildError("building %s produced no image" % variant.name)
    image = docker_client.images.get(image_id)
    tag_all(image, variant, repository)
    return Result(image, time.time() - start)
