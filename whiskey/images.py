"""Build and tag a variant's two images through the Docker SDK: the builder
(the Dockerfile's last stage, in the repository) and the runtime image (its
``runtime`` stage, in the repository's ``-runtime`` twin).

This module only talks to the engine: whether a build is needed, and what
goes into it, is decided by orchestrate.py from a context.Plan.
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

from . import UsageError, baseimage, checkout, settings, text
from .context import Plan, tar
from .matrix import Artifact, Variant

DEFAULT_REPOSITORY = settings.repository()
LABEL_INPUTS = "whiskey.inputs-hash"
LABEL_BASE_NAME = "org.opencontainers.image.base.name"
LABEL_BASE_DIGEST = "org.opencontainers.image.base.digest"
RUNTIME_TARGET = "runtime"
SHARED_TARGET = "builder-base"  # the stages every variant on one base shares

Log = Callable[[str], None]

# Docker's reference grammar.  A path component of a repository name:
COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
COMPONENT_RULE = "lower-case letters and digits, separated by '.', '_' or '-'"
# A first component names a registry host only if it has a dot or a port, or is
# localhost; otherwise it is a namespace on the default public registry.
HOST = re.compile(r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:)"
                  r"|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?\Z")
MAX_NAME = 255  # characters in a repository name, host included


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


def check_repository(repository: str) -> str:
    """repository, when it can name images ([HOST[:PORT]/]NAME[/NAME...]); else a
    UsageError naming it and what is wrong."""
    said = "the image repository %r (--repository or $WHISKEY_REPOSITORY)" % repository
    parts = repository.split("/")
    if len(parts) > 1 and HOST.match(parts[0]):
        parts = parts[1:]
    for part in parts:
        if not COMPONENT.match(part):
            raise UsageError("%s: %s" % (said, "it is empty" if not repository else
                                         "%r is not %s" % (part, COMPONENT_RULE)))
    if len(runtime_repository(repository)) > MAX_NAME:
        raise UsageError("%s: longer than the %d characters an image name may have with "
                         "-runtime appended" % (said, MAX_NAME))
    return repository


def runtime_repository(repository: str = DEFAULT_REPOSITORY) -> str:
    """Where a builder repository's runtime images go: whiskey -> whiskey-runtime."""
    return repository + "-runtime"


def image_name(variant: Variant, repository: str = DEFAULT_REPOSITORY) -> str:
    return "%s:%s" % (repository, variant.tags[0])


def runtime_image_name(variant: Variant, repository: str = DEFAULT_REPOSITORY) -> str:
    return image_name(variant, runtime_repository(repository))


@dataclass
class Result:
    """What build() made: the builder, the runtime image and the seconds both took."""

    image: Any
    seconds: float
    runtime: Any = None

    @property
    def size_mb(self) -> float:
        return self.image.attrs.get("Size", 0) / 1e6

    @property
    def runtime_size_mb(self) -> float:
        return self.runtime.attrs.get("Size", 0) / 1e6 if self.runtime is not None else 0.0


def _labelled(docker_client: Any, name: str, inputs_hash: str) -> Optional[Any]:
    import docker.errors
    try:
        image = docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        return None
    return image if image.labels.get(LABEL_INPUTS) == inputs_hash else None


def current(docker_client: Any, build: Plan, repository: str = DEFAULT_REPOSITORY) -> Optional[Any]:
    """The local builder of the plan's variant if it, and the runtime image, carry the
    plan's inputs hash; else None."""
    if _labelled(docker_client, runtime_image_name(build.variant, repository),
                 build.inputs_hash) is None:
        return None
    return _labelled(docker_client, image_name(build.variant, repository), build.inputs_hash)


def current_runtime(docker_client: Any, build: Plan,
                    repository: str = DEFAULT_REPOSITORY) -> Optional[Any]:
    """The local runtime image of the plan's variant if it carries the plan's inputs hash."""
    return _labelled(docker_client, runtime_image_name(build.variant, repository),
                     build.inputs_hash)


def tag_all(image: Any, variant: Variant, repository: str) -> None:
    for t in variant.tags:
        image.tag(repository, t)


def build_labels(build: Plan, base_digest: str = "") -> Dict[str, str]:
    """The labels given at build time: what changes per build, where it came from, and
    the base image it was built on (its digest: see baseimage.digest)."""
    labels = {
        "org.opencontainers.image.created":
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.revision": checkout.revision(),
        LABEL_BASE_NAME: build.variant.base,
        LABEL_INPUTS: build.inputs_hash,
    }
    if base_digest:
        labels[LABEL_BASE_DIGEST] = base_digest
    source = settings.source_url(checkout.origin())
    if source:
        labels["org.opencontainers.image.source"] = source
        labels["org.opencontainers.image.url"] = source
    return labels


def _build_target(docker_client: Any, build: Plan, verified: Mapping[Artifact, str],
                  tag: Optional[str], target: Optional[str], labels: Mapping[str, str],
                  log: Log) -> Any:
    variant = build.variant
    what = variant.name if target is None else "%s's %s stage" % (variant.name, target)
    image_id = None
    tail: list = []
    for chunk in docker_client.api.build(fileobj=tar(build, verified), custom_context=True,
                                         tag=tag, target=target, rm=True, forcerm=True,
                                         labels=dict(labels), decode=True):
        for line in chunk.get("stream", "").splitlines():
            if line.strip():
                log("  [%s] %s" % (variant.name, line))
                tail = (tail + [line])[-15:]
        if "ID" in chunk.get("aux", {}):
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            raise BuildError("building %s failed: %s\nlast output:\n  %s"
                             % (what, chunk["error"].strip(), "\n  ".join(tail)))
    if image_id is None:
        raise BuildError("building %s produced no image" % what)
    return docker_client.images.get(image_id)


def build_shared(docker_client: Any, build: Plan, verified: Mapping[Artifact, str],
                 log: Log = text.log) -> float:
    """Build the stages every variant on the plan's base shares (runtime-base and
    builder-base), untagged; the seconds it took.  Done once per base before
    variants are built in parallel, so that each of them finds these layers in
    the cache instead of making a copy of its own."""
    start = time.time()
    _build_target(docker_client, build, verified, None, SHARED_TARGET, {}, log)
    return time.time() - start


def build(docker_client: Any, build: Plan, verified: Mapping[Artifact, str],
          repository: str = DEFAULT_REPOSITORY, log: Log = text.log) -> Result:
    """Build the plan's runtime image, then its builder (which reuses every shared
    stage from the first build); tag each with every tag of the variant."""
    variant = build.variant
    start = time.time()
    labels = build_labels(build, baseimage.digest(docker_client, variant.base))
    made = {}
    for repo, target in ((runtime_repository(repository), RUNTIME_TARGET), (repository, None)):
        tags = ["%s:%s" % (repo, t) for t in variant.tags]
        log("building %s as %s" % (variant.name, ", ".join(tags)))
        made[repo] = _build_target(docker_client, build, verified, tags[0], target, labels, log)
        tag_all(made[repo], variant, repo)
    return Result(made[repository], time.time() - start, made[runtime_repository(repository)])
