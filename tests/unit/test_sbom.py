"""The SBOM's components, from an image's inventory text and the matrix (no Docker)."""

from whiskey import matrix, sbom

INVENTORY = ("apache2\t2.4.71-1~deb12u1\tamd64\n"
             "tini\t0.19.0-1\tamd64\n"
             "half-removed\t\tamd64\n"
             "--- pip\n"
             "mod_wsgi==4.7.1\npip==20.3.4\n")


def test_components_from_the_inventory_and_the_matrix():
    (v,) = matrix.select(matrix.load(), ["python-3.5"])
    found = {c["purl"]: c for c in sbom.components(v, INVENTORY)}
    assert sorted(found) == sorted([
        "pkg:deb/debian/apache2@2.4.71-1~deb12u1?arch=amd64",
        "pkg:deb/debian/tini@0.19.0-1?arch=amd64",
        "pkg:pypi/mod-wsgi@4.7.1", "pkg:pypi/pip@20.3.4",
        "pkg:generic/cpython@3.5.10", "pkg:generic/openssl@1.1.1w"])
    assert found["pkg:generic/cpython@3.5.10"]["hashes"][0]["content"] == v.source.sha256


def test_a_distribution_python_has_no_source_component():
    (v,) = matrix.select(matrix.load(), ["python-3.11"])
    purls = [c["purl"] for c in sbom.components(v, INVENTORY)]
    assert not [p for p in purls if p.startswith("pkg:generic/")]
