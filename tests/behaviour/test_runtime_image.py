"""Runtime images: what they carry and leave out, and the three ways an application
gets into one (s2i --runtime-image, emulated here; the real client in
test_s2i_client.py; the multi-stage Dockerfile the README documents), and an
application installed into one, asked what can differ from a builder build.
"""

import pytest
from conftest import APPS, byte_code_written, run_to_exit, serving

from tests.support import s2i

pytestmark = pytest.mark.slow


def _sh(client, image, script, user=None):
    """(exit status, output) of bash -c script in a throwaway container of image."""
    return run_to_exit(client, image, timeout=120, command=["bash", "-c", script], user=user or "")


def test_runtime_image_has_no_compiler_headers_or_pip(docker_client, runtime_image, variant):
    status, out = _sh(docker_client, runtime_image, """
        for tool in gcc cc make apxs; do command -v "$tool" && echo "has $tool"; done
        ls /usr/include/apache2 /usr/include/python* 2>/dev/null && echo "has headers"
        python -c "import pip" 2>/dev/null && echo "has pip"
        python -c 'import mod_wsgi.server; import platform; print(platform.python_version())'
        test -x /usr/libexec/s2i/assemble-runtime && test -x /usr/libexec/s2i/run && echo scripts
    """)
    assert status == 0, out
    assert "has " not in out, out
    assert variant.python in out and "scripts" in out


def test_runtime_image_labels_name_its_inputs_and_runtime_user(docker_client, runtime_image,
                                                              variant):
    image = docker_client.images.get(runtime_image)
    labels = image.labels
    paths = [p for p, _ in s2i.input_files(labels[s2i.INPUT_FILES_LABEL])]
    assert paths == ["/opt/app-root/src",
                     "/opt/app-root/lib/python%s/site-packages" % variant.major_minor,
                     "/opt/app-root/bin"]
    assert labels[s2i.RUNTIME_USER_LABEL] == "0"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert labels["io.openshift.s2i.scripts-url"] == "image:///usr/libexec/s2i"
    assert image.attrs["Config"]["User"] == "1001"


def test_runtime_image_is_a_fraction_of_the_builder(docker_client, builder, runtime_image):
    size = docker_client.images.get(runtime_image).attrs["Size"]
    assert size < docker_client.images.get(builder).attrs["Size"] * 0.6


# -- an application installed into the runtime image -----------------------------------
# The runtime image starts from the builder's own first stage (runtime-base:
# Apache, tini, nss_wrapper) and carries the same root/, so the server and
# its supervisor behave alike in both (test_runtime.py, on builder builds).
# What differs is how the application got there: copied by s2i, put in place
# by assemble-runtime, mod_wsgi's configuration made again.  That is asked
# here, of one container of the probe under a random UID.

@pytest.fixture(scope="module")
def runtime_app(apps, builder, docker_client):
    image, logs = apps.build(builder, "probe", kind="runtime")
    with serving(docker_client, image.id, user="123456:0") as app:
        yield app, logs


def test_runtime_app_serves_with_its_hooks_options_and_static_files(runtime_app, docker_client):
    app, logs = runtime_app
    assert "Application assembled for the runtime image" in logs
    assert app.get("/").text == "probe ok"
    hooks = app.get("/hooks").json()
    assert hooks["build"] == "six=1.16.0 s2i=from-s2i-environment"  # made in the builder
    assert hooks["deploy"] == "deployed with set by deploy-env greeting=hello from user_vars"
    env = app.get("/environ").json()
    assert env["env:S2I_VAR"] == "from-s2i-environment" and env["env:REMOVED_VAR"] is None
    assert env["wsgi:GREETING_ARG"] == "hello from user_vars" and env["wsgi:SPACED"] == "two words"
    assert env["wsgi:SUB"] == "$(touch /tmp/pwned)" and env["wsgi:DOLLAR"] == "costs $5"
    assert app.exec("test -e /tmp/pwned")[0] == 1
    css = app.get("/static/probe.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert app.get("/static/probe.css", headers={"If-None-Match": css.headers["ETag"]}).status == 304
    missing = app.get("/static/missing.css")
    assert missing.status == 404 and "probe: no such path" not in missing.text
    assert app.get("/whoami").json()["name"] == "whiskey"
    code, cmdline = app.exec("cat /proc/1/cmdline")
    assert cmdline.split("\0")[0].endswith("tini"), cmdline
    # What the builder installed, imported from where s2i copied it, by the image's Python.
    code, out = app.exec(["python", "-c", "import six, sys; sys.stdout.write('%s %s' % "
                          "(six.__version__, six.__file__))"])
    assert code == 0 and out.split()[0] == "1.16.0", out
    assert out.split()[1].startswith("/opt/app-root/lib/python"), out
    image = docker_client.images.get(app.container.image.id)
    assert image.attrs["Config"]["User"] == "1001"
    assert image.attrs["Config"]["Cmd"] == ["/usr/libexec/s2i/run"]


def test_runtime_app_start_compiles_no_python(runtime_app):
    # The byte code came with what the builder made (test_runtime.py says why).
    app, _ = runtime_app
    assert byte_code_written(app) == []


def test_runtime_app_keeps_no_wheelhouse_and_owns_its_files(runtime_app):
    app, _ = runtime_app
    assert app.get("/write").status == 200
    # Every file is the application user's and group-writable, but what the
    # app itself wrote at run time, as the random UID.
    status, out = app.exec(["bash", "-c", """
        test ! -e /opt/app-root/var/wheels || echo "has wheels"
        test ! -e /opt/app-root/src/.whiskey-input || echo "has input"
        command -v gcc && echo "has gcc"
        find /opt/app-root/src /opt/app-root/bin ! -user 123456 \\( ! -user 1001 -o ! -perm -g+w \\) \\
            -print | head -3
        touch /opt/app-root/src/written && echo writable
    """])
    assert status == 0, out
    assert out.strip() == "writable", out


def test_assemble_runtime_as_non_root_is_refused_in_one_line(docker_client, runtime_image):
    status, out = _sh(docker_client, runtime_image, "/usr/libexec/s2i/assemble-runtime",
                      user="1001")
    assert status != 0
    assert out.strip().splitlines() == [
        "whiskey: ERROR: assemble-runtime runs as uid 1001, not root: it cannot give the copied "
        "files to the application user; do not override the image's assemble-runtime user "
        "(--assemble-runtime-user)"]


def test_assemble_runtime_names_what_did_not_arrive(docker_client, runtime_image):
    status, out = _sh(docker_client, runtime_image,
                      "mkdir -p /opt/app-root/src/.whiskey-input/src "
                      "&& /usr/libexec/s2i/assemble-runtime", user="0")
    assert status != 0
    assert "site-packages did not arrive from the builder" in out, out


def test_multi_stage_dockerfile_equivalent_serves(docker_client, run, builder, runtime_image,
                                                  variant):
    """The README's multi-stage Dockerfile: assemble in the builder, COPY what the
    runtime image's label names into it.  (An app without requirements: a plain
    docker build cannot be given this machine's proxy CA without baking it in.)"""
    paths = [p for p, _ in s2i.input_files(
        docker_client.images.get(runtime_image).labels[s2i.INPUT_FILES_LABEL])]
    context = s2i.runtime_dockerfile_context(builder, runtime_image,
                                             "%s/wsgi-script" % APPS, paths)
    tag = "whiskey-test/wsgi-script:%s-multistage" % builder.split(":")[-1]
    image, _ = docker_client.images.build(fileobj=context, custom_context=True, tag=tag,
                                          rm=True, forcerm=True)
    app = run(image.id, user="123456:0")
    assert app.get("/").text == "Hello from a WSGI script"
    assert app.get("/version").text == variant.python
    assert app.get("/static/hello.txt").text == "static hello\n"
    status, out = _sh(docker_client, image.id, "command -v gcc || echo no-gcc")
    assert out.strip() == "no-gcc"
    status, out = _sh(docker_client, image.id, "locale -a | grep -x en_US.utf8")
    assert (status, out.strip()) == (0, "en_US.utf8"), out


def test_builder_still_compiles_a_pinned_mod_wsgi_from_its_sdist(apps, builder, run, variant,
                                                                pinned_mod_wsgi_src):
    """What the builder keeps of Apache's and APR's headers and apxs (unpacked, not
    installed): enough for a `mod_wsgi` pinned in an app's requirements (sclorg#59)."""
    image, logs = apps.build(builder, "pinned-mod-wsgi", src=pinned_mod_wsgi_src)
    assert "Compiled from source: mod_wsgi-%s-" % variant.pin_version("mod_wsgi") in logs, logs
    # pip finds the pin satisfied by the image's own: that one serves, and the log says so.
    assert ("---> mod_wsgi %s, this image's own, serves the application (it satisfies what the "
            "application asks for)" % variant.pin_version("mod_wsgi")) in logs, logs
    assert run(image.id).get("/").text == "pinned mod_wsgi"
