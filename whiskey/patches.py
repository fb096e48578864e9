"""The patches whiskey carries to a pinned mod_wsgi sdist: patches/<the sdist's
file name without .tar.gz>.patch, applied with `patch -p1` in the build stage
(templates/Dockerfile.j2).  Each begins with what it changes, why, what was
measured, and its state upstream."""

from __future__ import annotations

import os
from typing import Optional

from .matrix import ROOT, Variant

PATCHES = os.path.join(ROOT, "patches")


def mod_wsgi_patch(variant: Variant, patches: str = PATCHES) -> Optional[str]:
    """The build-context path of the patch to variant's mod_wsgi, or None."""
    stem = variant.pins["mod_wsgi"].file
    if stem.endswith(".tar.gz"):
        stem = stem[:-len(".tar.gz")]
    name = stem + ".patch"
    return "patches/" + name if os.path.isfile(os.path.join(patches, name)) else None
