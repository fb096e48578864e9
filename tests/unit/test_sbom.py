"""The SBOM's components, from an image's inventory text and the matrix (no Docker)."""

from whiskey import matrix, sbom

INVENTORY = ("libapr1\t1.7.2-3+deb12u1\tamd64\n"
             "tini\t0.19.0-1\tamd64\n"
             "half-removed\t\tamd64\n"
             "--- unpacked\n"
             "apache2-bin\t2.4.65-1~deb12u1\tamd64\n"
             "--- python\n"
             "/opt/app-root/lib/python3.5/site-packages/mod_wsgi-4.7.1-py3.5.egg-info\n"
             "/opt/app-root/lib/python3.5/site-packages/pip-20.3.4.dist-info\n"
             "/opt/app-root/lib/python3.5/site-packages/typing_extensions-4.1.0.dist-info\n")


def test_components_from_the_inventory_and_the_matrix():
    (v,) = matrix.select(matrix.load(), ["python-3.5"])
    found = {c["purl"]: c for c in sbom.components(v, INVENTORY)}
    assert sorted(found) == sorted([
        "pkg:deb/debian/libapr1@1.7.2-3+deb12u1?arch=amd64",
        "pkg:deb/debian/tini@0.19.0-1?arch=amd64",
        "pkg:deb/debian/apache2-bin@2.4.65-1~deb12u1?arch=amd64",
        "pkg:pypi/mod-wsgi@4.7.1", "pkg:pypi/pip@20.3.4", "pkg:pypi/typing-extensions@4.1.0",
        "pkg:generic/cpython@3.5.10", "pkg:generic/openssl@1.1.1w"])
    assert found["pkg:generic/cpython@3.5.10"]["hashes"][0]["content"] == v.source.sha256
    # Unpacked, not installed: said so, since dpkg's database does not list it.
    unpacked = found["pkg:deb/debian/apache2-bin@2.4.65-1~deb12u1?arch=amd64"]
    assert unpacked["properties"][0]["name"] == "whiskey:installed-by"
    assert "properties" not in found["pkg:deb/debian/tini@0.19.0-1?arch=amd64"]


def test_a_distribution_python_has_no_source_component():
    (v,) = matrix.select(matrix.load(), ["python-3.11"])
    purls = [c["purl"] for c in sbom.components(v, INVENTORY)]
    assert not [p for p in purls if p.startswith("pkg:generic/")]
