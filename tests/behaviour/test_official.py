"""Apps written for the official OpenShift Python builder (sclorg's): its settings in
.s2i/environment honoured, its conventional layouts found, each said in the start log
(issue 23)."""

import json
import time
from urllib.request import urlopen

import pytest
from conftest import start


def on_8085(docker_client, image, **kwargs):
    """Start image with 8085 published; (container, its answer on / or None, its logs)."""
    app = start(docker_client, image, wait=False, ports={"8085/tcp": ("127.0.0.1", None)},
                **kwargs)
    port = app.container.attrs["NetworkSettings"]["Ports"]["8085/tcp"][0]["HostPort"]
    deadline, answer = time.time() + 60, None
    while answer is None and time.time() < deadline:
        try:
            with urlopen("http://127.0.0.1:%s/" % port, timeout=5) as r:
                answer = (r.status, json.loads(r.read().decode()))
        except OSError:
            time.sleep(0.2)
    return app.container, answer, app.logs()


@pytest.fixture(scope="module")
def official_image(apps, builder):
    return apps.build(builder, "official-settings")[0]


@pytest.fixture(scope="module")
def official(official_image, docker_client):
    """tests/apps/official-settings (APP_HOME, APP_MODULE, PORT=8085, WEB_CONCURRENCY=2 and a
    gunicorn APP_CONFIG), started; (its answer on /, its logs)."""
    container, answer, logs = on_8085(docker_client, official_image.id)
    try:
        yield answer, logs
    finally:
        container.remove(force=True)


def test_port_app_home_and_app_module_serve_the_app_and_are_said(official):
    answer, logs = official
    assert answer is not None, logs
    status, body = answer
    assert status == 200 and body["app"] == "official-settings", body
    assert body["server"].startswith("Apache"), body
    # It answered on the container's 8085 (published above), from APP_HOME.
    assert body["cwd"] == "/opt/app-root/src/project"
    for line in ("PORT=8085 (the official builder's): --port 8085",
                 "APP_HOME=project (the official builder's): --working-directory "
                 "/opt/app-root/src/project",
                 "APP_MODULE=app:application (the official builder's): --application-type "
                 "module --entry-point app --callable-object application",
                 "WEB_CONCURRENCY=2 (the official builder's): --processes 2"):
        assert "---> " + line in logs, logs
    assert "no application is named" not in logs


def test_the_build_log_says_what_the_start_will_serve(apps, builder):
    logs = apps.build(builder, "official-settings")[1]
    assert ("---> At start, with this build's environment: APP_MODULE=app:application (the "
            "official builder's): --application-type module") in logs, logs


def test_gunicorns_own_configuration_is_named_as_not_read(official):
    assert ("---> APP_CONFIG (gunicorn's configuration) is not read: whiskey serves with Apache "
            "and mod_wsgi; put mod_wsgi-express options in .whiskey/server_args") in official[1]


def test_app_file_runs_as_the_server_under_tini_and_stops_at_once(official_image, docker_client):
    """APP_FILE (set at run time here): the program is the server, in APP_HOME, on PORT; the
    log says Apache is bypassed; docker stop ends it through tini without the kill timeout."""
    container, answer, logs = on_8085(docker_client, official_image.id,
                                      environment={"APP_FILE": "server.py"})
    try:
        assert answer is not None, logs
        status, body = answer
        assert status == 200 and body["server"].startswith("WSGIServer"), body
        assert body["cwd"] == "/opt/app-root/src/project"
        assert ("---> APP_FILE=server.py (the official builder's): running it as the server; "
                "Apache and mod_wsgi are bypassed") in logs, logs
        began = time.time()
        container.stop(timeout=10)
        assert time.time() - began < 5
    finally:
        container.remove(force=True)


def test_a_django_project_is_collected_migrated_found_and_served_as_the_official_builder_does(
        apps, builder, run):
    image, build_log = apps.build(builder, "conventional-django")
    assert "---> Collecting Django's static files (manage.py collectstatic, settings " \
           "mysite.settings; DISABLE_COLLECTSTATIC=1 skips it)" in build_log, build_log
    assert "---> At start, with this build's environment: Serving mysite.wsgi:application " \
           "(the Django project's WSGI_APPLICATION" in build_log, build_log
    app = run(image.id, user="123456:0")
    logs = app.logs()
    assert app.get("/").text == "conventional django layout"
    assert ("---> Running manage.py migrate --noinput, as the official builder does at every "
            "start (DISABLE_MIGRATE=1 turns it off;") in logs
    assert app.get("/users").text == "users: 0"  # the auth tables: migrated
    assert ("---> Serving mysite.wsgi:application (the Django project's WSGI_APPLICATION in "
            "mysite.settings, named by manage.py): no setting names the application; to "
            "choose otherwise, set APP_MODULE=module:callable or --entry-point in "
            ".whiskey/server_args") in logs
    assert ("---> Serving /static from /opt/app-root/src/staticfiles with Apache (Django's "
            "STATIC_URL and STATIC_ROOT, collected at build)") in logs
    css = app.get("/static/admin/css/base.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.headers.get("ETag") and css.headers.get("Accept-Ranges") == "bytes"  # Apache's
    assert "no application is named" not in logs


def test_django_migrate_is_skipped_when_disabled_and_said(apps, builder, run):
    app = run(apps.build(builder, "conventional-django")[0].id,
              environment={"DISABLE_MIGRATE": "1"})
    assert "---> Not running manage.py migrate (DISABLE_MIGRATE is set)" in app.logs()
    assert app.get("/users").status == 500  # no auth tables
    assert app.get("/").text == "conventional django layout"
