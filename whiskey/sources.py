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
import html
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
from urllib.error import URLError
from urllib.parse import urljoin
from urllib.request import Request, urlopen

from . import UsageError, settings, text

TIMEOUT = 30


class SourceError(RuntimeError):
    pass


class ChecksumError(SourceError):
    pass


class SignatureError(SourceError):
    pass


def cache_dir():
    return settings.source_cache()


def writable_cache():
    """The source cache, made when missing; a UsageError naming it when it cannot be one."""
    cache = cache_dir()
    if os.path.exists(cache) and not os.path.isdir(cache):
        raise UsageError("the source cache %s is not a directory (choose another with "
                         "$WHISKEY_SOURCE_CACHE)" % cache)
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError as exc:
        raise SourceError("cannot create the source cache %s: %s" % (cache, exc.strerror)) from None
    return cache


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
    if settings.package_index():
        return settings.package_index()
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
        from pip._internal.models.index import PyPI  # pip's own default
        return PyPI.simple_url
    except Exception as exc:  # pragma: no cover - depends on the host's pip
        raise SourceError("cannot tell which package index pip uses (%s); set PIP_INDEX_URL" % exc) from exc


class IndexFile:
    """One file of a project's page on a simple package index (PEP 503/691)."""

    def __init__(self, filename, url, sha256=None, requires_python=None, yanked=False):
        self.filename = filename
        self.url = url
        self.sha256 = sha256
        self.requires_python = requires_python
        self.yanked = yanked


def index_files(project, ctx):
    """Every file the package index lists for project (JSON if offered, else HTML)."""
    name = re.sub(r"[-_.]+", "-", project).lower()
    page = package_index().rstrip("/") + "/" + name + "/"
    req = Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json, "
                                           "text/html;q=0.1"})
    resp = urlopen(req, timeout=TIMEOUT, context=ctx)
    body = resp.read().decode("utf-8")
    base = resp.geturl()
    out = []
    if "json" in resp.headers.get("Content-Type", ""):
        for f in json.loads(body)["files"]:
            out.append(IndexFile(f["filename"], urljoin(base, f["url"]),
                                 (f.get("hashes") or {}).get("sha256"),
                                 f.get("requires-python"), bool(f.get("yanked"))))
        return out
    for attrs, name in re.findall(r"<a([^>]*)>([^<]+)</a>", body):
        href = re.search(r'href="([^"]+)"', attrs)
        if not href:
            continue
        url = urljoin(base, html.unescape(href.group(1)))
        sha = re.search(r"#sha256=([0-9a-f]{64})", url)
        rp = re.search(r'data-requires-python="([^"]*)"', attrs)
        out.append(IndexFile(name.strip(), url.split("#")[0] if sha else url,
                             sha.group(1) if sha else None,
                             html.unescape(rp.group(1)) if rp else None,
                             "data-yanked" in attrs))
    return out


def _index_file_url(artifact, ctx):
    """The URL the package index gives for artifact.file."""
    for f in index_files(artifact.project, ctx):
        if f.filename == artifact.file:
            return f.url
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
    for listing in texts:
        for uri in re.findall(r"(?:URIs:\s*|^deb(?:-src)?\s+(?:\[[^]]*\]\s+)?)(\S+)", listing, re.M):
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

_FETCH_ERRORS = (URLError, OSError, SourceError, ValueError, http.client.HTTPException)


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


def fetch(artifact, ca_bundle=None, log=text.log):
    """Path of a verified copy of artifact in the cache, fetching it if needed."""
    cache = writable_cache()
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
        raise SourceError(missing_message(artifact, _unanswered(str(exc)))) from exc
    got = sha256_of(path)
    if got != artifact.sha256:
        os.remove(path)
        raise ChecksumError("%s from %s has sha256 %s, but matrix.yaml pins %s; "
                            "refusing to use it" % (artifact.file, where, got, artifact.sha256))
    return path


# -- upstream signatures --------------------------------------------------

def _key_file(keyring_path, member, workdir):
    """The armoured public key: keyring_path itself, or member inside that tarball."""
    if not member:
        return keyring_path
    import tarfile
    with tarfile.open(keyring_path) as tar:
        try:
            data = tar.extractfile(member)
        except KeyError:
            data = None
        if data is None:
            raise SignatureError("%s has no %s" % (os.path.basename(keyring_path), member))
        path = os.path.join(workdir, "key.asc")
        with open(path, "wb") as out:
            out.write(data.read())
    return path


def check_signature(artifact, path, asc_path, keyring_path):
    """The OpenPGP check of path against asc_path, by the pinned key only.

    gpg runs in a throwaway home with nothing but the keyring's keys; the
    signature must verify (VALIDSIG) and its primary key must be the pinned
    fingerprint.  A signature made while its key was valid still counts after
    the key expired (gpg's EXPKEYSIG), as gpg itself reports it valid.
    Returns a one-line description; raises SignatureError naming file and key.
    """
    import tempfile
    sig = artifact.signature
    gpg = shutil.which("gpg")
    if gpg is None:
        raise SignatureError("%s must be checked against its OpenPGP signature, and gpg is not "
                             "installed (apt-get install gpg)" % artifact.file)
    with tempfile.TemporaryDirectory(prefix="whiskey-gpg-") as home:
        key = _key_file(keyring_path, sig.member, home)
        imported = subprocess.run([gpg, "--batch", "--homedir", home, "--import", key],
                                  capture_output=True, text=True)
        if imported.returncode not in (0, 2):  # 2: some keys had no user id, say
            raise SignatureError("cannot import the keys in %s: %s"
                                 % (sig.keyring.file, imported.stderr.strip()[-200:]))
        out = subprocess.run([gpg, "--batch", "--homedir", home, "--status-fd", "1",
                              "--verify", asc_path, path], capture_output=True, text=True)
    status = [line.split()[1:] for line in out.stdout.splitlines() if line.startswith("[GNUPG:] ")]
    valid = [f for f in status if f and f[0] == "VALIDSIG"]
    primary = valid[0][-1] if valid else None
    if not valid or any(f and f[0] in ("BADSIG", "ERRSIG") for f in status):
        said = [" ".join(f[:2]) for f in status
                if f and f[0] in ("BADSIG", "ERRSIG", "NO_PUBKEY", "NODATA")]
        raise SignatureError("%s: its OpenPGP signature %s does not verify with key %s (gpg: %s)"
                             % (artifact.file, sig.asc.file, sig.fingerprint,
                                ", ".join(said) or out.stderr.strip()[-200:] or "no valid signature"))
    if primary != sig.fingerprint:
        raise SignatureError("%s: signed by key %s, not by the pinned key %s"
                             % (artifact.file, primary, sig.fingerprint))
    made = valid[0][2]  # VALIDSIG <fingerprint> <creation date> ...
    expired = any(f and f[0] == "EXPKEYSIG" for f in status)
    return "OpenPGP good, key %s, signed %s%s" % (
        sig.fingerprint, made, " (the key has expired since)" if expired else "")


def verify_signature(artifact, path, ca_bundle=None, log=text.log):
    """Fetch artifact's signature and key (pinned, cached) and check path; a description."""
    sig = artifact.signature
    asc = fetch(sig.asc, ca_bundle, log)
    keyring = fetch(sig.keyring, ca_bundle, log)
    return check_signature(artifact, path, asc, keyring)


def signature_state(artifact):
    """What `./build.py sources` says of artifact's signature, reading the cache only."""
    if artifact.unsigned:
        return "none: " + artifact.unsigned
    if artifact.signature is None:
        if artifact.project:
            return "none: the package index publishes sha256 only; the pin is that digest"
        return "none"
    cache = cache_dir()
    paths = [os.path.join(cache, a.file)
             for a in (artifact, artifact.signature.asc, artifact.signature.keyring)]
    if not all(os.path.exists(p) for p in paths):
        return "OpenPGP, key %s: checked when fetched" % artifact.signature.fingerprint
    try:
        return check_signature(artifact, *paths)
    except SignatureError as exc:
        return "BAD: %s" % exc


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


def _unanswered(failures):
    """Why no place gave a file, in one line, from _first_place's or probe's failures."""
    return "no place answered (%s)" % failures.replace("\n  ", "; ")


def missing_message(artifact, why=""):
    """One line naming a file that cannot be had, its sha256, and how to provide it."""
    return ("%s (sha256 %s) is not in the source cache %s%s; provide it with "
            "`./build.py sources --from DIR|URL`" % (artifact.file, artifact.sha256, cache_dir(),
                                                     " and " + why if why else ""))


def availability(variant, ca_bundle=None):
    """(True, '') when every artifact of variant is obtainable, else (False, reason).

    The reason names every missing file with its sha256 and how to provide it.
    """
    missing = []
    for artifact in variant.artifacts:
        ok, why = probe(artifact, ca_bundle)
        if not ok:
            missing.append(missing_message(artifact, _unanswered(why)))
    return (False, "; ".join(missing)) if missing else (True, "")


class Status(object):
    """Where one artifact of a variant stands on this machine."""

    def __init__(self, variant, artifact, state, where, signature=""):
        self.variant = variant
        self.artifact = artifact
        self.state = state  # verified | mismatch | not cached
        self.where = where  # the cache path, or the places it would come from
        self.signature = signature  # signature_state(artifact)

    def as_dict(self):
        return {"variant": self.variant, "file": self.artifact.file,
                "sha256": self.artifact.sha256, "state": self.state, "where": self.where,
                "signature": self.signature}


def status(variants):
    """A Status per (variant, artifact), reading only the cache (no network)."""
    out = []
    for v in variants:
        for a in v.artifacts:
            path = os.path.join(cache_dir(), a.file)
            if os.path.exists(path):
                state = "verified" if sha256_of(path) == a.sha256 else "mismatch"
                out.append(Status(v.name, a, state, path, signature_state(a)))
            else:
                out.append(Status(v.name, a, "not cached",
                                  " | ".join(w for w, _ in places(a)) or "nowhere known",
                                  signature_state(a)))
    return out


def fill_from(origin, artifacts, ca_bundle=None, log=text.log):
    """Copy artifacts into the cache from a directory or a base URL; verified.

    Returns {file: result} where result is "cached" (already there and
    verified), "added", or the reason it was not (absent, wrong sha256).
    Nothing that fails verification is left in the cache.
    """
    is_url = re.match(r"https?://", origin) is not None
    if not is_url and not os.path.isdir(origin):
        raise UsageError("--from %s: not a directory or an http(s) URL" % origin)
    cache = writable_cache()
    ctx = ssl_context(ca_bundle)
    results = {}
    for a in artifacts:
        if a.file in results:
            continue
        dest = os.path.join(cache, a.file)
        if os.path.exists(dest) and sha256_of(dest) == a.sha256:
            results[a.file] = "cached"
            continue
        tmp = dest + ".new"
        try:
            results[a.file] = _fill_one(origin, is_url, a, tmp, dest, ctx)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        if results[a.file] == "added":
            log("%s: added to %s" % (a.file, cache))
    return results


REJECTED = "rejected: "


def _fill_one(origin, is_url, a, tmp, dest, ctx):
    """Copy or download a into tmp, verify it, move it to dest; what happened."""
    try:
        if is_url:
            _download(origin.rstrip("/") + "/" + a.file, tmp, ctx)
        else:
            src = os.path.join(origin, a.file)
            if not os.path.exists(src):
                return "not in %s" % origin
            shutil.copyfile(src, tmp)
    except _FETCH_ERRORS as exc:
        return "not fetched: %s" % getattr(exc, "reason", exc)
    got = sha256_of(tmp)
    if got != a.sha256:
        return REJECTED + "sha256 %s, but matrix.yaml pins %s" % (got, a.sha256)
    os.rename(tmp, dest)
    return "added"
