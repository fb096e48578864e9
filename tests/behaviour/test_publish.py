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

from whiskey import images, outdated, publish

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
def test_push_pull_round_trip(variant, builder, runtime_image, registry, docker_client, apps,
                              run):
    destination = "%s/%s" % (registry.host, NAMESPACE)
    builder_id = docker_client.images.get(builder).id
    runtime_name = publish.PUBLISHED_NAME + "-runtime"
    day = publish.dated_tag(variant, publish.build_day(docker_client.images.get(builder)))
    try:
        # The build's tag of the day names another image already (an earlier build that
        # day): it must stay as it is, and this build gets the next number.
        taken = publish.target(destination, day)
        docker_client.images.get(runtime_image).tag(*taken.rsplit(":", 1))
        taken_digest = publish.push_ref(docker_client, taken)
        outcomes = publish.push([variant], destination, repository=REPOSITORY,
                                docker_client=docker_client, log=lambda line: None, environ={},
                                dated=True)
        assert [o.result for o in outcomes] == ["pushed"], publish.summary(outcomes)
        dated = day + ".1"
        assert outcomes[0].refs == ([publish.target(destination, t) for t in variant.tags]
                                    + [publish.target(destination, t, runtime_name)
                                       for t in variant.tags]
                                    + [publish.target(destination, dated),
                                       publish.target(destination, dated, runtime_name)])
        assert outcomes[0].digest.startswith("sha256:")
        assert outcomes[0].digests == {publish.PUBLISHED_NAME: outcomes[0].digest,
                                       runtime_name: taken_digest}
        # The registry lives for the session, so other variants' tags may be there too.
        for name in (publish.PUBLISHED_NAME, runtime_name):
            assert set(variant.tags + [dated]) <= set(registry.tags("%s/%s" % (NAMESPACE, name)))
        lookup = publish.registry_lookup(docker_client)
        assert lookup("%s/%s" % (destination, publish.PUBLISHED_NAME), day) == taken_digest
        assert lookup("%s/%s" % (destination, publish.PUBLISHED_NAME), dated) == \
            outcomes[0].digest
        # Pushed again, the same images keep their dated tag: no .2.
        again = publish.push([variant], destination, repository=REPOSITORY,
                             docker_client=docker_client, log=lambda line: None, environ={},
                             dated=True)
        assert again[0].refs == outcomes[0].refs, publish.summary(again)
        assert day + ".2" not in registry.tags("%s/%s" % (NAMESPACE, publish.PUBLISHED_NAME))

        _untag_registry_refs(docker_client, registry)
        assert docker_client.images.get(builder).id == builder_id  # the builder's tags remain

        ref = publish.target(destination, variant.tags[0])
        pulled = docker_client.images.pull(ref.rsplit(":", 1)[0], tag=variant.tags[0])
        assert pulled.id == builder_id
        assert ref in docker_client.images.get(ref).tags

        # The pulled image works as a builder: an app that names nothing builds, and its
        # server answers with whiskey's 503.
        app_image, _ = apps.build(ref, "no-entry-point", suffix="-pulled")
        r = run(app_image.id).get("/")
        assert r.status == 503 and r.text.startswith("whiskey: no application is named"), r.text
    finally:
        _untag_registry_refs(docker_client, registry)


def installed_version(docker_client, image, package):
    # A last line without a newline can be lost from a container's logs.
    return docker_client.containers.run(image, ["dpkg-query", "-W", "-f", "${Version}\n", package],
                                        remove=True).decode().strip()


@pytest.mark.once_per("run")
def test_outdated_names_a_moved_base_a_newer_debian_package_and_what_was_never_published(
        variant, builder, registry, docker_client):
    destination = "%s/whiskey-outdated" % registry.host
    log = []
    try:
        (verdict,) = outdated.check_all([variant], destination, docker_client, log.append)
        assert verdict.reasons[0].startswith("not published ("), verdict.reasons

        # As published: built on the base the engine has, from this checkout.  Its
        # copy of tini's dpkg entry says an old version, as an image built before
        # Debian's last update of it would: apt, run in the published image, finds
        # the newer one, and nothing else about it is outdated.
        container = docker_client.containers.run(builder, [
            "sed", "-i", "/^Package: tini$/,/^$/ s/^Version: .*/Version: 0.1/",
            "/var/lib/dpkg/status"], user="0", detach=True)
        try:
            assert container.wait(timeout=60)["StatusCode"] == 0
            old = container.commit()
        finally:
            container.remove(force=True)
        ref = publish.target(destination, variant.tags[1])
        old.tag(*ref.rsplit(":", 1))
        publish.push_ref(docker_client, ref)
        (verdict,) = outdated.check_all([variant], destination, docker_client, log.append)
        assert verdict.reference == ref
        assert [u for u in verdict.upgrades if u[0] == "tini"] == [
            ("tini", "0.1", installed_version(docker_client, builder, "tini"))], verdict.upgrades
        assert [r for r in verdict.reasons if "Debian package" in r], verdict.reasons
        assert not [r for r in verdict.reasons
                    if r.startswith(variant.base) or "inputs" in r], verdict.reasons

        # The base's tag names another image now.
        (verdict,) = outdated.check_all([variant], destination, docker_client, log.append,
                                        base_digests={variant.base: "sha256:" + "0" * 64})
        built_on = docker_client.images.get(builder).labels[images.LABEL_BASE_DIGEST]
        assert verdict.reasons[0] == "%s is sha256:%s now, built on %s" % (
            variant.base, "0" * 12, built_on[:19]), verdict.reasons
    finally:
        _untag_registry_refs(docker_client, registry)
