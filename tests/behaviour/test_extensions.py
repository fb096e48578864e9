"""The C extensions applications really have (tests/apps/c-extensions: psycopg2,
mysqlclient, lxml, Pillow, python-ldap, gssapi, pycurl, cffi), built by the builder
and made to use their libraries, in one build and one container per variant; then
the same build put into the runtime image, whose libraries the loader checks at
assemble-runtime.  On the first variant of each base every one is compiled from its
sdist; elsewhere those with a wheel for the interpreter take it (conftest.FROM_SOURCE).
"""

import re

import pytest
from conftest import c_extensions_env, run_to_exit

from tests.support import s2i

pytestmark = pytest.mark.slow

EXTENSIONS = ("psycopg2", "mysqlclient", "lxml", "Pillow", "python-ldap", "gssapi", "pycurl",
              "cffi")
# What the answer says each one did with its library (wsgi.py).
DID = {
    "psycopg2": r"^libpq \d+$",
    "mysqlclient": r"^client \d+\.\d+",
    "lxml": r"^libxml2 2\.\d+\.\d+, <c>x</c>$",
    "Pillow": r"^JPEG 8, freetype True$",
    "python-ldap": r"^OpenLDAP API \d+$",
    "gssapi": r"^mechanisms [1-9]\d*$",
    "pycurl": r"^PycURL/7\.",
    "cffi": r"^strlen 7$",
}


# No Linux wheels: compiled from their sdists on every variant.
ALWAYS_COMPILED = ("psycopg2", "mysqlclient", "python-ldap", "gssapi")


def compiled(logs):
    """The extensions the build log says were compiled from their sdists."""
    return {name for name in EXTENSIONS
            if re.search(r"^---> Compiled from source: %s-\d" % name.replace("-", "[-_]"), logs,
                         re.M | re.I)}


def absent(variant):
    """The extensions with no release for this interpreter (requirements.txt)."""
    return {"python-ldap"} if variant.major_minor == "3.3" else set()


def bookworm(docker_client, image):
    status, out = run_to_exit(docker_client, image, command=["cat", "/etc/debian_version"])
    assert status == 0, out
    return out.startswith("12.")


@pytest.fixture(scope="module")
def env(request, variant):
    return c_extensions_env(request.config, variant)


@pytest.fixture(scope="module")
def extensions(apps, builder, env):
    return apps.build(builder, "c-extensions", env=env)


def test_each_extension_compiles_or_installs_and_uses_its_library(extensions, env, run, variant):
    image, logs = extensions
    must = set(EXTENSIONS) if env else set(ALWAYS_COMPILED)
    assert must - absent(variant) <= compiled(logs), logs
    answer = run(image.id).get("/").json()
    assert answer["python"] == variant.python
    for name in EXTENSIONS:
        did = answer["extensions"][name]
        if name in absent(variant):
            assert did is None, (name, did)
        else:
            assert did is not None and re.search(DID[name], did), (name, did)


def test_the_runtime_image_has_their_libraries_or_the_build_names_those_it_lacks(
        apps, builder, runtime_image, docker_client, run, variant, extensions, env):
    # On bookworm the runtime image leaves libxml2 and libxslt out (libicu: 36 MB) for
    # lxml, whose wheels bundle their own: one compiled here is refused, naming them.
    if "lxml" not in compiled(extensions[1]) or not bookworm(docker_client, runtime_image):
        image, logs = apps.build(builder, "c-extensions", env=env, kind="runtime")
        answer = run(image.id).get("/").json()
        assert all(answer["extensions"][n] for n in set(EXTENSIONS) - absent(variant)), answer
        return
    with pytest.raises(s2i.AssembleError) as failed:
        apps.build(builder, "c-extensions", env=env, kind="runtime")
    lines = [line for line in failed.value.logs.splitlines() if line.startswith("whiskey: ERROR")]
    assert len(lines) == 1, failed.value.logs
    assert re.match(r"whiskey: ERROR: libraries the build's extensions link are not in this "
                    r"runtime image: libexslt\.so\.0 \(lxml/[\w.-]+\.so\) libxml2\.so\.2 "
                    r"\(lxml/[\w.-]+\.so\) libxslt\.so\.1 \(lxml/[\w.-]+\.so\); install "
                    r"their Debian packages in an image derived from it \(README: "
                    r'"C libraries"\)$', lines[0]), lines[0]
