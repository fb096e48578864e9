"""A variant's build context, planned once: the rendered Dockerfile, the
files every image shares (root/), the verified sources, and the hash of all
of them that decides whether an image is up to date.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from . import patches, render
from .matrix import ROOT, Artifact, Variant

# Files copied as they are into every image (`COPY root/ /`): the S2I scripts
# and whiskey's runtime.  They read the variant from the environment the
# Dockerfile sets, so nothing in them is rendered.
ROOTFS = os.path.join(ROOT, "root")

# path in the context -> (bytes, mode)
Files = Dict[str, Tuple[bytes, int]]

# An editor's or a merge's leftovers must not slip into every image.
_STRAY = re.compile(r"(^\.|~$|\.(swp|orig|rej|bak|pyc)$)")


def shared_files(rootfs: str = ROOTFS) -> Files:
    """{"root/<path>": (bytes, mode)} for every file under rootfs."""
    out = {}
    for top, dirs, files in os.walk(rootfs):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if _STRAY.search(f):
                continue
            full = os.path.join(top, f)
            mode = 0o755 if os.stat(full).st_mode & stat.S_IXUSR else 0o644
            with open(full, "rb") as fh:
                out["root/" + os.path.relpath(full, rootfs)] = (fh.read(), mode)
    return out


@dataclass(frozen=True)
class Plan:
    """What one variant's build consists of, computed once per run."""

    variant: Variant
    files: Files  # everything in the context except sources/
    inputs_hash: str


def inputs_hash(variant: Variant, files: Files, base_id: str = "") -> str:
    """sha256 over the context files, the pinned artifacts and the base (its name, and
    the id of the engine's image of it when known, so a refreshed base rebuilds)."""
    h = hashlib.sha256()
    for path, (data, mode) in sorted(files.items()):
        h.update(("%s %o %d\n" % (path, mode, len(data))).encode())
        h.update(data)
    for a in variant.artifacts:
        h.update(("%s %s\n" % (a.file, a.sha256)).encode())
    h.update(variant.base.encode())
    if base_id:
        h.update(("\n" + base_id).encode())
    return h.hexdigest()


def plan(variant: Variant, templates: str = render.TEMPLATES, rootfs: str = ROOTFS,
         shared: Optional[Files] = None, base_id: str = "") -> Plan:
    """Render the variant and gather the shared files (pass shared to reuse one read)."""
    files = dict(shared if shared is not None else shared_files(rootfs))
    for name, text in render.render_variant(variant, templates).items():
        files[name] = (text.encode(), 0o644)
    patch = patches.mod_wsgi_patch(variant)
    if patch:  # in the context, and so in the hash, of its mod_wsgi's variants only
        with open(os.path.join(ROOT, patch), "rb") as fh:
            files[patch] = (fh.read(), 0o644)
    return Plan(variant, files, inputs_hash(variant, files, base_id))


def tar(build: Plan, verified: Mapping[Artifact, str]) -> io.BytesIO:
    """The context as a tar stream: files, sources/ and sources/SHA256SUMS.

    Fixed timestamps and modes, so an unchanged variant is a full cache hit.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        def add(name: str, data: bytes, mode: int) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            out.addfile(info, io.BytesIO(data))
        for path, (data, mode) in sorted(build.files.items()):
            add(path, data, mode)
        sums = []
        for a in build.variant.artifacts:
            with open(verified[a], "rb") as fh:
                add("sources/" + a.file, fh.read(), 0o644)
            sums.append("%s  %s\n" % (a.sha256, a.file))
        add("sources/SHA256SUMS", "".join(sums).encode(), 0o644)
    buf.seek(0)
    return buf
