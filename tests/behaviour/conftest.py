"""Fixtures for behaviour tests: real builder images, real app images, real containers.

Variants come from ``--variant NAME`` (repeatable) or ``$WHISKEY_VARIANTS``
(comma separated), default every variant in matrix.yaml.  A variant whose
sources cannot be obtained on this machine is skipped with that reason; a
missing Docker engine is an error, never a skip.
"""

import json
import os
import sys
import time
from urllib.error import HTTPError, URLError
from urllib.request import HTTPRedirectHandler, ProxyHandler, Request, build_opener

import pytest

from tests.support import s2i
from whiskey import images, matrix, orchestrate, settings
from whiskey.matrix import ROOT

APPS = os.path.join(ROOT, "tests", "apps")
REPOSITORY = settings.repository()
APP_REPOSITORY = "whiskey-test"



def pytest_addoption(parser):
    parser.addoption("--variant", action="append", default=[],
                     help="behaviour-test this variant (repeatable; default $WHISKEY_VARIANTS or all)")


def selected_variants(config):
    names = config.getoption("--variant") or settings.test_variants()
    return matrix.select(matrix.load(), names)


# The two kinds of application image every serving behaviour is proved on:
# `s2i build` with the builder alone, and with --runtime-image.
KINDS = ("builder", "runtime")


def pytest_generate_tests(metafunc):
    if "variant" in metafunc.fixturenames:
        variants = selected_variants(metafunc.config)
        metafunc.parametrize("variant", variants, ids=[v.name for v in variants], scope="session")
    if "kind" in metafunc.fixturenames:
        metafunc.parametrize("kind", KINDS, scope="session")


@pytest.fixture(scope="session")
def docker_client():
    import docker
    client = docker.from_env(timeout=1200)
    client.ping()  # no engine: an error, not a skip
    return client


_OUTCOMES = {}


@pytest.fixture(scope="session")
def builder(variant, docker_client):
    """The tag of the variant's builder image, built now if its inputs changed.

    Built exactly as `./build.py build` (no names given) builds it: a variant
    whose sources cannot be obtained here is skipped, naming each missing file.
    """
    if variant.name not in _OUTCOMES:
        (_OUTCOMES[variant.name],) = orchestrate.build_many(
            [variant], explicit=False, repository=REPOSITORY, ca_bundle=ca_bundle(),
            progress=orchestrate.Progress(sys.__stderr__), docker_client=docker_client)
    done = _OUTCOMES[variant.name]
    if done.result == "skipped":
        pytest.skip("%s cannot be built on this machine: %s" % (variant.name, done.detail))
    assert done.result in ("built", "unchanged"), "%s: %s" % (variant.name, done.detail)
    return images.image_name(variant, REPOSITORY)


@pytest.fixture(scope="session")
def runtime_image(variant, builder):
    """The tag of the variant's runtime image (built with its builder)."""
    return images.runtime_image_name(variant, REPOSITORY)


def ca_bundle():
    """An extra CA bundle for pip inside assemble: $WHISKEY_CA_BUNDLE, else the host's."""
    return settings.ca_bundle_for_app_builds()


class AppBuilder(object):
    """Builds each (builder, app, options) application image once per session."""

    def __init__(self, client):
        self.client = client
        self.built = {}

    def tag(self, builder, app, suffix=""):
        return "%s/%s:%s%s" % (APP_REPOSITORY, app, builder.split(":")[-1], suffix)

    def build(self, builder, app, env=None, incremental=False, suffix="", network_mode=None,
              src=None, kind="builder"):
        """(image, logs) of app built with builder; kind "runtime" installs that build
        into the builder's runtime image, as `s2i build --runtime-image` does."""
        key = (builder, app, suffix, incremental, json.dumps(env, sort_keys=True), kind)
        if kind == "runtime" and key not in self.built:
            built, logs = self.build(builder, app, env, False, suffix, network_mode, src)
            runtime = builder.replace(REPOSITORY + ":",
                                      images.runtime_repository(REPOSITORY) + ":", 1)
            environment = s2i.read_environment_file(src or os.path.join(APPS, app))
            environment.update(env or {})
            image, more = s2i.runtime_from_app_image(
                self.client, built.id, runtime, self.tag(builder, app, suffix + "-runtime"),
                environment)
            self.built[key] = (image, logs + more)
        if key not in self.built or incremental:
            src = src or os.path.join(APPS, app)
            image, logs = s2i.build_app(self.client, builder, src, self.tag(builder, app, suffix),
                                        env=env, incremental=incremental, ca_bundle=ca_bundle(),
                                        network_mode=network_mode)
            self.built[key] = (image, logs)
        return self.built[key]

    def build_as_dockerfile(self, builder, app):
        tag = self.tag(builder, app, "-df")
        context = s2i.dockerfile_context(builder, os.path.join(APPS, app))
        image, _ = self.client.images.build(fileobj=context, custom_context=True, tag=tag,
                                            rm=True, forcerm=True)
        return image


@pytest.fixture(scope="session")
def apps(docker_client):
    return AppBuilder(docker_client)


class HTTPResponse(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# Loopback only, never through a proxy, never following redirects.
_OPENER = build_opener(ProxyHandler({}), _NoRedirect)


class Running(object):
    """A started container with its 8080 published on 127.0.0.1."""

    def __init__(self, container, port):
        self.container = container
        self.url = "http://127.0.0.1:%s" % port

    def get(self, path, headers=None, timeout=30):
        req = Request(self.url + path, headers=headers or {})
        try:
            resp = _OPENER.open(req, timeout=timeout)
            return HTTPResponse(resp.status, resp.headers, resp.read())
        except HTTPError as exc:
            return HTTPResponse(exc.code, exc.headers, exc.read())

    def logs(self):
        return self.container.logs().decode("utf-8", "replace")

    def exec(self, cmd, user=None):
        result = self.container.exec_run(cmd, user=user or "")
        return result.exit_code, result.output.decode("utf-8", "replace")


def start(client, image, wait=True, timeout=90, **kwargs):
    """Run image detached with 8080 (and any other ``ports``) published on 127.0.0.1;
    wait until it answers HTTP."""
    ports = dict(kwargs.pop("ports", {}), **{"8080/tcp": ("127.0.0.1", None)})
    container = client.containers.run(image, detach=True, ports=ports, **kwargs)
    deadline = time.time() + timeout
    port = None
    while time.time() < deadline:
        container.reload()
        if container.status == "exited":
            break
        ports = container.attrs["NetworkSettings"]["Ports"].get("8080/tcp")
        if ports:
            port = ports[0]["HostPort"]
            if not wait:
                return Running(container, port)
            try:
                _OPENER.open(Request("http://127.0.0.1:%s/" % port), timeout=5).close()
                return Running(container, port)
            except HTTPError:
                return Running(container, port)  # it answers: good enough
            except (URLError, OSError):
                pass
        time.sleep(0.5)
    logs = container.logs().decode("utf-8", "replace")
    container.remove(force=True)
    raise AssertionError("container of %s did not answer on :8080 within %ss; status %s; logs:\n%s"
                         % (image, timeout, container.status, logs[-4000:]))


@pytest.fixture
def run(docker_client):
    """run(image, **docker_run_kwargs) -> Running; every container is removed afterwards."""
    started = []

    def _run(image, **kwargs):
        r = start(docker_client, image, **kwargs)
        started.append(r.container)
        return r

    yield _run
    for c in started:
        try:
            c.remove(force=True)
        except Exception:
            pass
