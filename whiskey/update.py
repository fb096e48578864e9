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
comments and everything else untouched.  Interpreter tarballs are not
updated: no index lists them (change them by hand, with their sha256).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

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


def rewrite(text: str, changes: Sequence[Change]) -> str:
    """matrix.yaml's text with each change made on its pin's line only."""
    lines = text.splitlines(keepends=True)
    for c in changes:
        start = next((i for i, line in enumerate(lines)
                      if re.match(r"  %s:\s*(#.*)?$" % re.escape(c.variant), line)), None)
        if start is None:
            raise MatrixError("matrix.yaml: variant %r not found to update" % c.variant)
        end = next((i for i in range(start + 1, len(lines))
                    if re.match(r"  \S", lines[i])), len(lines))
        for i in range(start + 1, end):
            if re.match(r"\s+%s:\s*\{" % re.escape(c.pin), lines[i]) and c.old.file in lines[i]:
                lines[i] = (lines[i].replace(c.old.file, c.new_file, 1)
                            .replace(c.old.sha256, c.new_sha256, 1))
                break
        else:
            raise MatrixError("matrix.yaml: variant %r has no one-line pin %s: {file: %s, ...} "
                              "to update" % (c.variant, c.pin, c.old.file))
    return "".join(lines)


def index_listing(variants: Sequence[Variant], ca_bundle: Optional[str] = None
                  ) -> Dict[str, List[sources.IndexFile]]:
    """Each pinned project's files on the package index, read once."""
    ctx = sources.ssl_context(ca_bundle)
    return {name: sources.index_files(name, ctx) for name in PIN_NAMES if variants}
