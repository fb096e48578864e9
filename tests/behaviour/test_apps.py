"""Sample applications built the way `s2i build` does it, served over real HTTP."""

import json
import os
import shutil

import pytest
from conftest import APPS, SPOOF, serving

from tests.support import s2i

pytestmark = pytest.mark.slow


def test_wsgi_script_app_from_as_dockerfile_build(run, apps, builder, variant):
    """The plain WSGI app, built from the Dockerfile `s2i build --as-dockerfile` writes."""
    app = run(apps.build_as_dockerfile(builder, "wsgi-script").id)
    r = app.get("/")
    assert r.status == 200 and r.text == "Hello from a WSGI script"
    assert app.get("/version").text == variant.python
    static = app.get("/static/hello.txt")
    assert static.status == 200 and static.text == "static hello\n"


def test_no_entry_point_answers_503_so_that_probes_fail(run, apps, builder, no_entry_point_src):
    """Its runtime.txt names the image's own Python: accepted."""
    image, build_log = apps.build(builder, "no-entry-point", src=no_entry_point_src)
    assert ("whiskey: WARNING: At start, with this build's environment: no application is "
            "named: every request will be answered 503") in build_log, build_log
    app = run(image.id)
    for path in ("/", "/healthz"):
        r = app.get(path)
        assert r.status == 503 and r.text.startswith("whiskey: no application is named"), r.text
    # Said loudly, with how to name the application.
    assert ("whiskey: WARNING: no application is named: every request is answered 503 Service "
            "Unavailable, so that probes fail (name one with APP_MODULE=module:callable") \
        in app.logs()


# -- layouts other than requirements.txt (issue 10) ----------------------------------

def test_setup_py_project_is_installed_with_its_dependencies(run, apps, builder):
    image, logs = apps.build(builder, "setup-py")
    assert "Building wheels for the project (pyproject.toml / setup.py)" in logs
    # The sample's pre-build hook is not executable: named, skipped, not fatal.
    assert ("WARNING: .whiskey/action_hooks/pre-build is not executable (chmod +x it); "
            "skipped") in logs and "this hook must not run" not in logs
    assert run(image.id).get("/").text == "greeter greeter, six 1.16.0, installed=True"


def test_pep_621_project_is_installed_or_refused_by_its_requires_python(run, apps, builder, variant):
    """requires-python = ">=3.8": installed from its wheel where the image
    satisfies it; refused at once, saying how to find an image that does, where not."""
    if variant.version_info[:2] >= (3, 8):
        image, _ = apps.build(builder, "pyproject")
        assert run(image.id).get("/").text == "hello621 installed=True, six 1.16.0"
        return
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "pyproject")
    assert ("whiskey: ERROR: pyproject.toml declares Python requires-python = '>=3.8', and this "
            "image (%s) has Python %s; build with a whiskey image whose Python satisfies it (tags "
            "python-X.Y; `./build.py list` names every variant)"
            % (variant.name, variant.python)) in exc.value.logs
    assert "Building wheels" not in exc.value.logs  # before pip, not after it


def test_declared_python_of_another_version_fails_the_build_at_once(apps, builder, variant, tmp_path):
    other = "3.12" if variant.major_minor != "3.12" else "3.10"
    src = tmp_path / "app"
    src.mkdir()
    (src / "wsgi.py").write_text("")
    (src / "runtime.txt").write_text("python-%s\n" % other)
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "declared-python", src=str(src))
    assert ("whiskey: ERROR: runtime.txt declares Python python-%s, and this image (%s) has Python "
            "%s; build with whiskey's python-%s image" % (other, variant.name, variant.python, other)
            ) in exc.value.logs
    # The image's own version is accepted: test_no_entry_point_serves_the_mod_wsgi_default_page.


# -- lock files (issue 10) -------------------------------------------------------------

FLASK_LOCKS = [("uv-lock", "uvdemo"), ("poetry-lock", "poetrydemo"), ("pylock", "pylockdemo"),
               ("pipfile-lock", None)]


def needs_flask_3_1(variant):
    if variant.version_info[:2] < (3, 9):
        pytest.skip("the lock pins Flask 3.1, which needs Python >= 3.9 (%s has %s); "
                    "pipfile-lock-legacy covers this variant" % (variant.name, variant.python))


@pytest.mark.parametrize("app, project", FLASK_LOCKS, ids=[a for a, _ in FLASK_LOCKS])
def test_lock_is_installed_exactly(run, apps, builder, variant, app, project):
    """The pinned versions, hash-checked; no dev group, no Windows-only colorama;
    the project itself installed when the lock says it is a package."""
    needs_flask_3_1(variant)
    image, logs = apps.build(builder, app)
    assert "(hash-checked)" in logs
    report = run(image.id).get("/").json()
    assert (report["flask"], report["click"], report["werkzeug"]) == ("3.1.0", "8.1.8", "3.1.9")
    assert (report["pytest"], report["pluggy"], report["colorama"]) == (None, None, None)
    if project:
        assert report[project] == "0.1.0" and report["greeting"] == "hello from " + project


def test_legacy_pipfile_lock_is_installed_exactly(run, apps, builder):
    image, _ = apps.build(builder, "pipfile-lock-legacy")
    assert run(image.id).get("/").json() == {"six": "1.16.0", "six_module": "1.16.0",
                                             "colorama": None, "nose": None}


def test_pipfile_lock_naming_the_project_as_current_pipenv_does(run, apps, builder, tmp_path):
    """Current pipenv writes the project itself as "<its name>": {"version": "==0.1"}, with no
    hash: the project (named so in its setup.py) is built and installed, not refused."""
    src = str(tmp_path / "app")
    shutil.copytree(os.path.join(APPS, "pipfile-lock-legacy"), src)
    with open(os.path.join(src, "Pipfile.lock")) as f:
        lock = json.load(f)
    lock["default"]["Pipfile_Demo"] = {"version": "==0.1"}
    with open(os.path.join(src, "Pipfile.lock"), "w") as f:
        json.dump(lock, f)
    with open(os.path.join(src, "setup.py"), "w") as f:
        f.write("from setuptools import setup\n"
                "setup(name='pipfile-demo', version='0.1', py_modules=['pipfiledemo'])\n")
    with open(os.path.join(src, "pipfiledemo.py"), "w") as f:
        f.write("NAME = 'pipfile-demo'\n")
    image, logs = apps.build(builder, "pipfile-lock-legacy", suffix="-project", src=src)
    assert "Building the project itself (Pipfile.lock says it is a package)" in logs, logs
    app = run(image.id)
    assert app.get("/").json()["six"] == "1.16.0"
    code, out = app.exec(["sh", "-c", "cd / && python -c 'import pipfiledemo; "
                          "print(pipfiledemo.NAME)'"])
    assert (code, out.strip()) == (0, "pipfile-demo"), out


def test_disagreeing_lock_files_fail_naming_them(apps, builder, tmp_path):
    src = str(tmp_path / "app")
    shutil.copytree(os.path.join(APPS, "pipfile-lock"), src)
    with open(os.path.join(APPS, "poetry-lock", "poetry.lock")) as f:
        poetry = f.read().replace('name = "flask"\nversion = "3.1.0"', 'name = "flask"\nversion = "3.0.3"')
    with open(os.path.join(src, "poetry.lock"), "w") as f:
        f.write(poetry)
    with pytest.raises(s2i.AssembleError) as exc:
        apps.build(builder, "disagreeing-locks", src=src)
    assert ("whiskey: ERROR: poetry.lock and Pipfile.lock disagree (flask 3.0.3 vs 3.1.0); "
            "set WHISKEY_LOCK_FILE to the one to install") in exc.value.logs
    assert "Downloading" not in exc.value.logs


def test_an_unchanged_lock_installs_offline_on_an_incremental_build(run, apps, builder, variant):
    app = "pipfile-lock" if variant.version_info[:2] >= (3, 9) else "pipfile-lock-legacy"
    apps.build(builder, app)  # test_lock_is_installed_exactly's image: the previous one here
    image, logs = apps.build(builder, app, incremental=True, network_mode="none")
    assert "Restoring" in logs and "Pipfile.lock is unchanged since the previous build" in logs
    assert "Reused: " in logs and "(pinned by Pipfile.lock)" in logs, logs
    assert "Downloading" not in logs
    assert run(image.id).get("/").status == 200


# -- the Django sample (the slowest build: asked last) ---------------------------------

@pytest.fixture(scope="module")
def django(apps, builder, docker_client):
    """The Django sample, built once, in one container asked every question, under
    a random UID in group 0 as OpenShift runs it (the default user: test_runtime.py)."""
    image, _ = apps.build(builder, "django-hello-world")
    with serving(docker_client, image.id, user="123456:0") as app:
        yield app


def test_django_index(django):
    r = django.get("/")
    assert r.status == 200
    assert r.text == "Hello World!"


def test_django_static_files_are_served_by_apache(django):
    r = django.get("/static/admin/css/base.css")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/css")
    # Apache's file handler marks its responses; Django (DEBUG off) would 404.
    assert r.headers.get("ETag") and r.headers.get("Last-Modified")
    assert r.headers.get("Accept-Ranges") == "bytes"
    assert b"{" in r.body


def test_django_admin_redirects_to_login(django):
    r = django.get("/admin/")
    assert r.status == 302
    assert "/admin/login/" in r.headers["Location"]


def test_django_runs_as_an_arbitrary_uid_in_group_0_under_tini(django):
    assert django.get("/uid").text == "123456"
    code, cmdline = django.exec("cat /proc/1/cmdline")
    assert code == 0 and cmdline.split("\0")[0].endswith("tini"), cmdline


def test_trusted_proxy_headers_are_applied_and_others_scrubbed(django):
    env = django.get("/env", headers=SPOOF).json()
    assert env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == "443"
    # Untrusted headers of the same kinds cannot be used to spoof.
    assert env["HTTP_X_REAL_IP"] is None
    assert env["HTTP_X_FORWARDED_PROTO"] is None
    assert env["HTTP_X_CLIENT_IP"] is None
