"""Sample applications built the way `s2i build` does it, served over real HTTP."""

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def django_image(apps, builder):
    image, _ = apps.build(builder, "django-hello-world")
    return image.id


@pytest.fixture(scope="session")
def script_image(apps, builder):
    """The plain WSGI app, built from the Dockerfile `s2i build --as-dockerfile` writes."""
    return apps.build_as_dockerfile(builder, "wsgi-script").id


def test_django_index(run, django_image):
    r = run(django_image).get("/")
    assert r.status == 200
    assert r.text == "Hello World!"


def test_django_static_files_are_served_by_apache(run, django_image):
    app = run(django_image)
    r = app.get("/static/admin/css/base.css")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/css")
    # Apache's file handler marks its responses; Django (DEBUG off) would 404.
    assert r.headers.get("ETag") and r.headers.get("Last-Modified")
    assert r.headers.get("Accept-Ranges") == "bytes"
    assert b"{" in r.body


def test_django_admin_redirects_to_login(run, django_image):
    r = run(django_image).get("/admin/")
    assert r.status == 302
    assert "/admin/login/" in r.headers["Location"]


def test_django_runs_as_1001_under_tini(run, django_image):
    app = run(django_image)
    assert app.get("/uid").text == "1001"
    code, cmdline = app.exec("cat /proc/1/cmdline")
    assert code == 0 and cmdline.split("\0")[0].endswith("tini"), cmdline


def test_django_runs_as_an_arbitrary_uid_in_group_0(run, django_image):
    app = run(django_image, user="123456:0")
    assert app.get("/").text == "Hello World!"
    assert app.get("/uid").text == "123456"


def test_wsgi_script_app_from_as_dockerfile_build(run, script_image, variant):
    app = run(script_image)
    r = app.get("/")
    assert r.status == 200 and r.text == "Hello from a WSGI script"
    assert app.get("/version").text == variant.python
    static = app.get("/static/hello.txt")
    assert static.status == 200 and static.text == "static hello\n"


def test_no_entry_point_serves_the_mod_wsgi_default_page(run, apps, builder):
    image, _ = apps.build(builder, "no-entry-point")
    r = run(image.id).get("/")
    assert r.status == 200
    assert "mod_wsgi" in r.text and "<html" in r.text.lower()
