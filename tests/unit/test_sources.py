"""whiskey/sources.py: the verified source cache, without the internet.

Every test runs with a private cache dir ($WHISKEY_SOURCE_CACHE in tmp_path)
and no place outside 127.0.0.1: downloads are served by a local http.server
in a thread, and a guard around sources.urlopen fails the test if anything
else would be contacted.
"""

import hashlib
import http.server
import json
import os
import sys
import threading
from urllib.parse import urlsplit

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from whiskey import matrix, sources  # noqa: E402
from whiskey.matrix import Artifact  # noqa: E402

GOOD = b"the pinned bytes\n" * 100
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
BAD = b"something else entirely\n"
BAD_SHA = hashlib.sha256(BAD).hexdigest()

_real_urlopen = sources.urlopen


def _local_only_urlopen(req, *args, **kwargs):
    url = req.full_url if hasattr(req, "full_url") else req
    host = urlsplit(url).hostname
    if host != "127.0.0.1":
        raise AssertionError("test tried to contact %s (%s)" % (host, url))
    return _real_urlopen(req, *args, **kwargs)


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """A private cache, no proxies, no apt mirrors, no package index but 127.0.0.1."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WHISKEY_SOURCE_CACHE", str(cache))
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    # Port 9 (discard) on loopback: connection refused, never anything else.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setattr(sources, "debian_mirrors", lambda: [])
    monkeypatch.setattr(sources, "urlopen", _local_only_urlopen)
    return cache


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}     # path -> (status, content type, body)
    requests = []   # (method, path)

    def _answer(self, with_body):
        self.requests.append((self.command, self.path))
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"not here\n"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local HTTP server; returns an object with .url, .routes, .requests."""
    handler = type("Handler", (_Handler,), {"routes": {}, "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    class Server(object):
        url = "http://127.0.0.1:%d" % httpd.server_address[1]
        routes = handler.routes
        requests = handler.requests

        def serve(self, path, body, ctype="application/octet-stream", status=200):
            self.routes[path] = (status, ctype, body)
            return self.url + path

    try:
        yield Server()
    finally:
        httpd.shutdown()
        httpd.server_close()


def _cache_files(cache):
    return sorted(os.listdir(str(cache))) if cache.exists() else []


# -- helpers ------------------------------------------------------------------------------

def test_sha256_of(tmp_path):
    p = tmp_path / "abc"
    p.write_bytes(b"abc")
    assert sources.sha256_of(str(p)) == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_cache_dir_from_environment(offline):
    assert sources.cache_dir() == str(offline)


def test_cache_dir_default(tmp_path, monkeypatch):
    monkeypatch.delenv("WHISKEY_SOURCE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sources.cache_dir() == os.path.join(str(tmp_path), ".cache", "whiskey", "sources")


def test_debian_pool_urls(monkeypatch):
    monkeypatch.setattr(sources, "debian_mirrors", lambda: ["http://mirror.invalid/debian"])
    urls = sources.debian_pool_urls("python2.7_2.7.18.orig.tar.gz")
    assert urls == ["http://mirror.invalid/debian/pool/main/p/python2.7/python2.7_2.7.18.orig.tar.gz"]
    assert urls[0].endswith("/pool/main/p/python2.7/python2.7_2.7.18.orig.tar.gz")


def test_debian_pool_urls_lib_prefix(monkeypatch):
    monkeypatch.setattr(sources, "debian_mirrors",
                        lambda: ["http://mirror.invalid/debian/", "http://other.invalid/debian"])
    assert sources.debian_pool_urls("libfoo_1.0.orig.tar.gz") == [
        "http://mirror.invalid/debian/pool/main/libf/libfoo/libfoo_1.0.orig.tar.gz",
        "http://other.invalid/debian/pool/main/libf/libfoo/libfoo_1.0.orig.tar.gz",
    ]
    assert sources.debian_pool_urls("openssl_1.1.1w.orig.tar.gz") == [
        "http://mirror.invalid/debian/pool/main/o/openssl/openssl_1.1.1w.orig.tar.gz",
        "http://other.invalid/debian/pool/main/o/openssl/openssl_1.1.1w.orig.tar.gz",
    ]


def test_places_order(monkeypatch):
    monkeypatch.setattr(sources, "debian_mirrors", lambda: ["http://mirror.invalid/debian"])
    a = Artifact("x_1.0.tar.gz", GOOD_SHA, url="https://upstream.invalid/x_1.0.tar.gz",
                 debian="x_1.0.orig.tar.gz", project="x")
    places = sources.places(a)
    assert [p[0] for p in places] == [
        "upstream https://upstream.invalid/x_1.0.tar.gz",
        "package index (x)",
        "Debian source package x_1.0.orig.tar.gz",
    ]
    assert places[0][1] == "https://upstream.invalid/x_1.0.tar.gz"
    assert callable(places[1][1])
    assert places[2][1] == "http://mirror.invalid/debian/pool/main/x/x/x_1.0.orig.tar.gz"


def test_places_of_a_pin_is_the_package_index_only():
    pin = matrix.load()[0].pins["pip"]
    assert [p[0] for p in sources.places(pin)] == ["package index (pip)"]


# -- fetch ------------------------------------------------------------------------------------

def test_fetch_uses_a_matching_cached_file(offline, server):
    offline.mkdir()
    (offline / "thing-1.0.tar.gz").write_bytes(GOOD)
    a = Artifact("thing-1.0.tar.gz", GOOD_SHA, url=server.url + "/thing-1.0.tar.gz")
    logs = []
    path = sources.fetch(a, log=logs.append)
    assert path == str(offline / "thing-1.0.tar.gz")
    assert server.requests == []
    assert logs == []


def test_fetch_downloads_into_the_cache(offline, server):
    url = server.serve("/dist/thing-1.0.tar.gz", GOOD)
    logs = []
    path = sources.fetch(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url), log=logs.append)
    assert path == str(offline / "thing-1.0.tar.gz")
    with open(path, "rb") as f:
        assert f.read() == GOOD
    assert server.requests == [("GET", "/dist/thing-1.0.tar.gz")]
    assert logs == ["fetching thing-1.0.tar.gz from upstream " + url]
    assert _cache_files(offline) == ["thing-1.0.tar.gz"]


def test_fetch_replaces_a_corrupt_cached_file(offline, server):
    offline.mkdir()
    (offline / "thing-1.0.tar.gz").write_bytes(BAD)
    url = server.serve("/thing-1.0.tar.gz", GOOD)
    logs = []
    path = sources.fetch(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url), log=logs.append)
    with open(path, "rb") as f:
        assert f.read() == GOOD
    assert "does not match its sha256; fetching it again" in logs[0]
    assert str(offline / "thing-1.0.tar.gz") in logs[0]
    assert server.requests == [("GET", "/thing-1.0.tar.gz")]


def test_fetch_refuses_a_download_with_the_wrong_sha256(offline, server):
    url = server.serve("/thing-1.0.tar.gz", BAD)
    with pytest.raises(sources.ChecksumError) as e:
        sources.fetch(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url), log=lambda m: None)
    msg = str(e.value)
    assert "thing-1.0.tar.gz" in msg
    assert BAD_SHA in msg and GOOD_SHA in msg
    assert "upstream " + url in msg
    assert "refusing to use it" in msg
    assert _cache_files(offline) == []


def test_checksum_error_is_a_source_error():
    assert issubclass(sources.ChecksumError, sources.SourceError)


def test_fetch_when_every_place_fails(offline, server):
    url = server.url + "/missing/thing-1.0.tar.gz"
    with pytest.raises(sources.SourceError) as e:
        sources.fetch(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url), log=lambda m: None)
    assert not isinstance(e.value, sources.ChecksumError)
    msg = str(e.value)
    assert msg.startswith("cannot obtain thing-1.0.tar.gz (sha256 %s) on this machine" % GOOD_SHA)
    assert "upstream %s: Not Found" % url in msg
    assert msg.rstrip().endswith("put a copy in %s to build offline" % offline)


def test_fetch_failure_leaves_nothing_in_the_cache(offline, server):
    url = server.url + "/missing/thing-1.0.tar.gz"
    with pytest.raises(sources.SourceError):
        sources.fetch(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url), log=lambda m: None)
    assert _cache_files(offline) == []


def test_fetch_with_no_place_at_all(offline):
    with pytest.raises(sources.SourceError) as e:
        sources.fetch(Artifact("orphan-1.0.tar.gz", GOOD_SHA), log=lambda m: None)
    assert "cannot obtain orphan-1.0.tar.gz" in str(e.value)
    assert "no place to fetch it from" in str(e.value)
    assert "put a copy in %s" % offline in str(e.value)


def test_fetch_falls_back_to_a_debian_mirror(offline, server, monkeypatch):
    monkeypatch.setattr(sources, "debian_mirrors", lambda: [server.url + "/debian"])
    server.serve("/debian/pool/main/p/python2.7/python2.7_2.7.18.orig.tar.gz", GOOD)
    a = Artifact("Python-2.7.18.tgz", GOOD_SHA, url=server.url + "/gone/Python-2.7.18.tgz",
                 debian="python2.7_2.7.18.orig.tar.gz")
    logs = []
    path = sources.fetch(a, log=logs.append)
    assert path == str(offline / "Python-2.7.18.tgz")
    with open(path, "rb") as f:
        assert f.read() == GOOD
    assert [r[1] for r in server.requests] == [
        "/gone/Python-2.7.18.tgz",
        "/debian/pool/main/p/python2.7/python2.7_2.7.18.orig.tar.gz"]
    assert logs[-1] == ("fetching Python-2.7.18.tgz from Debian source package "
                        "python2.7_2.7.18.orig.tar.gz")


def test_fetch_from_the_package_index_html(offline, server, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", server.url + "/simple/")
    server.serve("/packages/ab/mod_wsgi-9.9.9.tar.gz", GOOD)
    server.serve("/simple/mod-wsgi/", (
        '<html><body>\n'
        '<a href="../../packages/ab/mod_wsgi-9.9.8.tar.gz#sha256=%s">mod_wsgi-9.9.8.tar.gz</a>\n'
        '<a href="../../packages/ab/mod_wsgi-9.9.9.tar.gz#sha256=%s" data-x="1">mod_wsgi-9.9.9.tar.gz</a>\n'
        '</body></html>\n' % (BAD_SHA, GOOD_SHA)).encode(), ctype="text/html")
    a = Artifact("mod_wsgi-9.9.9.tar.gz", GOOD_SHA, project="mod_wsgi")
    path = sources.fetch(a, log=lambda m: None)
    with open(path, "rb") as f:
        assert f.read() == GOOD
    assert [r[1] for r in server.requests] == ["/simple/mod-wsgi/",
                                               "/packages/ab/mod_wsgi-9.9.9.tar.gz"]


def test_fetch_from_the_package_index_json(offline, server, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", server.url + "/simple")
    server.serve("/files/wheel-9.9-py3-none-any.whl", GOOD)
    server.serve("/simple/wheel/", json.dumps({"meta": {"api-version": "1.0"}, "files": [
        {"filename": "wheel-9.8-py3-none-any.whl", "url": "/files/wheel-9.8-py3-none-any.whl"},
        {"filename": "wheel-9.9-py3-none-any.whl", "url": "/files/wheel-9.9-py3-none-any.whl"},
    ]}).encode(), ctype="application/json")
    a = Artifact("wheel-9.9-py3-none-any.whl", GOOD_SHA, project="wheel")
    path = sources.fetch(a, log=lambda m: None)
    with open(path, "rb") as f:
        assert f.read() == GOOD
    assert server.requests[-1] == ("GET", "/files/wheel-9.9-py3-none-any.whl")


def test_package_index_without_the_file(offline, server, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", server.url + "/simple/")
    server.serve("/simple/pip/", b'<a href="/f/pip-1.0.tar.gz">pip-1.0.tar.gz</a>\n',
                 ctype="text/html")
    with pytest.raises(sources.SourceError) as e:
        sources.fetch(Artifact("pip-2.0-py3-none-any.whl", GOOD_SHA, project="pip"),
                      log=lambda m: None)
    assert "package index (pip): the package index has no file pip-2.0-py3-none-any.whl" \
        in str(e.value)


def test_package_index_from_pip_index_url(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/some/index/")
    assert sources.package_index() == "http://127.0.0.1:9/some/index/"


# -- probe and availability -------------------------------------------------------------------

def test_probe_cached(offline, server):
    offline.mkdir()
    (offline / "thing-1.0.tar.gz").write_bytes(GOOD)
    a = Artifact("thing-1.0.tar.gz", GOOD_SHA, url=server.url + "/thing-1.0.tar.gz")
    assert sources.probe(a) == (True, "cache")
    assert server.requests == []


def test_probe_uses_head_only(offline, server):
    url = server.serve("/thing-1.0.tar.gz", GOOD)
    assert sources.probe(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url)) == (True, "upstream")
    assert server.requests == [("HEAD", "/thing-1.0.tar.gz")]
    assert _cache_files(offline) == []


def test_probe_failure_says_why(offline, server):
    url = server.url + "/nope/thing-1.0.tar.gz"
    ok, why = sources.probe(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url))
    assert ok is False
    assert why == "upstream %s: Not Found" % url


def _variant(cache_files):
    """A variant whose artifacts are files of the given {name: bytes}."""
    arts = {name: Artifact(name, hashlib.sha256(data).hexdigest(),
                           url="http://127.0.0.1:9/" + name)
            for name, data in cache_files.items()}
    pins = {p: arts[n] for p in matrix.PIN_NAMES for n in arts if n.startswith(p + "-")}
    return matrix.Variant("python-9.9", "9.9.0", "debian:bookworm-slim", "source", pins,
                          source=arts["Python-9.9.0.tgz"], configure=[])


FILES = {
    "Python-9.9.0.tgz": b"python source\n",
    "pip-1.0-py3-none-any.whl": b"pip\n",
    "setuptools-1.0-py3-none-any.whl": b"setuptools\n",
    "wheel-1.0-py3-none-any.whl": b"wheel\n",
    "mod_wsgi-1.0.tar.gz": b"mod_wsgi\n",
}


def test_availability(offline):
    v = _variant(FILES)
    offline.mkdir()
    for name, data in FILES.items():
        if name != "wheel-1.0-py3-none-any.whl":
            (offline / name).write_bytes(data)
    ok, why = sources.availability(v)
    assert ok is False
    assert why.startswith("wheel-1.0-py3-none-any.whl cannot be obtained (upstream ")
    (offline / "wheel-1.0-py3-none-any.whl").write_bytes(FILES["wheel-1.0-py3-none-any.whl"])
    assert sources.availability(v) == (True, "")


# -- stage ------------------------------------------------------------------------------------

def test_stage_copies_artifacts_and_writes_sha256sums(offline, tmp_path):
    v = _variant(FILES)
    offline.mkdir()
    for name, data in FILES.items():
        (offline / name).write_bytes(data)
    dest = tmp_path / "context" / "sources"
    assert sources.stage(v, str(dest), log=lambda m: None) == str(dest)
    assert sorted(os.listdir(str(dest))) == sorted(list(FILES) + ["SHA256SUMS"])
    for name, data in FILES.items():
        assert (dest / name).read_bytes() == data
    expected = "".join("%s  %s\n" % (hashlib.sha256(FILES[a.file]).hexdigest(), a.file)
                       for a in v.artifacts)
    assert (dest / "SHA256SUMS").read_text() == expected
    lines = (dest / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == len(v.artifacts) == 5
    assert lines[0].split("  ")[1] == "Python-9.9.0.tgz"


def test_stage_fails_on_a_missing_artifact(offline, tmp_path):
    v = _variant(FILES)
    offline.mkdir()
    for name, data in FILES.items():
        if not name.startswith("mod_wsgi"):
            (offline / name).write_bytes(data)
    with pytest.raises(sources.SourceError) as e:
        sources.stage(v, str(tmp_path / "ctx"), log=lambda m: None)
    assert "cannot obtain mod_wsgi-1.0.tar.gz" in str(e.value)


def test_nothing_but_loopback_is_ever_contacted(offline):
    # The suite's own safety net: a place outside 127.0.0.1 is an error
    # before any connection (or name lookup) is attempted.
    a = Artifact("thing-1.0.tar.gz", GOOD_SHA, url="https://upstream.invalid/thing-1.0.tar.gz")
    with pytest.raises(AssertionError) as e:
        sources.fetch(a, log=lambda m: None)
    assert "upstream.invalid" in str(e.value)
