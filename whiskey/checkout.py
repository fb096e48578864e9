"""What this checkout is, from git: its commit, its origin, its version."""

from __future__ import annotations

import subprocess
from typing import Optional

from .matrix import ROOT


def _git(*args: str) -> Optional[str]:
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def revision() -> str:
    """The commit checked out (images are labelled with it), or "unknown"."""
    return _git("rev-parse", "HEAD") or "unknown"


def origin() -> Optional[str]:
    """The URL of the remote `origin`, if any."""
    return _git("remote", "get-url", "origin")


def version() -> str:
    """`git describe`: the latest tag and the commits since, or the commit alone while
    there is no tag; -dirty with uncommitted changes.  There is no other version."""
    return _git("describe", "--tags", "--always", "--dirty") or "unknown (not a git checkout)"
