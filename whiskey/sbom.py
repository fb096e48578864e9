"""A software bill of materials (CycloneDX 1.5 JSON) for a built builder image.

What is in the image is read from the image itself (Debian's package database
and pip's view of the Python environment, in one short-lived container), and
what was compiled from source comes from the matrix with its pinned sha256:
CPython and the private OpenSSL, which no package database knows about.
"""

from __future__ import annotations

import datetime
import os
import re
import uuid
from typing import Any, Dict, List, Optional

from . import images
from .matrix import Artifact, Variant

# One container run prints two lists, the second after a marker line: Debian's
# package database (Apache's packages included: the Dockerfile installs them
# with dpkg) with each package's source package, and the Python distributions
# installed in the application environment, by their metadata directories (the
# runtime image has no pip to ask).
_INVENTORY = ("dpkg-query -W -f '${Package}\\t${Version}\\t${Architecture}\\t${source:Package}"
              "\\t${source:Version}\\n'"
              " && echo '--- python' && ls -d /opt/app-root/lib/python*/site-packages/*.dist-info"
              " /opt/app-root/lib/python*/site-packages/*.egg-info 2>/dev/null; true")

# name-version.dist-info, name-version-pyX.Y.egg-info, name-version.egg-info
_DIST = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+?)(-py\d+\.\d+)?\.(dist|egg)-info$")


def _sections(inventory: str) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {"dpkg": [], "python": []}
    current = "dpkg"
    for line in inventory.splitlines():
        if line.startswith("--- ") and line[4:] in out:
            current = line[4:]
        elif line.strip():
            out[current].append(line)
    return out


def _source_component(kind: str, name: str, artifact: Artifact) -> Dict[str, Any]:
    component: Dict[str, Any] = {
        "type": kind, "name": name, "version": artifact.version,
        "purl": "pkg:generic/%s@%s" % (name, artifact.version),
        "hashes": [{"alg": "SHA-256", "content": artifact.sha256}],
        "properties": [{"name": "whiskey:source-file", "value": artifact.file}],
    }
    if artifact.url:
        component["externalReferences"] = [{"type": "distribution", "url": artifact.url}]
    return component


def _deb(line: str) -> Optional[Dict[str, Any]]:
    """A Debian package's component; its purl names the source package (`upstream`,
    with its version where it differs), which is what Debian's security tracker
    and the scanners reading it match advisories against."""
    parts = line.split("\t")
    if len(parts) != 5 or not parts[1]:
        return None
    name, version, arch, source, source_version = parts
    qualifiers = "arch=%s" % arch
    if source and (source != name or source_version != version):
        upstream = source if source_version in ("", version) else "%s@%s" % (source, source_version)
        qualifiers += "&upstream=%s" % upstream.replace("+", "%2B")
    return {"type": "library", "name": name, "version": version,
            "purl": "pkg:deb/debian/%s@%s?%s" % (name, version.replace("+", "%2B"), qualifiers)}


def components(variant: Variant, inventory: str) -> List[Dict[str, Any]]:
    """The components of an image, from its inventory text and the matrix."""
    sections = _sections(inventory)
    out: List[Dict[str, Any]] = []
    for line in sections["dpkg"]:
        deb = _deb(line)
        if deb is not None:
            out.append(deb)
    for line in sections["python"]:
        found = _DIST.match(os.path.basename(line.strip().rstrip("/")))
        if found:
            name, version = found.group("name"), found.group("version")
            out.append({"type": "library", "name": name, "version": version,
                        "purl": "pkg:pypi/%s@%s" % (name.lower().replace("_", "-"), version)})
    if variant.source is not None:
        out.append(_source_component("application", "cpython", variant.source))
    if variant.openssl is not None:
        out.append(_source_component("library", "openssl", variant.openssl))
    return out


def document(variant: Variant, image: Any, inventory: str,
             name: str = "") -> Dict[str, Any]:
    """The CycloneDX document for variant's image (name: its repository:tag)."""
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "serialNumber": "urn:uuid:%s" % uuid.uuid4(),
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "whiskey build.py"}]},
            "component": {"type": "container", "name": name or "whiskey:%s" % variant.tags[0],
                          "version": image.id,
                          "properties": [{"name": "whiskey:inputs-hash",
                                          "value": image.labels.get(images.LABEL_INPUTS, "")}]},
        },
        "components": components(variant, inventory),
    }


def for_image(docker_client: Any, variant: Variant, repository: str,
              runtime: bool = False) -> Dict[str, Any]:
    """Read the built builder (or runtime) image of variant and describe it."""
    import docker.errors
    name = (images.runtime_image_name if runtime else images.image_name)(variant, repository)
    try:
        image = docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        raise images.BuildError("no image %s: run ./build.py build %s first"
                                % (name, variant.name)) from None
    inventory = docker_client.containers.run(image.id, ["sh", "-c", _INVENTORY], remove=True,
                                             user="1001").decode("utf-8", "replace")
    return document(variant, image, inventory, name)
