"""Apps written for the official OpenShift Python builder (sclorg's): its settings in
.s2i/environment honoured, each said in the start log (issue 23).  One build, one container."""

import json
import time
from urllib.request import urlopen

import pytest
from conftest import start


@pytest.fixture(scope="module")
def official(apps, builder, docker_client):
    """tests/apps/official-settings (APP_HOME, APP_MODULE, PORT=8085, WEB_CONCURRENCY=2 and a
    gunicorn APP_CONFIG), started with 8085 published; (its answer on /, its logs)."""
    image, _ = apps.build(builder, "official-settings")
    app = start(docker_client, image.id, wait=False, ports={"8085/tcp": ("127.0.0.1", None)})
    try:
        port = app.container.attrs["NetworkSettings"]["Ports"]["8085/tcp"][0]["HostPort"]
        deadline, answer = time.time() + 60, None
        while answer is None and time.time() < deadline:
            try:
                with urlopen("http://127.0.0.1:%s/" % port, timeout=5) as r:
                    answer = (r.status, json.loads(r.read().decode()))
            except OSError:
                time.sleep(0.2)
        yield answer, app.logs()
    finally:
        app.container.remove(force=True)


def test_port_app_home_and_app_module_serve_the_app_and_are_said(official):
    answer, logs = official
    assert answer is not None, logs
    status, body = answer
    assert status == 200 and body["app"] == "official-settings", body
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


def test_gunicorns_own_configuration_is_named_as_not_read(official):
    assert ("---> APP_CONFIG (gunicorn's configuration) is not read: whiskey serves with Apache "
            "and mod_wsgi; put mod_wsgi-express options in .whiskey/server_args") in official[1]
