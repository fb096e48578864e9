"""Fixtures for behaviour tests: real builder images, real app images, real containers.

Variants come from ``--variant NAME`` (repeatable) or ``$WHISKEY_VARIANTS``
(comma separated), default every variant in matrix.yaml.  A variant whose
sources cannot be obtained on this machine is skipped with that reason; a
missing Docker engine is an error, never a skip.
"""

import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import sys
import threading
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

# Forwarded headers a client might send to pass for someone else; an app
# trusts some of them only behind its proxies (test_runtime.py, test_apps.py).
SPOOF = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Scheme": "https",
    "X-Real-IP": "198.51.100.7",
    "X-Forwarded-Proto": "http",
    "X-Client-IP": "198.51.100.8",
}


def pytest_addoption(parser):
    parser.addoption("--variant", action="append", default=[],
                     help="behaviour-test this variant (repeatable; default $WHISKEY_VARIANTS or all)")


def selected_variants(config):
    """The variants to test, the same objects for the whole session (pytest keeps a
    session-scoped fixture of a parameter for as long as the parameter is the same
    object)."""
    if not hasattr(config, "_whiskey_variants"):
        names = config.getoption("--variant") or settings.test_variants()
        config._whiskey_variants = matrix.select(matrix.load(), names)
    return config._whiskey_variants


def server_stack(variant):
    """What serves a request before any of the image's Python runs: Apache (the
    Debian release of the base) and the mod_wsgi release."""
    return (variant.base, variant.pin_version("mod_wsgi"))


def mod_wsgi_release(variant):
    """The variant's pinned mod_wsgi as (major, minor)."""
    return tuple(int(n) for n in variant.pin_version("mod_wsgi").split(".")[:2])


def embedded_by_default(variant):
    """Whether whiskey serves the variant in Apache's own processes by default
    (server.serving_mode: mod_wsgi-express has an embedded mode from 4.9)."""
    import server
    return mod_wsgi_release(variant) >= server.EMBEDDED_SINCE


def start_time_patched(variant):
    """Whether whiskey's mod_wsgi patch takes out of each process's start what the
    application may not use (patches/, item 5: mod_wsgi 6's; 4.x is left as it is)."""
    return mod_wsgi_release(variant) >= (6, 0)


# @pytest.mark.once_per(KEY): where a behaviour cannot differ between variants
# that share KEY, it runs on the first selected variant of each that could be
# built here; the others' items are deselected (tests/README.md says why for
# each test that is marked).
ONCE_PER = {
    "server_stack": server_stack,
    "base": lambda variant: variant.base,
    "run": lambda variant: None,
}


def pytest_generate_tests(metafunc):
    if "variant" in metafunc.fixturenames:
        variants = selected_variants(metafunc.config)
        metafunc.parametrize("variant", variants, ids=[v.name for v in variants], scope="session")


def _first_built(variants):
    """The first of variants that was built here (or the first, when none was)."""
    built = [v for v in variants
             if getattr(_OUTCOMES.get(v.name), "result", None) in ("built", "unchanged")]
    return (built or variants)[0]


def leads(config, variant, key):
    """Whether variant is the one of the selected variants sharing key(variant)
    that a once_per(key) test would run on."""
    return _first_built([v for v in selected_variants(config)
                         if ONCE_PER[key](v) == ONCE_PER[key](variant)]) is variant


def _once_per(session):
    """Deselect the items of once_per tests other than each group's first variant
    that was built (or its first, when none was)."""
    groups = {}
    for item in session.items:
        marker = item.get_closest_marker("once_per")
        callspec = getattr(item, "callspec", None)
        if marker is not None and callspec is not None and "variant" in callspec.params:
            variant = callspec.params["variant"]
            key = (item.path, item.originalname, ONCE_PER[marker.args[0]](variant))
            groups.setdefault(key, []).append(item)
    dropped = []
    for members in groups.values():
        keep = _first_built([i.callspec.params["variant"] for i in members])
        dropped.extend(i for i in members if i.callspec.params["variant"] is not keep)
    if dropped:
        session.items[:] = [i for i in session.items if i not in dropped]
        session.config.hook.pytest_deselected(items=dropped)


# Within a variant: what needs no application image first, while the
# prefetched builds (below) run; the Django sample, the slowest build, late;
# then what times things, after every build has ended; publishing last.
MODULE_ORDER = ("test_builder_image", "test_sbom", "test_runtime", "test_security",
                "test_runtime_image", "test_apps", "test_official", "test_extensions",
                "test_holding_up", "test_publish", "test_s2i_client")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    names = [v.name for v in selected_variants(config)]

    def rank(item):
        callspec = getattr(item, "callspec", None)
        variant = callspec.params.get("variant") if callspec else None
        module = item.module.__name__.rsplit(".", 1)[-1]
        return (names.index(variant.name) if variant else -1,
                MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER))
    items.sort(key=rank)


@pytest.fixture(scope="session")
def docker_client():
    import docker
    client = docker.from_env(timeout=600)
    client.ping()  # no engine: an error, not a skip
    return client


_OUTCOMES = {}


def pytest_collection_finish(session):
    """Build every variant the selected tests use before the first test starts,
    as `./build.py build` (no names given) does: a test's own time bound then
    never has to cover compiling a legacy interpreter."""
    if session.config.option.collectonly:
        _once_per(session)
        return
    wanted = {}
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "variant" in callspec.params:
            wanted[callspec.params["variant"].name] = callspec.params["variant"]
    if not wanted:
        return _once_per(session)
    try:
        images.client()
    except images.BuildError as exc:  # no engine: an error, never a skip
        raise pytest.UsageError(str(exc)) from exc
    import docker
    client = docker.from_env(timeout=1800)  # a compile may print nothing for minutes
    outcomes = orchestrate.build_many(
        list(wanted.values()), explicit=False, repository=REPOSITORY, ca_bundle=ca_bundle(),
        progress=orchestrate.Progress(sys.__stderr__), docker_client=client)
    _OUTCOMES.update((o.variant.name, o) for o in outcomes)
    _once_per(session)


@pytest.fixture(scope="session")
def builder(variant):
    """The tag of the variant's builder image (built before the session's tests).

    A variant whose sources cannot be obtained here is skipped, naming each
    missing file."""
    done = _OUTCOMES.get(variant.name)
    assert done is not None, "%s was not built before the tests" % variant.name
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
    """Builds each (builder, app, options) application image once per session.

    prefetch() queues builds on a few threads ahead of the tests that ask for
    them (a build mostly waits: on the package index, on the engine's commit);
    build() then waits for that one, or builds it now if nobody has.  A failed
    build fails, with the same error, every test that asks for it.  A
    runtime-kind build waits for its builder-kind one: prefetch that first
    (the queue is first in, first out, so it is never waited for unstarted)."""

    THREADS = 6

    def __init__(self):
        self.futures = {}
        self.lock = threading.Lock()
        self.local = threading.local()
        self.pool = concurrent.futures.ThreadPoolExecutor(self.THREADS)

    @property
    def client(self):
        """This thread's own Docker client."""
        if not hasattr(self.local, "client"):
            import docker
            self.local.client = docker.from_env(timeout=600)
        return self.local.client

    def tag(self, builder, app, suffix=""):
        return "%s/%s:%s%s" % (APP_REPOSITORY, app, builder.split(":")[-1], suffix)

    def _claim(self, key):
        """(key's future, whether the caller must make it)."""
        with self.lock:
            future = self.futures.get(key)
            if future is not None:
                return future, False
            future = self.futures[key] = concurrent.futures.Future()
            return future, True

    @staticmethod
    def _fill(future, make):
        try:
            future.set_result(make())
        except BaseException as exc:  # noqa: B036 - handed to whoever asks
            future.set_exception(exc)

    def _args(self, builder, app, env=None, suffix="", network_mode=None, src=None, kind="builder"):
        src = src or os.path.join(APPS, app)
        key = (builder, app, suffix, json.dumps(env, sort_keys=True), network_mode, src, kind)
        return key, (builder, app, env, suffix, network_mode, src, kind)

    def prefetch(self, builder, app, **options):
        key, args = self._args(builder, app, **options)
        future, mine = self._claim(key)
        if mine:
            self.pool.submit(self._fill, future, lambda: self._make(*args))

    def prefetch_dockerfile(self, builder, app):
        future, mine = self._claim(("as-dockerfile", builder, app))
        if mine:
            self.pool.submit(self._fill, future, lambda: self._make_dockerfile(builder, app))

    def settle(self):
        """Wait until every build queued so far has ended (before a test that times things)."""
        concurrent.futures.wait(list(self.futures.values()))

    def build(self, builder, app, env=None, incremental=False, suffix="", network_mode=None,
              src=None, kind="builder"):
        """(image, logs) of app built with builder; kind "runtime" installs that build
        into the builder's runtime image, as `s2i build --runtime-image` does.  An
        incremental build is made at every call, on the image the tag names."""
        key, args = self._args(builder, app, env, suffix, network_mode, src, kind)
        if incremental:
            return s2i.build_app(self.client, builder, args[5], self.tag(builder, app, suffix),
                                 env=env, incremental=True, ca_bundle=ca_bundle(),
                                 network_mode=network_mode)
        future, mine = self._claim(key)
        if mine:
            self._fill(future, lambda: self._make(*args))
        return future.result()

    def _make(self, builder, app, env, suffix, network_mode, src, kind):
        if kind == "runtime":
            built, logs = self.build(builder, app, env, False, suffix, network_mode, src)
            runtime = builder.replace(REPOSITORY + ":",
                                      images.runtime_repository(REPOSITORY) + ":", 1)
            environment = s2i.read_environment_file(src)
            environment.update(env or {})
            image, more = s2i.runtime_from_app_image(
                self.client, built.id, runtime, self.tag(builder, app, suffix + "-runtime"),
                environment)
            return image, logs + more
        return s2i.build_app(self.client, builder, src, self.tag(builder, app, suffix), env=env,
                             ca_bundle=ca_bundle(), network_mode=network_mode)

    def _make_dockerfile(self, builder, app):
        context = s2i.dockerfile_context(builder, os.path.join(APPS, app))
        image, _ = self.client.images.build(fileobj=context, custom_context=True,
                                            tag=self.tag(builder, app, "-df"), rm=True,
                                            forcerm=True)
        return image

    def build_as_dockerfile(self, builder, app):
        future, mine = self._claim(("as-dockerfile", builder, app))
        if mine:
            self._fill(future, lambda: self._make_dockerfile(builder, app))
        return future.result()


@pytest.fixture(scope="session")
def apps(docker_client):
    builder = AppBuilder()
    yield builder
    builder.pool.shutdown(wait=True, cancel_futures=True)


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
        time.sleep(0.1)  # a server starts in about a second: poll finely
    logs = container.logs().decode("utf-8", "replace")
    container.remove(force=True)
    raise AssertionError("container of %s did not answer on :8080 within %ss; status %s; logs:\n%s"
                         % (image, timeout, container.status, logs[-4000:]))


@contextlib.contextmanager
def serving(client, image, **kwargs):
    """A started container (start()) for a with block, removed at its end: one
    container asked many questions by a module's tests."""
    app = start(client, image, **kwargs)
    try:
        yield app
    finally:
        app.container.remove(force=True)


def run_to_exit(client, image, timeout=90, **kwargs):
    """Run a container that is expected to stop; (exit status, logs)."""
    container = client.containers.run(image, detach=True, **kwargs)
    try:
        status = container.wait(timeout=timeout)["StatusCode"]
        return status, container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)


def processes(app):
    """[(pid, command line)] of every process in app's container, read from /proc."""
    code, out = app.exec(["sh", "-c", 'for p in /proc/[0-9]*; do '
                          'printf "%s " "${p#/proc/}"; tr "\\0" " " < $p/cmdline 2>/dev/null; '
                          'echo; done'])
    assert code == 0, out
    found = []
    for line in out.splitlines():
        pid, _, cmdline = line.partition(" ")
        if pid.isdigit():
            found.append((int(pid), cmdline.strip()))
    return found


def byte_code_written(app):
    """The byte code app's container has written (docker diff): every file is
    a module that was imported without the byte code the image's build or the
    application's made for it."""
    return sorted(change["Path"] for change in app.container.diff() or []
                  if change["Path"].endswith((".pyc", ".pyo")))


def wait_for_log(app, text, timeout=15):
    """app's logs once they hold text (or the timeout passed)."""
    deadline = time.time() + timeout
    while text not in app.logs() and time.time() < deadline:
        time.sleep(0.2)
    return app.logs()


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


@pytest.fixture(scope="session")
def probe(apps, builder):
    """(image, assemble log) of tests/apps/probe, built from the builder alone."""
    return apps.build(builder, "probe")


# Starts that must be refused before anything starts, each run by the image's
# own s2i `run` in one container of the probe: NAME -> (.whiskey/server_args in
# its place or None, environment).  Each case starts from the probe as built.
# (A container's own exit status on a refused start is test_runtime.py's.)
REFUSED_STARTS = {
    "locale": ("--locale '0$(touch /tmp/pwned)'\n", {}),
    "host": ("--host '0$(touch /tmp/pwned)'\n", {}),
    "lang": ("--lang '0$(touch /tmp/pwned)'\n", {}),
    "MOD_WSGI_LOG_LEVEL": (None, {"MOD_WSGI_LOG_LEVEL": "warn\nRedirect 302 / http://127.0.0.1:9/x"}),
    "MOD_WSGI_PROCESSES": (None, {"MOD_WSGI_PROCESSES": "2\r"}),
}


def _bash_word(value):
    return "$'%s'" % "".join(c if c.isalnum() or c in " ./:_-=" else "\\x%02x" % ord(c)
                             for c in value)


@pytest.fixture(scope="session")
def refused_starts(docker_client, probe):
    """NAME -> (exit status of run, its output, whether /tmp/pwned appeared)."""
    lines = ["cd \"$HOME\"", "cp .whiskey/server_args /tmp/server_args.built"]
    for name, (server_args, env) in sorted(REFUSED_STARTS.items()):
        lines.append("echo '@@@ %s'" % name)
        if server_args is not None:
            lines.append("printf '%%s' %s > .whiskey/server_args" % _bash_word(server_args))
        assign = " ".join("%s=%s" % (k, _bash_word(v)) for k, v in sorted(env.items()))
        lines.append("timeout 20 env %s /usr/libexec/s2i/run 2>&1; status=$?" % assign)
        lines.append("if [ -e /tmp/pwned ]; then pwned=yes; else pwned=no; fi; rm -f /tmp/pwned")
        lines.append("echo \"@@@ status=$status pwned=$pwned\"")
        lines.append("cp /tmp/server_args.built .whiskey/server_args")
    status, out = run_to_exit(docker_client, probe[0].id, timeout=20 * len(REFUSED_STARTS) + 60,
                              command=["bash", "-c", "\n".join(lines)])
    assert status == 0, out
    results = {}
    for name, text, code, pwned in re.findall(
            r"^@@@ (\S+)\n(.*?)^@@@ status=(\d+) pwned=(yes|no)$", out, re.M | re.S):
        results[name] = (int(code), text, pwned == "yes")
    assert sorted(results) == sorted(REFUSED_STARTS), out
    return results


# The hostile app is built with a PYTHON_VERSION that names no Python of the
# image: the build's environment reaches assemble-runtime too, and must not
# choose where root works (test_security.py).
HOSTILE_ENV = {"PYTHON_VERSION": "0.0"}


@pytest.fixture(scope="session")
def no_entry_point_src(variant, tmp_path_factory):
    """tests/apps/no-entry-point with a runtime.txt naming the image's own Python."""
    src = str(tmp_path_factory.mktemp("no-entry-point") / "app")
    shutil.copytree(os.path.join(APPS, "no-entry-point"), src)
    with open(os.path.join(src, "runtime.txt"), "w") as f:
        f.write("python-%s\n" % variant.major_minor)
    return src


@pytest.fixture(scope="session")
def pinned_mod_wsgi_src(variant, tmp_path_factory):
    """An app whose requirements.txt pins the image's mod_wsgi, to be compiled from its sdist."""
    src = tmp_path_factory.mktemp("pinned-mod-wsgi") / "app"
    (src / ".whiskey").mkdir(parents=True)
    (src / "requirements.txt").write_text(
        "--no-binary mod_wsgi\nmod_wsgi==%s\n" % variant.pin_version("mod_wsgi"))
    (src / ".whiskey" / "server_args").write_text("--application-type script --entry-point wsgi.py\n")
    (src / "wsgi.py").write_text(
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'pinned mod_wsgi']\n")
    return str(src)


# tests/apps/c-extensions compiles every extension from its sdist on the first
# variant of each base: the builder's headers and the runtime image's libraries
# are the base's, whatever the Python.  The other variants take the wheels the
# index has for their Python (lxml, Pillow, cffi, pycurl: most applications'
# case) and compile the rest, about 140 s less of CPU each (BENCHMARKS.md).
FROM_SOURCE = {"PIP_NO_BINARY": "lxml,Pillow,cffi,pycurl"}


def c_extensions_env(config, variant):
    return FROM_SOURCE if leads(config, variant, "base") else {}


@pytest.fixture(scope="session", autouse=True)
def prefetched(request, apps, builder, variant, no_entry_point_src, pinned_mod_wsgi_src):
    """Every plain application build the variant's selected test modules ask for,
    begun at once on apps' threads (each test still asks for its own image:
    AppBuilder.build)."""
    modules = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("variant") is variant:
            modules.add(item.module.__name__.rsplit(".", 1)[-1])
    if "test_extensions" in modules:  # the longest build (it compiles): first
        apps.prefetch(builder, "c-extensions", env=c_extensions_env(request.config, variant))
    if modules & {"test_runtime", "test_security", "test_holding_up"}:
        apps.prefetch(builder, "probe")
    if "test_apps" in modules:
        apps.prefetch(builder, "django-hello-world")
    if "test_runtime_image" in modules:
        apps.prefetch(builder, "pinned-mod-wsgi", src=pinned_mod_wsgi_src)
        apps.prefetch(builder, "probe", kind="runtime")
    if "test_apps" in modules:
        if variant.version_info[:2] >= (3, 9):  # test_apps.needs_flask_3_1
            for app in ("uv-lock", "poetry-lock", "pylock", "pipfile-lock"):
                apps.prefetch(builder, app)
        for app in ("pipfile-lock-legacy", "setup-py", "pyproject"):
            apps.prefetch(builder, app)
        apps.prefetch(builder, "no-entry-point", src=no_entry_point_src)
        apps.prefetch_dockerfile(builder, "wsgi-script")
    if "test_runtime" in modules:
        apps.prefetch(builder, "proxied")
        apps.prefetch(builder, "compiled", suffix="-inc")
    if "test_security" in modules:
        apps.prefetch(builder, "hostile", kind="runtime", env=HOSTILE_ENV)
    if "test_official" in modules:
        apps.prefetch(builder, "conventional-django")
