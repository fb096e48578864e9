"""`./build.py sbom`: what a built builder image holds, read from the image itself."""

import pytest
from conftest import REPOSITORY

from whiskey import sbom

pytestmark = pytest.mark.slow


def test_sbom_lists_the_images_packages_and_what_was_compiled(docker_client, builder, variant):
    doc = sbom.for_image(docker_client, variant, REPOSITORY)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.5"
    assert doc["metadata"]["component"]["version"] == docker_client.images.get(builder).id
    by_purl = {c["purl"].split("@")[0]: c for c in doc["components"]}
    # From Debian's package database in the image.
    assert "pkg:deb/debian/tini" in by_purl
    # Apache is unpacked from Debian's package, not installed: listed all the same.
    assert "pkg:deb/debian/apache2-bin" in by_purl and "pkg:deb/debian/apache2-dev" in by_purl
    # From pip in the image: the pinned versions.
    assert by_purl["pkg:pypi/pip"]["version"] == variant.pin_version("pip")
    assert by_purl["pkg:pypi/mod-wsgi"]["version"] == variant.pin_version("mod_wsgi")
    # From the matrix: what no package database knows, with the pinned sha256.
    if variant.compiled:
        cpython = by_purl["pkg:generic/cpython"]
        assert cpython["version"] == variant.python
        assert cpython["hashes"] == [{"alg": "SHA-256", "content": variant.source.sha256}]
    else:
        assert "pkg:deb/debian/python%s" % variant.major_minor in by_purl
    if variant.openssl:
        assert by_purl["pkg:generic/openssl"]["version"] == variant.openssl_version


def test_sbom_of_the_runtime_image(docker_client, runtime_image, variant):
    doc = sbom.for_image(docker_client, variant, REPOSITORY, runtime=True)
    assert doc["metadata"]["component"]["name"] == runtime_image
    by_purl = {c["purl"].split("@")[0]: c for c in doc["components"]}
    assert "pkg:deb/debian/apache2-bin" in by_purl
    assert "pkg:deb/debian/apache2-dev" not in by_purl and "pkg:deb/debian/gcc" not in by_purl
    assert by_purl["pkg:pypi/mod-wsgi"]["version"] == variant.pin_version("mod_wsgi")
    assert "pkg:pypi/pip" not in by_purl
