"""What a built image holds, as the scanners and `./build.py sbom` read it."""

import io
import re
import tarfile

import pytest
from conftest import REPOSITORY, run_to_exit

from whiskey import sbom

pytestmark = pytest.mark.slow


def test_sbom_lists_the_images_packages_and_what_was_compiled(docker_client, builder, variant):
    doc = sbom.for_image(docker_client, variant, REPOSITORY)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.5"
    assert doc["metadata"]["component"]["version"] == docker_client.images.get(builder).id
    by_purl = {c["purl"].split("@")[0]: c for c in doc["components"]}
    # From Debian's package database in the image.
    assert "pkg:deb/debian/tini" in by_purl
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


# Each image's Apache and APR packages, which the Dockerfile installs without some of
# their dependencies (perl, libxml2, debhelper, python3).
APACHE = {"runtime": ["apache2-bin"],
          "builder": ["apache2-bin", "apache2-dev", "libapr1-dev", "libaprutil1-dev"]}


def dpkg_status(docker_client, image):
    """Debian's package database of image, read from its files as Trivy, Grype and Clair
    do (nothing in the image runs): {package: its fields}, of those installed."""
    container = docker_client.containers.create(image)
    try:
        chunks, _ = container.get_archive("/var/lib/dpkg/status")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            text = archive.extractfile("status").read().decode("utf-8")
    finally:
        container.remove(force=True)
    installed = {}
    for stanza in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z0-9-]+): ?(.*)$", stanza, re.M))
        if fields.get("Status") == "install ok installed":
            installed[fields["Package"]] = fields
    return installed


@pytest.mark.parametrize("kind", sorted(APACHE))
def test_scanners_find_apache_at_the_version_that_runs(docker_client, builder, runtime_image,
                                                       kind):
    image = builder if kind == "builder" else runtime_image
    installed = dpkg_status(docker_client, image)
    for package in APACHE[kind]:
        assert package in installed, "%s is not in %s's dpkg database" % (package, image)
    assert installed["apache2-bin"]["Source"] == "apache2"
    # dpkg knows each file, unchanged since install (its md5sums; `missing` lines are
    # what the images' dpkg path-excludes left out: documentation, two unused modules);
    # apt's state is consistent, so `apt-get install` in a derived image works.
    status, out = run_to_exit(docker_client, image, user="0", command=[
        "sh", "-c", "apache2 -v && dpkg -S /usr/sbin/apache2 && dpkg --verify %s && apt-get check -q"
        % " ".join(APACHE[kind])])
    assert status == 0, out
    running = re.search(r"^Server version: Apache/(\S+) ", out, re.M).group(1)
    # Debian's version of it: [epoch:]upstream-revision.
    assert installed["apache2-bin"]["Version"].split(":")[-1].rsplit("-", 1)[0] == running
    assert "apache2-bin: /usr/sbin/apache2" in out
    assert not [line for line in out.splitlines() if re.match(r"^[?.0-9a-z]{9} ", line)], out
