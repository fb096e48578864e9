"""Publishing: push a builder image to a real registry, pull it back, build an app from it.

The registry is Debian's `docker-registry` (the reference registry server),
started on 127.0.0.1 for the session with its storage under a temporary
directory.  Docker treats 127.0.0.0/8 registries as insecure by default, so
plain HTTP works and no traffic leaves the machine.
"""

import shutil
import socket
import subprocess
import time

import pytest
from conftest import _OPENER, REPOSITORY, Request, URLError

from whiskey import publish

REGISTRY_BINARY = "docker-registry"
NAMESPACE = "whiskey-test"


class Registry(object):
    def __init__(self, port):
        self.host = "127.0.0.1:%d" % port
        self.url = "http://%s" % self.host

    def get_json(self, path):
        import json
        with _OPENER.open(Request(self.url + path), timeout=10) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def tags(self, name):
        return self.get_json("/v2/%s/tags/list" % name).get("tags") or []


def _free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """A docker-registry on 127.0.0.1:<free port>, stopped at the end of the session."""
    binary = shutil.which(REGISTRY_BINARY)
    if binary is None:
        pytest.fail("the %s binary is not installed; the publish tests need Debian's reference "
                    "registry server: apt-get install -y docker-registry" % REGISTRY_BINARY,
                    pytrace=False)
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:%d\n" % (root / "data", port))
    log = open(str(root / "registry.log"), "w")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    reg = Registry(port)
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail("%s exited with status %s:\n%s" % (
                    REGISTRY_BINARY, proc.returncode, (root / "registry.log").read_text()[-3000:]),
                    pytrace=False)
            try:
                reg.get_json("/v2/")
                break
            except (URLError, OSError, ValueError):
                if time.time() > deadline:
                    pytest.fail("%s did not answer on %s/v2/ within 30s" % (REGISTRY_BINARY,
                                                                           reg.url), pytrace=False)
                time.sleep(0.2)
        yield reg
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _untag_registry_refs(docker_client, registry):
    """Remove every local tag pointing into the test registry (never whiskey:* tags)."""
    prefix = registry.host + "/"
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(prefix):
                docker_client.images.remove(tag, noprune=True)


# One round trip a run: a registry moves layers by digest and never reads them,
# and publish.py does the same for every variant; the tags a variant gets are
# tests/unit (test_ci.py: push tags every tag; test_matrix.py: tags unique, well formed).
@pytest.mark.once_per("run")
def test_push_pull_round_trip(variant, builder, registry, docker_client, apps, run):
    destination = "%s/%s" % (registry.host, NAMESPACE)
    builder_id = docker_client.images.get(builder).id
    try:
        outcomes = publish.push([variant], destination, repository=REPOSITORY,
                                docker_client=docker_client, log=lambda line: None, environ={})
        assert [o.result for o in outcomes] == ["pushed"], publish.summary(outcomes)
        runtime_name = publish.PUBLISHED_NAME + "-runtime"
        assert outcomes[0].refs == ([publish.target(destination, t) for t in variant.tags]
                                    + [publish.target(destination, t, runtime_name)
                                       for t in variant.tags])
        assert outcomes[0].digest.startswith("sha256:")
        # The registry lives for the session, so other variants' tags may be there too.
        for name in (publish.PUBLISHED_NAME, runtime_name):
            assert set(variant.tags) <= set(registry.tags("%s/%s" % (NAMESPACE, name)))

        _untag_registry_refs(docker_client, registry)
        assert docker_client.images.get(builder).id == builder_id  # the builder's tags remain

        ref = publish.target(destination, variant.tags[0])
        pulled = docker_client.images.pull(ref.rsplit(":", 1)[0], tag=variant.tags[0])
        assert pulled.id == builder_id
        assert ref in docker_client.images.get(ref).tags

        # The pulled image works as a builder: the default-page app builds and serves.
        app_image, _ = apps.build(ref, "no-entry-point", suffix="-pulled")
        r = run(app_image.id).get("/")
        assert r.status == 200
        assert "mod_wsgi" in r.text and "<html" in r.text.lower()
    finally:
        _untag_registry_refs(docker_client, registry)
