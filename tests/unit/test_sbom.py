"""The SBOM's components, from an image's inventory text and the matrix (no Docker)."""

from whiskey import matrix, sbom

INVENTORY = ("libapr1\t1.7.2-3+deb12u1\tamd64\tapr\t1.7.2-3+deb12u1\n"
             "tini\t0.19.0-1\tamd64\ttini\t0.19.0-1\n"
             "half-removed\t\tamd64\thalf-removed\t\n"
             "apache2-bin\t2.4.65-1~deb12u1\tamd64\tapache2\t2.4.65-1~deb12u1\n"
             "libgcc-s1\t12.2.0-14\tamd64\tgcc-12\t12.2.0-14+deb12u1\n"
             "--- python\n"
             "/opt/app-root/lib/python3.5/site-packages/mod_wsgi-4.7.1-py3.5.egg-info\n"
             "/opt/app-root/lib/python3.5/site-packages/pip-20.3.4.dist-info\n"
             "/opt/app-root/lib/python3.5/site-packages/typing_extensions-4.1.0.dist-info\n")


def test_components_from_the_inventory_and_the_matrix():
    (v,) = matrix.select(matrix.load(), ["python-3.5"])
    found = {c["purl"]: c for c in sbom.components(v, INVENTORY)}
    # Debian packages name their source package where it differs, as scanners match by it.
    assert sorted(found) == sorted([
        "pkg:deb/debian/libapr1@1.7.2-3%2Bdeb12u1?arch=amd64&upstream=apr",
        "pkg:deb/debian/tini@0.19.0-1?arch=amd64",
        "pkg:deb/debian/apache2-bin@2.4.65-1~deb12u1?arch=amd64&upstream=apache2",
        "pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&upstream=gcc-12@12.2.0-14%2Bdeb12u1",
        "pkg:pypi/mod-wsgi@4.7.1", "pkg:pypi/pip@20.3.4", "pkg:pypi/typing-extensions@4.1.0",
        "pkg:generic/cpython@3.5.10", "pkg:generic/openssl@1.1.1w"])
    assert found["pkg:generic/cpython@3.5.10"]["hashes"][0]["content"] == v.source.sha256


def test_a_distribution_python_has_no_source_component():
    (v,) = matrix.select(matrix.load(), ["python-3.11"])
    purls = [c["purl"] for c in sbom.components(v, INVENTORY)]
    assert not [p for p in purls if p.startswith("pkg:generic/")]
