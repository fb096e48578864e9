"""The environment variables whiskey reads, read here and nowhere else.

| variable | meaning | default |
|---|---|---|
| WHISKEY_REPOSITORY | image repository builds are tagged into | whiskey |
| WHISKEY_CA_BUNDLE | extra CA bundle for HTTPS fetches and app builds' pip | none (tests: the host's) |
| WHISKEY_SOURCE_CACHE | where verified source files are kept | ~/.cache/whiskey/sources |
| WHISKEY_VARIANTS | comma-separated variants the behaviour suite tests | every variant |
| WHISKEY_REGISTRY_USER, WHISKEY_REGISTRY_PASSWORD | credentials `push` logs in with | the engine's own |
| PIP_INDEX_URL | the package index pins are fetched from | pip's configured index |
| WHISKEY_SOURCE_URL | repository URL images are labelled with | `origin` if an https URL |
| WHISKEY_DEBIAN_MIRROR | the Debian archive `update` reads suites' Packages from | the host's apt mirrors |
| TERM | `dumb`: no live status lines redrawn in place, even on a terminal | the terminal's |
"""

from __future__ import annotations

import os
from typing import List, Mapping, Optional

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _get(name: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


def repository() -> str:
    return _get("WHISKEY_REPOSITORY") or "whiskey"


def ca_bundle(explicit: Optional[str] = None) -> Optional[str]:
    """An extra CA bundle: the command line's, else $WHISKEY_CA_BUNDLE, else none."""
    return explicit or _get("WHISKEY_CA_BUNDLE")


def ca_bundle_for_app_builds() -> Optional[str]:
    """The CA bundle app builds mount for pip: $WHISKEY_CA_BUNDLE, else the host's."""
    return ca_bundle() or (SYSTEM_CA_BUNDLE if os.path.exists(SYSTEM_CA_BUNDLE) else None)


def source_cache() -> str:
    return _get("WHISKEY_SOURCE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "whiskey", "sources")


def test_variants() -> List[str]:
    return [n.strip() for n in (_get("WHISKEY_VARIANTS") or "").split(",") if n.strip()]


def registry_credentials(environ: Optional[Mapping[str, str]] = None):
    """(user, password), either possibly None."""
    return _get("WHISKEY_REGISTRY_USER", environ), _get("WHISKEY_REGISTRY_PASSWORD", environ)


def package_index() -> Optional[str]:
    return _get("PIP_INDEX_URL")


def terminal_redraws() -> bool:
    """Whether a terminal may be redrawn in place (cursor movement): not when TERM=dumb."""
    return _get("TERM") != "dumb"


def debian_mirror() -> Optional[str]:
    return _get("WHISKEY_DEBIAN_MIRROR")


def source_url(origin: Optional[str] = None) -> Optional[str]:
    """$WHISKEY_SOURCE_URL, else the git remote `origin` given when it is an https URL."""
    explicit = _get("WHISKEY_SOURCE_URL")
    if explicit:
        return explicit
    if origin and origin.startswith("https://"):
        return origin[:-len(".git")] if origin.endswith(".git") else origin
    return None
