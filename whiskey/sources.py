"""Fetch the files an image build needs, and prove they are the pinned bytes.

Each artifact is looked for in an ordered list of places:

1. the local source cache (``$WHISKEY_SOURCE_CACHE``, default
   ``~/.cache/whiskey/sources``): a file already there is used only if its
   sha256 matches;
2. upstream: the tarball's URL, or for pip/setuptools/wheel/mod_wsgi the
   package index pip is configured to use (never a host written in here);
3. Debian's source package, for tarballs the matrix says Debian carries
   byte-identical (``debian: <pkg>_<ver>.orig.tar.gz``), from the mirror the
   host's apt is configured for.

A download whose sha256 differs from the pin is deleted and is a hard error
naming the file, the place and both digests.
"""

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile

try:  # Python 3
    from urllib.error import URLError
    from urllib.parse import urljoin
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover - build.py runs on Python 3
    raise

TIMEOUT = 30


class SourceError(RuntimeError):
    pass


class ChecksumError(SourceError):
    pass


def cache_dir():
    return os.environ.get("WHISKEY_SOURCE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "whiskey", "sources")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ssl_context(ca_bundle=None):
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx


# -- where an artifact may come from --------------------------------------

def package_index():
    """The simple index pip would use: PIP_INDEX_URL, pip's config, pip's default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
        from pip._internal.models.index import PyPI  # pip's own default
        return PyPI.simple_url
    except Exception as exc:  # pragma: no cover - depends on the host's pip
        raise SourceError("cannot tell which package index pip uses (%s); set PIP_INDEX_URL" % exc)


def _index_file_url(artifact, ctx):
    """The URL the package index gives for artifact.file (PEP 691, else PEP 503 HTML)."""
    project = re.sub(r"[-_.]+", "-", artifact.project).lower()
    page = package_index().rstrip("/") + "/" + project + "/"
    req = Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json, "
                                           "text/html;q=0.1"})
    resp = urlopen(req, timeout=TIMEOUT, context=ctx)
    body = resp.read().decode("utf-8")
    base = resp.geturl()
    if "json" in resp.headers.get("Content-Type", ""):
        for f in json.loads(body)["files"]:
            if f["filename"] == artifact.file:
                return urljoin(base, f["url"])
    else:
        for href, text in re.findall(r'<a[^>]+href="([^"]+)"[^>]*>([^<]+)</a>', body):
            if text.strip() == artifact.file:
                return urljoin(base, href.replace("&amp;", "&"))
    raise SourceError("the package index has no file %s for %s" % (artifact.file, artifact.project))


def apt_source_uris():
    """Every archive URI in the host's apt configuration (none off Debian)."""
    texts = []
    if os.path.exists("/etc/apt/sources.list"):
        texts.append(open("/etc/apt/sources.list").read())
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f.endswith((".list", ".sources")):
                texts.append(open(os.path.join(d, f)).read())
    uris = []
    for text in texts:
        for uri in re.findall(r"(?:URIs:\s*|^deb(?:-src)?\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if uri not in uris:
                uris.append(uri)
    return uris


def debian_mirrors():
    """Debian archive URIs the host's apt is configured with."""
    return [u for u in apt_source_uris() if u.rstrip("/").endswith("/debian")]


def debian_pool_urls(orig_name):
    """pool/main/<p>/<package>/<orig> on each mirror apt is configured with."""
    package = orig_name.split("_", 1)[0]
    prefix = package[:4] if package.startswith("lib") else package[0]
    return ["%s/pool/main/%s/%s/%s" % (m.rstrip("/"), prefix, package, orig_name)
            for m in debian_mirrors()]


def places(artifact):
    """(description, url-or-callable) in the order they are tried after the cache."""
    out = []
    if artifact.url:
        out.append(("upstream " + artifact.url, artifact.url))
    if artifact.project:
        out.append(("package index (%s)" % artifact.project,
                    lambda ctx, a=artifact: _index_file_url(a, ctx)))
    if artifact.debian:
        for url in debian_pool_urls(artifact.debian):
            out.append(("Debian source package " + artifact.debian, url))
    return out


# -- fetching ---------------------------------------------------------------

_FETCH_ERRORS = (URLError, OSError, SourceError, ValueError)


def _first_place(artifact, ctx, attempt):
    """Call attempt(where, url) for each place until one does not raise.

    Returns (where, attempt's result), or raises SourceError listing why
    every place failed.
    """
    failures = []
    for where, url in places(artifact):
        try:
            if callable(url):
                url = url(ctx)
            return where, attempt(where, url)
        except _FETCH_ERRORS as exc:
            failures.append("%s: %s" % (where, getattr(exc, "reason", exc)))
    raise SourceError("\n  ".join(failures) or "no place to fetch it from")


def _download(url, dest, ctx):
    tmp = dest + ".part"
    try:
        resp = urlopen(Request(url, headers={"User-Agent": "whiskey-build"}),
                       timeout=TIMEOUT, context=ctx)
        with open(tmp, "wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
        os.rename(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fetch(artifact, ca_bundle=None, log=print):
    """Path of a verified copy of artifact in the cache, fetching it if needed."""
    cache = cache_dir()
    if not os.path.isdir(cache):
        os.makedirs(cache)
    path = os.path.join(cache, artifact.file)
    if os.path.exists(path):
        if sha256_of(path) == artifact.sha256:
            return path
        log("cache: %s does not match its sha256; fetching it again" % path)
        os.remove(path)
    ctx = ssl_context(ca_bundle)

    def download(where, url):
        log("fetching %s from %s" % (artifact.file, where))
        _download(url, path, ctx)

    try:
        where, _ = _first_place(artifact, ctx, download)
    except SourceError as exc:
        raise SourceError("cannot obtain %s (sha256 %s) on this machine:\n  %s\n"
                          "put a copy in %s to build offline"
                          % (artifact.file, artifact.sha256, exc, cache))
    got = sha256_of(path)
    if got != artifact.sha256:
        os.remove(path)
        raise ChecksumError("%s from %s has sha256 %s, but matrix.yaml pins %s; "
                            "refusing to use it" % (artifact.file, where, got, artifact.sha256))
    return path


def probe(artifact, ca_bundle=None):
    """(True, where) if artifact is cached or a place answers; (False, why) otherwise.

    Cheap: HEAD requests only, nothing is downloaded.
    """
    path = os.path.join(cache_dir(), artifact.file)
    if os.path.exists(path):
        return True, "cache"
    ctx = ssl_context(ca_bundle)

    def head(where, url):
        urlopen(Request(url, method="HEAD"), timeout=10, context=ctx).close()

    try:
        where, _ = _first_place(artifact, ctx, head)
        return True, where.split(" ")[0]
    except SourceError as exc:
        return False, str(exc).replace("\n  ", "; ")


def availability(variant, ca_bundle=None):
    """(True, '') when every artifact of variant is obtainable, else (False, reason)."""
    for artifact in variant.artifacts:
        ok, why = probe(artifact, ca_bundle)
        if not ok:
            return False, "%s cannot be obtained (%s)" % (artifact.file, why)
    return True, ""


def stage(variant, dest, ca_bundle=None, log=print):
    """Copy every verified artifact of variant into dest/ with a SHA256SUMS file."""
    if not os.path.isdir(dest):
        os.makedirs(dest)
    lines = []
    for artifact in variant.artifacts:
        shutil.copy(fetch(artifact, ca_bundle, log), os.path.join(dest, artifact.file))
        lines.append("%s  %s\n" % (artifact.sha256, artifact.file))
    with open(os.path.join(dest, "SHA256SUMS"), "w") as f:
        f.writelines(lines)
    return dest


def staging_dir():
    return tempfile.mkdtemp(prefix="whiskey-context-")
