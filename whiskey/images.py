"""Build and tag builder images through the Docker SDK.

The build context is the rendered versions/<variant>/ directory plus a
sources/ directory of verified artifacts; it is streamed to the engine as a
tar with fixed timestamps, so an unchanged variant is a full cache hit.
"""

import datetime
import hashlib
import io
import os
import subprocess
import tarfile
import time

from . import baseimage, matrix, render, sources

DEFAULT_REPOSITORY = os.environ.get("WHISKEY_REPOSITORY", "whiskey")
LABEL_INPUTS = "whiskey.inputs-hash"


class BuildError(RuntimeError):
    pass


def client():
    import docker
    try:
        c = docker.from_env(timeout=600)
        c.ping()
    except Exception as exc:
        raise BuildError("no Docker engine answers (%s); start one, e.g. `bash .ci/run` "
                         "does on Debian" % exc)
    return c


def inputs_hash(variant, templates=render.TEMPLATES):
    """sha256 over the rendered files and the pinned artifacts of variant."""
    h = hashlib.sha256()
    for path, (text, mode) in sorted(render.render_variant(variant, templates).items()):
        h.update(("%s %o\n" % (path, mode)).encode())
        h.update(text.encode())
    for a in variant.artifacts:
        h.update(("%s %s\n" % (a.file, a.sha256)).encode())
    h.update(variant.base.encode())
    return h.hexdigest()


def _revision():
    try:
        return subprocess.run(["git", "-C", matrix.ROOT, "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def context_tar(variant, staged_sources):
    """A tar (bytes) of the rendered files of variant plus staged sources/."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name, data, mode):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
        for path, (text, mode) in sorted(render.render_variant(variant).items()):
            add(path, text.encode(), mode)
        for f in sorted(os.listdir(staged_sources)):
            with open(os.path.join(staged_sources, f), "rb") as fh:
                add("sources/" + f, fh.read(), 0o644)
    buf.seek(0)
    return buf


def image_name(variant, repository=DEFAULT_REPOSITORY):
    return "%s:%s" % (repository, variant.tags[0])


class Result(object):
    """What build() did: the image, seconds taken, and whether it was up to date."""

    def __init__(self, image, seconds, unchanged):
        self.image = image
        self.seconds = seconds
        self.unchanged = unchanged

    @property
    def size_mb(self):
        return self.image.attrs.get("Size", 0) / 1e6


def up_to_date(client, variant, repository=DEFAULT_REPOSITORY):
    """The local image of variant if its inputs hash is the current one, else None."""
    import docker.errors
    try:
        image = client.images.get(image_name(variant, repository))
    except docker.errors.ImageNotFound:
        return None
    return image if image.labels.get(LABEL_INPUTS) == inputs_hash(variant) else None


def prepare(variant, ca_bundle=None, log=print, docker_client=None):
    """Everything a build needs from outside: the base image and the verified sources.

    Done before builds run in parallel, so no two builds fetch or debootstrap
    the same thing at once.
    """
    c = docker_client or client()
    baseimage.ensure(c, variant.base, log=log)
    for artifact in variant.artifacts:
        sources.fetch(artifact, ca_bundle, log)


def _tag_all(image, variant, repository):
    for tag in variant.tags:
        image.tag(repository, tag)


def build(variant, repository=DEFAULT_REPOSITORY, ca_bundle=None, log=print, docker_client=None,
          force=False):
    """Build variant and tag it with every tag; a Result.

    Unless force, a variant whose image already carries the current inputs
    hash (rendered files, pinned sources, base) is not built again.
    """
    c = docker_client or client()
    start = time.time()
    current = None if force else up_to_date(c, variant, repository)
    if current is not None:
        _tag_all(current, variant, repository)
        log("%s is up to date (inputs hash %s)" % (variant.name, current.labels[LABEL_INPUTS][:12]))
        return Result(current, time.time() - start, True)
    prepare(variant, ca_bundle, log, c)
    staged = sources.staging_dir()
    try:
        sources.stage(variant, staged, ca_bundle=ca_bundle, log=log)
        context = context_tar(variant, staged)
    finally:
        import shutil
        shutil.rmtree(staged, ignore_errors=True)
    labels = {
        "org.opencontainers.image.created":
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.revision": _revision(),
        LABEL_INPUTS: inputs_hash(variant),
    }
    tags = ["%s:%s" % (repository, t) for t in variant.tags]
    log("building %s as %s" % (variant.name, ", ".join(tags)))
    image_id = None
    tail = []
    for chunk in c.api.build(fileobj=context, custom_context=True, tag=tags[0], rm=True,
                             forcerm=True, labels=labels, decode=True):
        if "stream" in chunk:
            for line in chunk["stream"].splitlines():
                if line.strip():
                    log("  [%s] %s" % (variant.name, line))
                    tail = (tail + [line])[-15:]
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            raise BuildError("building %s failed: %s\nlast output:\n  %s"
                             % (variant.name, chunk["error"].strip(), "\n  ".join(tail)))
    if image_id is None:
        raise BuildError("building %s produced no image" % variant.name)
    image = c.images.get(image_id)
    _tag_all(image, variant, repository)
    return Result(c.images.get(image_id), time.time() - start, False)
