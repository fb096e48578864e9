"""A software bill of materials (CycloneDX 1.5 JSON) for a built builder image.

What is in the image is read from the image itself (Debian's package database
and pip's view of the Python environment, in one short-lived container), and
what was compiled from source comes from the matrix with its pinned sha256:
CPython and the private OpenSSL, which no package database knows about.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Dict, List

from . import images
from .matrix import Artifact, Variant

# One container run prints both lists, separated by a marker line.
_INVENTORY = ("dpkg-query -W -f '${Package}\\t${Version}\\t${Architecture}\\n' && echo '--- pip' "
              "&& PIP_DISABLE_PIP_VERSION_CHECK=1 /opt/app-root/bin/python -m pip list "
              "--format=freeze")


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


def components(variant: Variant, inventory: str) -> List[Dict[str, Any]]:
    """The components of an image, from its inventory text and the matrix."""
    debs, _, pips = inventory.partition("--- pip")
    out: List[Dict[str, Any]] = []
    for line in debs.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1]:
            name, version, arch = parts
            out.append({"type": "library", "name": name, "version": version,
                        "purl": "pkg:deb/debian/%s@%s?arch=%s" % (name, version, arch)})
    for line in pips.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            out.append({"type": "library", "name": name, "version": version,
                        "purl": "pkg:pypi/%s@%s" % (name.lower().replace("_", "-"), version)})
    if variant.source is not None:
        out.append(_source_component("application", "cpython", variant.source))
    if variant.openssl is not None:
        out.append(_source_component("library", "openssl", variant.openssl))
    return out


def document(variant: Variant, image: Any, inventory: str) -> Dict[str, Any]:
    """The CycloneDX document for variant's image."""
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "serialNumber": "urn:uuid:%s" % uuid.uuid4(),
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "whiskey build.py"}]},
            "component": {"type": "container", "name": "whiskey:%s" % variant.tags[0],
                          "version": image.id,
                          "properties": [{"name": "whiskey:inputs-hash",
                                          "value": image.labels.get(images.LABEL_INPUTS, "")}]},
        },
        "components": components(variant, inventory),
    }


def for_image(docker_client: Any, variant: Variant, repository: str) -> Dict[str, Any]:
    """Read the built image of variant and describe it."""
    import docker.errors
    name = images.image_name(variant, repository)
    try:
        image = docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        raise images.BuildError("no image %s: run ./build.py build %s first"
                                % (name, variant.name)) from None
    inventory = docker_client.containers.run(image.id, ["sh", "-c", _INVENTORY], remove=True,
                                             user="1001").decode("utf-8", "replace")
    return document(variant, image, inventory)
