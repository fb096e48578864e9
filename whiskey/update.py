"""`./build.py update`: move each pin to the newest file the package index has
that the variant's Python can run, and rewrite matrix.yaml in place.

For every pin (pip, setuptools, wheel, mod_wsgi) of every variant named, the
index's files for that project are read once; a candidate is a final release
of the same kind of file as the pin (the same wheel tags, or an sdist of the
same format), not yanked, with a sha256, whose Requires-Python admits the
variant's Python and whose version satisfies the pin's `constraint` (a
PEP 440 specifier kept in matrix.yaml for what metadata does not say, e.g.
mod_wsgi 4.8+ dropped Python < 3.6 without saying so).  The newest candidate
newer than the pin replaces it: file name and sha256 on the pin's own line,
comments and everything else untouched.

Interpreters, where a source of releases is known: a distribution variant's
`python:` follows the python3.X package of its base's Debian suite (the
suite and its -updates, read from the Packages index of the Debian mirrors
the host's apt uses, or $WHISKEY_DEBIAN_MIRROR): when the suite ships a newer
upstream release, the pin moves to it (sid does, several times a year; a
stable suite keeps its release and takes fixes as Debian revisions, which
need no pin change).  Compiled variants' tarballs are not updated: no index
reachable here lists CPython releases, and 2.7, 3.3, 3.4 and 3.5 have no
newer ones (change a tarball by hand, with its sha256).
"""

from __future__ import annotations

import gzip
import lzma
import re
import urllib.request
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from . import sources
from .matrix import _DIST, PIN_NAMES, Artifact, MatrixError, Variant


@dataclass(frozen=True)
class Change:
    variant: str
    pin: str
    old: Artifact
    new_file: str
    new_sha256: str


def _kind(artifact: Artifact) -> str:
    """What follows the version in the file name: wheel tags or the sdist extension."""
    return artifact.file.split("-" + artifact.version, 1)[1]


def newest(files: Sequence[sources.IndexFile], pin: Artifact, python: str
           ) -> Optional[sources.IndexFile]:
    """The newest acceptable file for pin on this Python, if newer than the pin."""
    best, best_version = None, Version(pin.version)
    allowed = SpecifierSet(pin.constraint or "")
    for f in files:
        m = _DIST.match(f.filename)
        if not m or f.yanked or not f.sha256:
            continue
        if f.filename.split("-" + m.group("version"), 1)[1] != _kind(pin):
            continue
        try:
            version = Version(m.group("version"))
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease or version not in allowed:
            continue
        if f.requires_python and Version(python) not in SpecifierSet(f.requires_python):
            continue
        if version > best_version:
            best, best_version = f, version
    return best


def plan(variants: Sequence[Variant], listing: Dict[str, List[sources.IndexFile]]
         ) -> List[Change]:
    """The changes to make, given each project's index files."""
    out = []
    for v in variants:
        for name in PIN_NAMES:
            pin = v.pins[name]
            found = newest(listing[name], pin, v.python)
            if found is not None:
                out.append(Change(v.name, name, pin, found.filename, found.sha256 or ""))
    return out


def _entry(lines: Sequence[str], variant: str) -> range:
    """The line numbers of a variant's entry in matrix.yaml, after its name."""
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"  %s:\s*(#.*)?$" % re.escape(variant), line)), None)
    if start is None:
        raise MatrixError("variant %r not found to update" % variant)
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"  \S", lines[i])),
               len(lines))
    return range(start + 1, end)


def rewrite(text: str, changes: Sequence[Change]) -> str:
    """matrix.yaml's text with each change made on its pin's line only."""
    lines = text.splitlines(keepends=True)
    for c in changes:
        for i in _entry(lines, c.variant):
            if re.match(r"\s+%s:\s*\{" % re.escape(c.pin), lines[i]) and c.old.file in lines[i]:
                lines[i] = (lines[i].replace(c.old.file, c.new_file, 1)
                            .replace(c.old.sha256, c.new_sha256, 1))
                break
        else:
            raise MatrixError("variant %r has no one-line pin %s: {file: %s, ...} "
                              "to update" % (c.variant, c.pin, c.old.file))
    return "".join(lines)


def index_listing(variants: Sequence[Variant], ca_bundle: Optional[str] = None
                  ) -> Dict[str, List[sources.IndexFile]]:
    """Each pinned project's files on the package index, read once."""
    ctx = sources.ssl_context(ca_bundle)
    return {name: sources.index_files(name, ctx) for name in PIN_NAMES if variants}


@dataclass(frozen=True)
class InterpreterChange:
    variant: str
    old: str
    new: str
    package: str  # e.g. "python3.15 3.15.3-1 in sid"


def suite_of(variant: Variant) -> Optional[str]:
    """The Debian suite of a debian:<suite>[-slim] base, else None."""
    m = re.match(r"debian:([a-z]+)(-slim)?$", variant.base)
    return m.group(1) if m else None


def upstream_version(debian_version: str) -> Optional[str]:
    """3.15.2-1 -> 3.15.2; 1:3.11.2-6+deb12u6 -> 3.11.2; pre-releases (3.14.0~rc3-1) -> None."""
    version = debian_version.split(":", 1)[-1].rsplit("-", 1)[0]
    return None if "~" in version or "+" in version else version


def packages_versions(text: str) -> Dict[str, List[str]]:
    """Package name -> every Version in a Debian Packages index."""
    out: Dict[str, List[str]] = {}
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines()
                      if ": " in line and not line.startswith(" "))
        if "Package" in fields and "Version" in fields:
            out.setdefault(fields["Package"], []).append(fields["Version"])
    return out


Fetch = Callable[[str], bytes]


def _read_packages(mirror: str, suite: str, arch: str, fetch: Fetch) -> str:
    """The Packages index of mirror's suite/main for arch (xz, else gz); '' if neither."""
    base = "%s/dists/%s/main/binary-%s/Packages" % (mirror.rstrip("/"), suite, arch)
    for ext, decompress in ((".xz", lzma.decompress), (".gz", gzip.decompress)):
        try:
            return decompress(fetch(base + ext)).decode("utf-8", "replace")
        except (OSError, lzma.LZMAError, EOFError):
            continue
    return ""


def interpreter_plan(variants: Sequence[Variant], mirrors: Sequence[str], fetch: Fetch,
                     arch: str = "amd64") -> List[InterpreterChange]:
    """A distribution variant's newer upstream release in its suite, if any."""
    indexes: Dict[str, Dict[str, List[str]]] = {}
    out = []
    for v in variants:
        suite = suite_of(v)
        if v.compiled or suite is None:
            continue
        if suite not in indexes:
            merged: Dict[str, List[str]] = {}
            for s in (suite,) if suite in ("sid", "unstable") else (suite, suite + "-updates"):
                for mirror in mirrors:
                    for name, versions in packages_versions(_read_packages(mirror, s, arch, fetch)).items():
                        merged.setdefault(name, []).extend(versions)
            if not merged:
                raise sources.SourceError("no Packages index for %s on any Debian mirror (%s)"
                                  % (suite, ", ".join(mirrors) or "none configured"))
            indexes[suite] = merged
        package = "python" + v.major_minor
        best, best_debian = Version(v.python), ""
        for debian in indexes[suite].get(package, []):
            upstream = upstream_version(debian)
            if upstream is not None and Version(upstream) > best:
                best, best_debian = Version(upstream), debian
        if best_debian:
            out.append(InterpreterChange(v.name, v.python, str(best),
                                         "%s %s in %s" % (package, best_debian, suite)))
    return out


def rewrite_python(text: str, changes: Sequence[InterpreterChange]) -> str:
    """matrix.yaml's text with each variant's `python:` line moved."""
    lines = text.splitlines(keepends=True)
    for c in changes:
        for i in _entry(lines, c.variant):
            if re.match(r"\s+python:\s*%s\s*(#.*)?$" % re.escape(c.old), lines[i]):
                lines[i] = lines[i].replace(c.old, c.new, 1)
                break
        else:
            raise MatrixError("variant %r has no line python: %s to update"
                              % (c.variant, c.old))
    return "".join(lines)


def http_fetch(ca_bundle: Optional[str] = None) -> Fetch:
    ctx = sources.ssl_context(ca_bundle)

    def fetch(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=60, context=ctx) as r:
            return r.read()
    return fetch
