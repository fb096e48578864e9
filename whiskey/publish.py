"""Publish builder images: tag them for a registry and push, through the Docker SDK.

A variant's local image ``<repository>:<first tag>`` is tagged
``<registry>/whiskey:<tag>`` for every tag of the variant, and each tag is
pushed; its runtime image likewise as ``<registry>/whiskey-runtime:<tag>``.
With a tag suffix (``-amd64``), every pushed tag is ``<tag><suffix>``: CI
pushes one architecture's images that way and then joins the per-architecture
tags into one multi-arch tag each (.github/workflows/images.yml).  The push
output is read to the end: the engine reports a failed push as an "error"
chunk in a stream that otherwise ends normally.

Only an image built from this checkout's inputs is pushed (its inputs-hash
label must be current): a stale image would publish something the
repository no longer describes.
"""

from __future__ import annotations

import re
import time
from typing import Any, List, Mapping, Optional, Sequence

from . import UsageError, baseimage, context, images, outcome, settings, text
from .images import Log
from .matrix import Variant
from .outcome import Outcome

PUBLISHED_NAME = "whiskey"
ENV_USER = "WHISKEY_REGISTRY_USER"
ENV_PASSWORD = "WHISKEY_REGISTRY_PASSWORD"

# A tag (the same grammar): what a suffix may consist of, and how long a tag may be.
_SUFFIX = re.compile(r"[A-Za-z0-9_.-]*\Z")
MAX_TAG = 128


class PushError(RuntimeError):
    pass


def _first_line(exc: BaseException) -> str:
    said = str(getattr(exc, "explanation", None) or exc).strip()
    return said.splitlines()[0] if said else exc.__class__.__name__


def parse_registry(registry: str) -> str:
    """Validate ``HOST[:PORT][/NAMESPACE]`` and return it unchanged.

    Raises UsageError naming what is wrong (a scheme, a missing host, an
    empty namespace as an unset CI variable gives, an invalid component).
    """
    if "://" in registry:
        raise UsageError("--registry %r: give HOST[:PORT]/NAMESPACE, without a scheme" % registry)
    parts = registry.split("/")
    host = parts[0]
    if not host or not images.HOST.match(host):
        raise UsageError("--registry %r: %r is not a registry host (it needs a dot or a port, or "
                        "is localhost, e.g. registry.example:5000/team)" % (registry, host))
    for part in parts[1:]:
        if not images.COMPONENT.match(part):
            raise UsageError("--registry %r: namespace component %r is %s" % (
                registry, part, "empty" if not part else "invalid (%s)" % images.COMPONENT_RULE))
    return registry


def parse_tag_suffix(suffix: str, variants: Sequence[Variant] = ()) -> str:
    """Validate a tag suffix (e.g. ``-amd64``) and return it unchanged.

    Raises UsageError when it has a character a tag cannot have, or when a
    tag of one of `variants` would grow past the 128 characters a tag may have.
    """
    if not _SUFFIX.match(suffix):
        raise UsageError("--tag-suffix %r: a tag suffix consists of letters, digits, '_', '.' "
                        "and '-' (e.g. -amd64)" % suffix)
    for v in variants:
        for tag in v.tags:
            if len(tag + suffix) > MAX_TAG:
                raise UsageError("--tag-suffix %r: %s%s would be longer than the %d characters "
                                "a tag may have" % (suffix, tag, suffix, MAX_TAG))
    return suffix


def target(registry: str, tag: str, name: str = PUBLISHED_NAME, suffix: str = "") -> str:
    return "%s/%s:%s%s" % (registry, name, tag, suffix)


def login(client: Any, registry: str, environ: Optional[Mapping[str, str]] = None,
          log: Log = text.log) -> bool:
    """Log in to the registry's host if $WHISKEY_REGISTRY_USER/_PASSWORD are set.

    Returns whether it logged in.  Without them, the engine client's own
    credentials (e.g. from `docker login`) are used.
    """
    import docker.errors
    user, password = settings.registry_credentials(environ)
    if not user and not password:
        return False
    if not (user and password):
        raise PushError("set both %s and %s, or neither" % (ENV_USER, ENV_PASSWORD))
    host = registry.split("/")[0]
    try:
        client.login(username=user, password=password, registry=host, reauth=True)
    except docker.errors.DockerException as exc:
        raise PushError("login to %s as %s failed: %s" % (host, user, _first_line(exc))) from exc
    log("logged in to %s as %s" % (host, user))
    return True


def push_ref(client: Any, ref: str) -> str:
    """Push one ``repo:tag`` reference; its manifest digest. Raises PushError."""
    import docker.errors
    repo, tag = ref.rsplit(":", 1)
    digest: Optional[str] = None
    try:
        for chunk in client.api.push(repo, tag=tag, stream=True, decode=True):
            if "error" in chunk or "errorDetail" in chunk:
                message = chunk.get("error") or (chunk.get("errorDetail") or {}).get("message")
                raise PushError("pushing %s failed: %s" % (ref, str(message or chunk).strip()))
            aux = chunk.get("aux") or {}
            if aux.get("Digest"):
                digest = aux["Digest"]
            elif not digest and "digest: " in chunk.get("status", ""):
                digest = chunk["status"].split("digest: ", 1)[1].split()[0]
    except docker.errors.DockerException as exc:
        raise PushError("pushing %s failed: %s" % (ref, _first_line(exc))) from exc
    if not digest:
        raise PushError("pushing %s failed: the engine reported no manifest digest" % ref)
    return digest


def push_variant(client: Any, variant: Variant, registry: str,
                 repository: str = images.DEFAULT_REPOSITORY, log: Log = text.log,
                 tag_suffix: str = "") -> Outcome:
    """Tag and push every tag of variant's builder, then of its runtime image, each tag
    with `tag_suffix` appended; an Outcome (never raises for this variant's problems).
    Its digest is the builder's."""
    import docker.errors
    start = time.time()
    local = images.image_name(variant, repository)
    plan = context.plan(variant, base_id=baseimage.image_id(client, variant.base) or "")
    try:
        image = client.images.get(local)
    except docker.errors.ImageNotFound:
        log("[%s] not built, skipped: no local image %s" % (variant.name, local))
        return Outcome(variant, "not built",
                       detail="no local image %s; run ./build.py build %s" % (local, variant.name))
    runtime = images.current_runtime(client, plan, repository)
    if images.current(client, plan, repository) is None or runtime is None:
        log("[%s] stale, skipped: %s (or its runtime image) was not built from this checkout"
            % (variant.name, local))
        return Outcome(variant, "stale",
                       detail="%s or its runtime image was built from other inputs than this "
                              "checkout's; run ./build.py build %s" % (local, variant.name))
    todo = [(image, [target(registry, t, suffix=tag_suffix) for t in variant.tags]),
            (runtime, [target(registry, t, PUBLISHED_NAME + "-runtime", tag_suffix)
                       for t in variant.tags])]
    pushed: List[str] = []
    digests: List[str] = []
    try:
        for img, refs in todo:
            for ref in refs:
                repo, tag = ref.rsplit(":", 1)
                if not img.tag(repo, tag):
                    raise PushError("tagging %s as %s failed" % (local, ref))
            for ref in refs:
                log("[%s] pushing %s" % (variant.name, ref))
                digest = push_ref(client, ref)
                pushed.append(ref)
            digests.append(digest)
    except PushError as exc:
        log("[%s] FAILED: %s" % (variant.name, exc))
        return Outcome(variant, "failed", time.time() - start, refs=pushed,
                       digest=digests[0] if digests else "", detail=str(exc))
    shown = "; ".join("%s (%s)" % (", ".join([refs[0]] + [":" + r.rsplit(":", 1)[1]
                                                         for r in refs[1:]]), d)
                      for (_, refs), d in zip(todo, digests, strict=True))
    return Outcome(variant, "pushed", time.time() - start, refs=pushed, digest=digests[0],
                   detail=shown)


def push(variants: Sequence[Variant], registry: str, repository: str = images.DEFAULT_REPOSITORY,
         docker_client: Any = None, log: Log = text.log,
         environ: Optional[Mapping[str, str]] = None, tag_suffix: str = "") -> List[Outcome]:
    """Push every variant in turn; a list of Outcome in the order given.

    Every tag is pushed with `tag_suffix` appended (none by default).  A bad
    registry or suffix (UsageError), a failed login (PushError) or no Docker engine
    (images.BuildError) raise before anything is pushed.
    """
    registry = parse_registry(registry)
    tag_suffix = parse_tag_suffix(tag_suffix, variants)
    client = docker_client or images.client()
    login(client, registry, environ, log)
    return [push_variant(client, v, registry, repository, log, tag_suffix) for v in variants]


_SHOWN = {"pushed": "pushed", "not built": "not built, skipped", "stale": "stale, skipped",
          "failed": "FAILED"}


def summary(outcomes: Sequence[Outcome]) -> str:
    """The summary table, as text."""
    return outcome.summary(outcomes, _SHOWN)


def problems(outcomes: Sequence[Outcome], explicit: bool) -> List[str]:
    """One line per reason to exit non-zero; empty when the push went as asked.

    Failures always count; a variant not pushed counts when it was named
    explicitly; and pushing nothing at all is never a success.
    """
    out = ["%s: push failed" % o.variant.name for o in outcomes if o.result == "failed"]
    if explicit:
        out += ["%s was named but not pushed (%s)" % (o.variant.name, _SHOWN[o.result])
                for o in outcomes if o.result in ("not built", "stale")]
    if outcomes and not out and not any(o.result == "pushed" for o in outcomes):
        out.append("nothing was pushed: no variant has a current local image")
    return out
