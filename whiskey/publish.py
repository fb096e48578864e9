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

Tag policy (README, "Tags"): python-X.Y and python-X.Y.Z move to each new
build; with ``--dated`` a build is also published as python-X.Y.Z-YYYYMMDD,
its build day, a tag that never moves.  When that tag names other images
already (a second build the same day), the build gets the first free of
python-X.Y.Z-YYYYMMDD.1, .2, ...: the builder and runtime image always the
same one, and a tag already naming these very images is kept, so pushing
again changes nothing.
"""

from __future__ import annotations

import datetime
import re
import time
from typing import Any, Callable, List, Mapping, Optional, Sequence

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


def first_line(exc: BaseException) -> str:
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


def dated_tag(variant: Variant, day: datetime.date) -> str:
    """The tag that names a build of variant made on `day`: python-X.Y.Z-YYYYMMDD."""
    return "python-%s-%s" % (variant.python, day.strftime("%Y%m%d"))


def build_day(image: Any) -> datetime.date:
    """The day (UTC) image was built, from its org.opencontainers.image.created label."""
    created = image.labels.get("org.opencontainers.image.created", "")
    try:
        return datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").date()
    except ValueError:
        raise PushError("%s has no build time to date it by (org.opencontainers.image.created "
                        "is %r)" % (image.short_id, created)) from None


Lookup = Callable[[str, str], Optional[str]]  # (repository, tag) -> the digest it names, or None


def immutable_tag(tag: str, digests: Mapping[str, str], lookup: Lookup, limit: int = 100) -> str:
    """The first of tag, tag.1, tag.2, ... that each repository in `digests` either
    lacks or has already for the digest given; raises PushError after `limit` tries."""
    for n in range(limit):
        candidate = tag if n == 0 else "%s.%d" % (tag, n)
        if all(lookup(repo, candidate) in (None, digest) for repo, digest in digests.items()):
            return candidate
    raise PushError("%s and its next %d numbered tags all name other images" % (tag, limit - 1))


def registry_lookup(client: Any) -> Lookup:
    """A Lookup that asks the registry (through the engine, with its credentials)."""
    import docker.errors

    def lookup(repo: str, tag: str) -> Optional[str]:
        try:
            return client.api.inspect_distribution("%s:%s" % (repo, tag))["Descriptor"]["digest"]
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            # Registries answer a missing tag of an existing repository with 404, and some
            # a missing repository with 401 or 403 (the engine says "unauthorized").
            if exc.status_code in (401, 403, 404) or "manifest unknown" in str(exc):
                return None
            raise PushError("asking the registry for %s:%s failed: %s"
                            % (repo, tag, first_line(exc))) from exc
    return lookup


def parse_day(day: str) -> datetime.date:
    """YYYYMMDD as a date; a UsageError naming it otherwise."""
    try:
        return datetime.datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        raise UsageError("--day %r: give the day as YYYYMMDD, e.g. 20261206" % day) from None


def parse_digests(given: Sequence[str]) -> dict:
    """NAME=sha256:HEX arguments as {NAME: digest}; a UsageError naming a bad one."""
    out = {}
    for arg in given:
        name, _, digest = arg.partition("=")
        if not images.COMPONENT.match(name) or not re.match(r"sha256:[0-9a-f]{64}\Z", digest):
            raise UsageError("--digest %r: give IMAGE=sha256:<64 hex digits>, e.g. "
                             "whiskey=sha256:%s" % (arg, "0" * 64))
        out[name] = digest
    return out


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
        raise PushError("login to %s as %s failed: %s" % (host, user, first_line(exc))) from exc
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
        raise PushError("pushing %s failed: %s" % (ref, first_line(exc))) from exc
    if not digest:
        raise PushError("pushing %s failed: the engine reported no manifest digest" % ref)
    return digest


def push_variant(client: Any, variant: Variant, registry: str,
                 repository: str = images.DEFAULT_REPOSITORY, log: Log = text.log,
                 tag_suffix: str = "", dated: bool = False) -> Outcome:
    """Tag and push every tag of variant's builder, then of its runtime image, each tag
    with `tag_suffix` appended, and with `dated` the build's immutable dated tag as well
    (see immutable_tag); an Outcome (never raises for this variant's problems).
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
        if dated:
            repos = [target(registry, "x", name).rsplit(":", 1)[0]
                     for name in (PUBLISHED_NAME, PUBLISHED_NAME + "-runtime")]
            tag = immutable_tag(dated_tag(variant, build_day(image)),
                                dict(zip(repos, digests, strict=True)), registry_lookup(client))
            for (img, refs), repo in zip(todo, repos, strict=True):
                ref = "%s:%s" % (repo, tag)
                if not img.tag(repo, tag):
                    raise PushError("tagging %s as %s failed" % (local, ref))
                log("[%s] pushing %s" % (variant.name, ref))
                push_ref(client, ref)
                pushed.append(ref)
                refs.append(ref)
    except PushError as exc:
        log("[%s] FAILED: %s" % (variant.name, exc))
        return Outcome(variant, "failed", time.time() - start, refs=pushed,
                       digest=digests[0] if digests else "", detail=str(exc))
    shown = "; ".join("%s (%s)" % (", ".join([refs[0]] + [":" + r.rsplit(":", 1)[1]
                                                         for r in refs[1:]]), d)
                      for (_, refs), d in zip(todo, digests, strict=True))
    return Outcome(variant, "pushed", time.time() - start, refs=pushed, digest=digests[0],
                   digests={PUBLISHED_NAME: digests[0], PUBLISHED_NAME + "-runtime": digests[1]},
                   detail=shown)


def push(variants: Sequence[Variant], registry: str, repository: str = images.DEFAULT_REPOSITORY,
         docker_client: Any = None, log: Log = text.log,
         environ: Optional[Mapping[str, str]] = None, tag_suffix: str = "",
         dated: bool = False) -> List[Outcome]:
    """Push every variant in turn; a list of Outcome in the order given.

    Every tag is pushed with `tag_suffix` appended (none by default).  A bad
    registry or suffix (UsageError), a failed login (PushError) or no Docker engine
    (images.BuildError) raise before anything is pushed.
    """
    registry = parse_registry(registry)
    tag_suffix = parse_tag_suffix(tag_suffix, variants)
    if dated and tag_suffix:
        raise UsageError("--dated and --tag-suffix: a dated tag names one published build, "
                         "not one architecture's part of it (CI dates the multi-arch tag with "
                         "`build.py dated-tag`)")
    client = docker_client or images.client()
    login(client, registry, environ, log)
    return [push_variant(client, v, registry, repository, log, tag_suffix, dated)
            for v in variants]


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
