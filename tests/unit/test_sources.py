"""whiskey/sources.py: the verified source cache, without the internet.

Every test runs with a private cache dir ($WHISKEY_SOURCE_CACHE in tmp_path)
and no place outside 127.0.0.1: downloads are served by a local http.server
in a thread (the `server` fixture of conftest.py), and a guard around
sources.urlopen fails the test if anything else would be contacted.
"""

import hashlib
import json
import os
from urllib.parse import urlsplit

import pytest
import yaml

from whiskey import UsageError, matrix, sources
from whiskey.matrix import Artifact

from .conftest import build_py

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


def _cache_files(cache):
    """Everything in the cache, temporary names included."""
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
    a = Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url)
    with pytest.raises(sources.SourceError) as e:
        sources.fetch(a, log=lambda m: None)
    assert not isinstance(e.value, sources.ChecksumError)
    # One line, as `build --dry-run` and `list` say it: every place and why it failed.
    assert str(e.value) == sources.missing_message(
        a, "no place answered (upstream %s: Not Found)" % url)


def test_fetch_failure_leaves_nothing_in_the_cache(offline, server):
    url = server.url + "/missing/thing-1.0.tar.gz"
    with pytest.raises(sources.SourceError):
        sources.fetch(Artifact("thing-1.0.tar.gz", GOOD_SHA, url=url), log=lambda m: None)
    assert _cache_files(offline) == []


def test_fetch_with_no_place_at_all(offline):
    with pytest.raises(sources.SourceError) as e:
        sources.fetch(Artifact("orphan-1.0.tar.gz", GOOD_SHA), log=lambda m: None)
    assert str(e.value).startswith("orphan-1.0.tar.gz (sha256 %s) is not in the source cache %s"
                                   % (GOOD_SHA, offline))
    assert "no place to fetch it from" in str(e.value)


def test_missing_message_says_what_to_provide_and_how(offline):
    a = Artifact("Python-9.9.0.tgz", GOOD_SHA, url="https://upstream.invalid/Python-9.9.0.tgz")
    msg = sources.missing_message(a, "the network is down")
    assert "\n" not in msg
    assert msg == ("Python-9.9.0.tgz (sha256 %s) is not in the source cache %s and the network "
                   "is down; provide it with `./build.py sources --from DIR|URL`" % (GOOD_SHA, offline))
    assert sources.missing_message(a).startswith(
        "Python-9.9.0.tgz (sha256 %s) is not in the source cache %s; provide" % (GOOD_SHA, offline))


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
    return matrix.Variant("python-9.9", "9.9.0", "debian:bookworm-slim", "compiled", pins,
                          source=arts["Python-9.9.0.tgz"])


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
        if name not in ("wheel-1.0-py3-none-any.whl", "Python-9.9.0.tgz"):
            (offline / name).write_bytes(data)
    ok, why = sources.availability(v)
    assert ok is False
    # Every missing file, each the way a user can act on, on one line.
    assert "\n" not in why
    missing = why.split("; provide it with `./build.py sources --from DIR|URL`")
    assert [m.lstrip("; ").split(" ")[0] for m in missing if m] == [
        "Python-9.9.0.tgz", "wheel-1.0-py3-none-any.whl"]
    for a in v.artifacts:
        if a.file in ("wheel-1.0-py3-none-any.whl", "Python-9.9.0.tgz"):
            assert "%s (sha256 %s) is not in the source cache %s" % (a.file, a.sha256, offline) in why
            assert "upstream http://127.0.0.1:9/%s" % a.file in why
    for name in ("wheel-1.0-py3-none-any.whl", "Python-9.9.0.tgz"):
        (offline / name).write_bytes(FILES[name])
    assert sources.availability(v) == (True, "")


def test_nothing_but_loopback_is_ever_contacted(offline):
    # The suite's own safety net: a place outside 127.0.0.1 is an error
    # before any connection (or name lookup) is attempted.
    a = Artifact("thing-1.0.tar.gz", GOOD_SHA, url="https://upstream.invalid/thing-1.0.tar.gz")
    with pytest.raises(AssertionError) as e:
        sources.fetch(a, log=lambda m: None)
    assert "upstream.invalid" in str(e.value)


# -- status: what the cache holds, without the network -------------------------------------

def test_status_of_each_file_of_each_variant(offline, server):
    v = _variant(FILES)
    offline.mkdir()
    (offline / "Python-9.9.0.tgz").write_bytes(FILES["Python-9.9.0.tgz"])
    (offline / "wheel-1.0-py3-none-any.whl").write_bytes(BAD)
    rows = sources.status([v])
    assert [(r.variant, r.artifact) for r in rows] == [(v.name, a) for a in v.artifacts]
    by_file = {r.artifact.file: r for r in rows}
    assert (by_file["Python-9.9.0.tgz"].state, by_file["Python-9.9.0.tgz"].where) == (
        "verified", str(offline / "Python-9.9.0.tgz"))
    assert by_file["wheel-1.0-py3-none-any.whl"].state == "mismatch"
    assert by_file["pip-1.0-py3-none-any.whl"].state == "not cached"
    assert by_file["pip-1.0-py3-none-any.whl"].where == "upstream http://127.0.0.1:9/pip-1.0-py3-none-any.whl"
    assert server.requests == []
    assert by_file["wheel-1.0-py3-none-any.whl"].as_dict() == {
        "variant": "python-9.9", "file": "wheel-1.0-py3-none-any.whl",
        "sha256": hashlib.sha256(FILES["wheel-1.0-py3-none-any.whl"]).hexdigest(),
        "state": "mismatch", "where": str(offline / "wheel-1.0-py3-none-any.whl"),
        "signature": "none"}


def test_status_of_a_pin_names_the_package_index(offline):
    pin = Artifact("pip-1.0-py3-none-any.whl", GOOD_SHA, project="pip")
    v = _variant(FILES)
    v = matrix.Variant(v.name, v.python, v.base, v.interpreter, dict(v.pins, pip=pin), source=v.source)
    (row,) = [r for r in sources.status([v]) if r.artifact == pin]
    assert (row.state, row.where) == ("not cached", "package index (pip)")


# -- fill_from: a directory or a mirror URL into the cache -----------------------------------

def _artifacts(files):
    return [Artifact(name, hashlib.sha256(data).hexdigest()) for name, data in files.items()]


def test_fill_from_a_directory(offline, tmp_path):
    origin = tmp_path / "usb"
    origin.mkdir()
    (origin / "good-1.0.tar.gz").write_bytes(GOOD)
    (origin / "evil-1.0.tar.gz").write_bytes(BAD)
    good = Artifact("good-1.0.tar.gz", GOOD_SHA)
    evil = Artifact("evil-1.0.tar.gz", GOOD_SHA)   # the pin is GOOD's bytes
    absent = Artifact("absent-1.0.tar.gz", GOOD_SHA)
    logs = []
    results = sources.fill_from(str(origin), [good, evil, absent, good], log=logs.append)
    assert results == {
        "good-1.0.tar.gz": "added",
        "evil-1.0.tar.gz": "rejected: sha256 %s, but matrix.yaml pins %s" % (BAD_SHA, GOOD_SHA),
        "absent-1.0.tar.gz": "not in %s" % origin,
    }
    assert _cache_files(offline) == ["good-1.0.tar.gz"]   # nothing unverified left behind
    assert (offline / "good-1.0.tar.gz").read_bytes() == GOOD
    assert logs == ["good-1.0.tar.gz: added to %s" % offline]
    # A second run finds it verified in the cache and copies nothing.
    (origin / "good-1.0.tar.gz").write_bytes(BAD)
    assert sources.fill_from(str(origin), [good], log=logs.append) == {"good-1.0.tar.gz": "cached"}
    assert (offline / "good-1.0.tar.gz").read_bytes() == GOOD


def test_fill_from_replaces_a_corrupt_cached_file(offline, tmp_path):
    offline.mkdir()
    (offline / "good-1.0.tar.gz").write_bytes(BAD)
    origin = tmp_path / "usb"
    origin.mkdir()
    (origin / "good-1.0.tar.gz").write_bytes(GOOD)
    a = Artifact("good-1.0.tar.gz", GOOD_SHA)
    assert sources.fill_from(str(origin), [a], log=lambda m: None) == {"good-1.0.tar.gz": "added"}
    assert sources.sha256_of(str(offline / "good-1.0.tar.gz")) == GOOD_SHA


def test_fill_from_a_url(offline, server):
    server.serve("/mirror/good-1.0.tar.gz", GOOD)
    server.serve("/mirror/evil-1.0.tar.gz", BAD)
    arts = [Artifact("good-1.0.tar.gz", GOOD_SHA), Artifact("evil-1.0.tar.gz", GOOD_SHA),
            Artifact("absent-1.0.tar.gz", GOOD_SHA)]
    results = sources.fill_from(server.url + "/mirror/", arts, log=lambda m: None)
    assert results == {
        "good-1.0.tar.gz": "added",
        "evil-1.0.tar.gz": "rejected: sha256 %s, but matrix.yaml pins %s" % (BAD_SHA, GOOD_SHA),
        "absent-1.0.tar.gz": "not fetched: Not Found",
    }
    assert _cache_files(offline) == ["good-1.0.tar.gz"]
    assert sorted(server.requests) == [("GET", "/mirror/absent-1.0.tar.gz"),
                                       ("GET", "/mirror/evil-1.0.tar.gz"),
                                       ("GET", "/mirror/good-1.0.tar.gz")]


@pytest.mark.parametrize("origin", ["/no/such/dir", "ftp://mirror.invalid/src"])
def test_fill_from_something_else_is_an_error(offline, origin):
    with pytest.raises(UsageError) as e:
        sources.fill_from(origin, [Artifact("good-1.0.tar.gz", GOOD_SHA)], log=lambda m: None)
    assert str(e.value) == "--from %s: not a directory or an http(s) URL" % origin


# -- ./build.py sources -----------------------------------------------------------------------

# Two variants sharing their pins, each with its own interpreter tarball.
CLI_FILES = {
    "Python-9.1.0.tgz": b"python 9.1 source\n",
    "Python-9.2.0.tgz": b"python 9.2 source\n",
    "pip-1.0-py3-none-any.whl": b"pip\n",
    "setuptools-1.0-py3-none-any.whl": b"setuptools\n",
    "wheel-1.0-py3-none-any.whl": b"wheel\n",
    "mod_wsgi-1.0.tar.gz": b"mod_wsgi\n",
}


def _sha(name):
    return hashlib.sha256(CLI_FILES[name]).hexdigest()


@pytest.fixture
def small_matrix(tmp_path):
    pins = {p: {"file": f, "sha256": _sha(f)} for p in matrix.PIN_NAMES
            for f in CLI_FILES if f.startswith(p + "-")}
    data = {"variants": {}}
    for minor in ("1", "2"):
        tarball = "Python-9.%s.0.tgz" % minor
        data["variants"]["python-9." + minor] = {
            "python": "9.%s.0" % minor, "base": "debian:bookworm-slim",
            "interpreter": "compiled", "pins": pins,
            "source": {"file": tarball, "sha256": _sha(tarball),
                       "url": "https://upstream.invalid/" + tarball,
                       "unsigned": "a test tarball"}}
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _table(stdout):
    """{(variant, file): state} from the sources table."""
    lines = stdout.splitlines()
    assert lines[0].split() == ["VARIANT", "FILE", "STATE", "SHA256", "WHERE", "SIGNATURE"]
    rows = {}
    for line in lines[1:]:
        variant, file, rest = line.split(None, 2)
        rows[(variant, file)] = "not cached" if rest.startswith("not cached") else rest.split()[0]
    return rows


def test_sources_lists_every_file_of_every_variant(env, small_matrix, offline):
    p = build_py(env, "--matrix", small_matrix, "sources")
    assert p.returncode == 0, p.stderr
    rows = _table(p.stdout)
    assert len(rows) == 2 * 5
    assert set(rows.values()) == {"not cached"}
    assert not offline.exists() or _cache_files(offline) == []
    assert "upstream https://upstream.invalid/Python-9.1.0.tgz" in p.stdout


def test_sources_from_a_directory(env, small_matrix, offline, tmp_path):
    origin = tmp_path / "usb"
    origin.mkdir()
    for name, data in CLI_FILES.items():
        if name != "mod_wsgi-1.0.tar.gz":    # not on this stick
            (origin / name).write_bytes(b"tampered\n" if name == "Python-9.2.0.tgz" else data)
    p = build_py(env, "--matrix", small_matrix, "sources", "--from", str(origin))
    assert p.returncode == 1
    errors = [line for line in p.stderr.splitlines() if line.startswith("build.py: error: ")]
    assert errors == ["build.py: error: Python-9.2.0.tgz from %s: rejected: sha256 %s, but "
                      "matrix.yaml pins %s"
                      % (origin, hashlib.sha256(b"tampered\n").hexdigest(), _sha("Python-9.2.0.tgz"))]
    assert "mod_wsgi-1.0.tar.gz: not in %s" % origin in p.stderr
    assert _cache_files(offline) == sorted(
        n for n in CLI_FILES if n not in ("Python-9.2.0.tgz", "mod_wsgi-1.0.tar.gz"))
    rows = _table(p.stdout)
    assert rows[("python-9.1", "Python-9.1.0.tgz")] == "verified"
    assert rows[("python-9.2", "Python-9.2.0.tgz")] == "not cached"
    assert rows[("python-9.2", "mod_wsgi-1.0.tar.gz")] == "not cached"
    assert rows[("python-9.2", "pip-1.0-py3-none-any.whl")] == "verified"

    # With the right bytes the same command succeeds and adds only what was missing.
    (origin / "Python-9.2.0.tgz").write_bytes(CLI_FILES["Python-9.2.0.tgz"])
    p = build_py(env, "--matrix", small_matrix, "sources", "python-9.2", "--from", str(origin))
    assert p.returncode == 0, p.stderr
    assert "Python-9.2.0.tgz: added" in p.stderr
    assert "pip-1.0-py3-none-any.whl: cached" in p.stderr
    assert "Python-9.1.0.tgz" not in p.stderr + p.stdout   # only the variant named
    assert {v for (_, f), v in _table(p.stdout).items() if f != "mod_wsgi-1.0.tar.gz"} == {"verified"}


def test_sources_from_an_origin_that_provides_nothing_fails(env, small_matrix, offline, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    p = build_py(env, "--matrix", small_matrix, "sources", "--from", str(empty))
    assert p.returncode == 1
    assert "build.py: error: %s provided none of the missing files" % empty in p.stderr
    assert "Traceback" not in p.stderr


def test_sources_from_a_url(env, small_matrix, offline, server):
    for name, data in CLI_FILES.items():
        server.serve("/mirror/" + name, b"tampered\n" if name == "wheel-1.0-py3-none-any.whl" else data)
    p = build_py(env, "--matrix", small_matrix, "sources", "--from", server.url + "/mirror")
    assert p.returncode == 1
    assert [line.split(" from ")[0] for line in p.stderr.splitlines()
            if line.startswith("build.py: error: ")] == [
        "build.py: error: wheel-1.0-py3-none-any.whl"]
    assert _cache_files(offline) == sorted(n for n in CLI_FILES if n != "wheel-1.0-py3-none-any.whl")
    # The pins both variants share are downloaded once.
    assert sorted(path for _method, path in server.requests) == sorted("/mirror/" + n for n in CLI_FILES)


def test_sources_json(env, small_matrix, offline):
    offline.mkdir()
    (offline / "Python-9.1.0.tgz").write_bytes(CLI_FILES["Python-9.1.0.tgz"])
    (offline / "wheel-1.0-py3-none-any.whl").write_bytes(b"corrupt\n")
    p = build_py(env, "--matrix", small_matrix, "sources", "--json", "python-9.1")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert [(r["variant"], r["file"]) for r in rows] == [
        ("python-9.1", f) for f in ["Python-9.1.0.tgz", "pip-1.0-py3-none-any.whl",
                                    "setuptools-1.0-py3-none-any.whl", "wheel-1.0-py3-none-any.whl",
                                    "mod_wsgi-1.0.tar.gz"]]
    assert all(set(r) == {"variant", "file", "sha256", "state", "where", "signature"} for r in rows)
    assert all(r["sha256"] == _sha(r["file"]) for r in rows)
    assert [r["state"] for r in rows] == ["verified", "not cached", "not cached", "mismatch",
                                          "not cached"]
    assert rows[0]["where"] == str(offline / "Python-9.1.0.tgz")


def test_sources_cli_errors(env, small_matrix, tmp_path):
    p = build_py(env, "--matrix", small_matrix, "sources", "--from", str(tmp_path / "nowhere"))
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr == ("build.py: error: --from %s: not a directory or an http(s) URL\n"
                        % (tmp_path / "nowhere"))
    p = build_py(env, "--matrix", small_matrix, "sources", "python-9.3")
    assert p.returncode == 2
    assert p.stderr == "build.py: error: unknown variant python-9.3 (known: python-9.1, python-9.2)\n"


# -- OpenPGP signatures: a key made for the test, real gpg ---------------------

@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    """(sign(path) -> asc path, keyring tarball, fingerprint) from a fresh ed25519 key."""
    import shutil
    import subprocess
    import tarfile
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (apt-get install gpg)")
    d = tmp_path_factory.mktemp("gpg")
    home = d / "home"
    home.mkdir(mode=0o700)

    def gpg(*args):
        return subprocess.run(["gpg", "--batch", "--homedir", str(home), *args],
                              check=True, capture_output=True, text=True).stdout

    gpg("--passphrase", "", "--quick-gen-key", "release manager <rm@example.invalid>",
        "ed25519", "sign", "never")
    fpr = [line.split(":")[9] for line in gpg("--with-colons", "--list-keys").splitlines()
           if line.startswith("fpr:")][0]
    (d / "debian" / "upstream").mkdir(parents=True)
    (d / "debian" / "upstream" / "signing-key.asc").write_text(gpg("--armor", "--export", fpr))
    ring = d / "pkg_1.0-1.debian.tar.xz"
    with tarfile.open(ring, "w:xz") as tar:
        tar.add(d / "debian", arcname="debian")

    def sign(path):
        gpg("--armor", "--detach-sign", "--output", str(path) + ".asc", str(path))
        return str(path) + ".asc"
    return sign, str(ring), fpr


def _signed(tmp_path, signer, fingerprint=None):
    sign, ring, fpr = signer
    tarball = tmp_path / "pkg-1.0.tar.gz"
    tarball.write_bytes(b"the release")
    asc = sign(tarball)
    sig = matrix.Signature(Artifact("pkg-1.0.tar.gz.asc", "0" * 64), fingerprint or fpr,
                           Artifact("pkg_1.0-1.debian.tar.xz", "0" * 64),
                           "debian/upstream/signing-key.asc")
    return Artifact("pkg-1.0.tar.gz", "0" * 64, signature=sig), str(tarball), asc, ring


def test_a_good_signature_by_the_pinned_key(tmp_path, signer):
    artifact, path, asc, ring = _signed(tmp_path, signer)
    said = sources.check_signature(artifact, path, asc, ring)
    assert said.startswith("OpenPGP good, key %s, signed 20" % signer[2])


def test_a_changed_tarball_is_a_hard_error_naming_file_and_key(tmp_path, signer):
    artifact, path, asc, ring = _signed(tmp_path, signer)
    with open(path, "ab") as f:
        f.write(b"!")
    with pytest.raises(sources.SignatureError) as e:
        sources.check_signature(artifact, path, asc, ring)
    assert str(e.value).startswith("pkg-1.0.tar.gz: its OpenPGP signature pkg-1.0.tar.gz.asc "
                                   "does not verify with key %s (gpg: BADSIG" % signer[2])


def test_a_signature_by_another_key_than_the_pinned_one(tmp_path, signer):
    artifact, path, asc, ring = _signed(tmp_path, signer, fingerprint="A" * 40)
    with pytest.raises(sources.SignatureError) as e:
        sources.check_signature(artifact, path, asc, ring)
    assert str(e.value) == "pkg-1.0.tar.gz: signed by key %s, not by the pinned key %s" % (
        signer[2], "A" * 40)


def test_a_keyring_without_the_key_file(tmp_path, signer):
    artifact, path, asc, ring = _signed(tmp_path, signer)
    artifact = Artifact(artifact.file, artifact.sha256, signature=matrix.Signature(
        artifact.signature.asc, signer[2], artifact.signature.keyring, "debian/missing.asc"))
    with pytest.raises(sources.SignatureError) as e:
        sources.check_signature(artifact, path, asc, ring)
    assert str(e.value) == "pkg_1.0-1.debian.tar.xz has no debian/missing.asc"


def test_sources_says_per_file_whether_a_signature_is_checked(offline):
    rows = sources.status(matrix.load())
    said = {(r.variant, r.artifact.file): r.signature for r in rows}
    assert said[("python-3.5", "openssl-1.1.1w.tar.gz")].startswith("OpenPGP")
    assert said[("python-2.7", "Python-2.7.18.tgz")].startswith("none: python.org")
    assert said[("python-3.11", "pip-26.3-py3-none-any.whl")].startswith("none: the package index")
