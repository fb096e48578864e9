"""The real `s2i` client against the builder images.

The rest of the suite builds application images the way s2i does (tests/support/s2i.py);
these tests run the client itself where one is installed, as OpenShift users
do: the allowed-UIDs check, a source build, an incremental build offline, and
`s2i usage`.  No s2i on PATH: they are skipped, saying so.
"""

import os
import shutil
import subprocess

import pytest
from conftest import APP_REPOSITORY, APPS, ca_bundle

S2I = shutil.which("s2i")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(S2I is None, reason="no s2i client on PATH (the suite's own S2I "
                                           "emulation covers the contract without it)"),
]


def s2i(*args, timeout=900):
    """Run the s2i client; (exit status, stdout + stderr)."""
    p = subprocess.run([S2I] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@pytest.fixture
def source(tmp_path):
    """copy(app) -> a private copy of a sample app (s2i copies, never clones, it)."""
    def copy(app):
        dest = tmp_path / app
        shutil.copytree(os.path.join(APPS, app), str(dest))
        return str(dest)
    return copy


@pytest.fixture
def ca_volume(tmp_path):
    """-v arguments that mount the host's CA bundle where assemble looks for extra CAs."""
    bundle = ca_bundle()
    if not bundle:
        return []
    d = tmp_path / "ca"
    d.mkdir()
    shutil.copy(bundle, str(d / "ca-bundle.pem"))
    return ["-v", "%s:/run/secrets/whiskey-ca" % d]


def app_tag(builder, app):
    return "%s/s2i-%s:%s" % (APP_REPOSITORY, app, builder.split(":")[-1])


def test_s2i_builds_and_the_app_serves(builder, run, source, ca_volume, docker_client):
    tag = app_tag(builder, "django-hello-world")
    # --allowed-uids is what OpenShift enforces: the builder's USER must be numeric, not root.
    status, out = s2i("build", source("django-hello-world"), builder, tag, "--copy",
                      "--pull-policy", "never", "--allowed-uids", "1-", *ca_volume)
    assert status == 0, out
    app = run(tag)
    assert app.get("/").text == "Hello World!"
    static = app.get("/static/admin/css/base.css")
    assert static.status == 200 and static.headers.get("ETag")
    labels = docker_client.images.get(tag).labels
    assert labels["io.openshift.s2i.scripts-url"] == "image:///usr/libexec/s2i"
    assert docker_client.images.get(tag).attrs["Config"]["User"] == "1001"


def test_s2i_runtime_image_build_serves_from_the_runtime_image(builder, runtime_image, run,
                                                               source, ca_volume, docker_client):
    tag = app_tag(builder, "django-hello-world") + "-runtime"
    status, out = s2i("build", source("django-hello-world"), builder, tag, "--copy",
                      "--pull-policy", "never", "--runtime-image", runtime_image,
                      "--runtime-pull-policy", "never", "--allowed-uids", "1-", *ca_volume)
    assert status == 0, out
    assert "Application assembled for the runtime image" in out
    app = run(tag, user="123456:0")
    assert app.get("/").text == "Hello World!"
    assert app.get("/static/admin/css/base.css").headers.get("ETag")
    image = docker_client.images.get(tag)
    assert image.attrs["Config"]["User"] == "1001"
    assert image.attrs["Config"]["Cmd"] == ["/usr/libexec/s2i/run"]
    assert image.attrs["Size"] < docker_client.images.get(builder).attrs["Size"] * 0.75


def test_s2i_incremental_build_reuses_compiled_wheels_offline(builder, run, source, ca_volume):
    tag = app_tag(builder, "compiled")
    src = source("compiled")
    status, out = s2i("build", src, builder, tag, "--copy", "--pull-policy", "never", *ca_volume)
    assert status == 0, out
    assert "Compiled from source: crcmod-1.7-" in out
    status, out = s2i("build", src, builder, tag, "--copy", "--pull-policy", "never",
                      "--incremental", "--network", "none", *ca_volume)
    assert status == 0, out
    assert "Restoring" in out and "unchanged since the previous build" in out
    assert "Compiled from source" not in out
    assert run(tag).get("/").json() == {"crcmod": "compiled", "crc32": 3363689497}


def test_s2i_usage_prints_the_contract(builder):
    status, out = s2i("usage", builder, "--pull-policy", "never", timeout=120)
    assert status == 0, out
    assert "s2i build" in out and ".whiskey/server_args" in out
