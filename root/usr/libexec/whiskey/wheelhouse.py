"""What one build hands to the next (s2i --incremental), and what the next takes.

The wheelhouse (APP_ROOT/var/wheels) holds a wheel for every distribution the
build installed, and one manifest, MANIFEST (JSON)::

    {"interpreter": "3.11.2 linux ",          # wheels of another one are not reused
     "source": "requirements.txt sha256:...",  # what decided the set (null: a project)
     "installed": [["numpy-2.3.5-....whl", true], ...],  # wheel, asked for by name
     "not_repeatable": null,                  # or why "installed" cannot be repeated
     "built": {"crcmod-1.7-....whl": "<sha256 of the sdist it was built from>"}}

save-artifacts streams the directory; restore() takes it back, wheel by wheel,
dropping any that is damaged; says() tells the build log, per distribution,
what was reused and, when the previous install is not repeated, why.  Which
saved wheel may be installed for what is decided where the install is:
assemble.py (requirements.txt), locks.py (a lock file), installed.py (the
unchanged install, repeated without pip).

Runs on every interpreter whiskey ships (2.7, 3.3 to 3.x): standard library only.
"""

import errno
import json
import os
import re
import shutil
import sys
import zipfile
import zlib

import installed
from tomlfile import TEXT

# pip's choices between wheels and sdists in the build's environment decide
# which wheels a build makes (as --no-binary and --only-binary lines in
# requirements.txt do); installing the wheels it made must not be refused by
# the same choice: PIP_NO_BINARY=lxml would refuse the lxml wheel just built.
BINARY_CHOICES = ("PIP_NO_BINARY", "PIP_ONLY_BINARY", "PIP_PREFER_BINARY")


def installing_env():
    """The environment for pip installing this build's wheels."""
    return dict((k, v) for k, v in os.environ.items() if k not in BINARY_CHOICES)


MANIFEST = ".manifest.json"


def interpreter():
    """What a saved wheel must have been made by to be reused."""
    return "%s %s %s" % (sys.version.split()[0], sys.platform, getattr(sys, "abiflags", ""))


def wheels(house):
    """The wheel file names in house, sorted."""
    if not os.path.isdir(house):
        return []
    return sorted(name for name in os.listdir(house) if name.endswith(".whl"))


def canonical(name):
    """PEP 503 name: 'Flask_Login' -> 'flask-login'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def name_version(filename):
    """('flask', '3.1.0') from 'flask-3.1.0-py3-none-any.whl'; None if not a wheel's name."""
    parts = filename[:-len(".whl")].split("-") if filename.endswith(".whl") else []
    if len(parts) < 5:
        return None
    return canonical(parts[0]), parts[1]


def compiled_here(filename):
    """A wheel tagged for this machine (not manylinux, not pure Python): compiled by a build."""
    return re.search(r"-linux_[^-]+\.whl$", filename) is not None


# -- the manifest ---------------------------------------------------------------------

def load(house):
    """The manifest in house, as written by this interpreter; {} when there is none,
    it cannot be read, or another interpreter wrote it."""
    try:
        with open(os.path.join(house, MANIFEST)) as f:
            manifest = json.load(f)
    except (IOError, OSError, ValueError):
        return {}
    if not isinstance(manifest, dict) or manifest.get("interpreter") != interpreter():
        return {}
    if not isinstance(manifest.get("source"), TEXT):
        manifest["source"] = None
    entries = manifest.get("installed")
    if not (isinstance(entries, list) and all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[0], TEXT)
            and installed.WHEEL_FILE.match(e[0]) and isinstance(e[1], bool) for e in entries)):
        manifest["installed"] = None
    if not isinstance(manifest.get("not_repeatable"), TEXT):
        manifest["not_repeatable"] = None
    built = manifest.get("built")
    if not (isinstance(built, dict) and all(isinstance(v, TEXT) for v in built.values())):
        manifest["built"] = {}
    return manifest


def save(house, source=None, entries=None, not_repeatable=None, built=None):
    """Write the manifest for this build (built: only for wheels still in house)."""
    present = set(wheels(house))
    with open(os.path.join(house, MANIFEST), "w") as f:
        json.dump({"interpreter": interpreter(), "source": source,
                   "installed": [list(e) for e in entries] if entries is not None else None,
                   "not_repeatable": not_repeatable,
                   "built": dict((k, v) for k, v in (built or {}).items() if k in present)},
                  f, indent=1, sort_keys=True)


def source(path):
    """What the manifest records of the file that decides the set."""
    return "%s sha256:%s" % (os.path.basename(path), installed.sha256_of(path))


def why_not_repeated(manifest, now):
    """Why the previous install is not repeated as it was (now: source() of this
    build's file), or None when it can be."""
    if not manifest.get("interpreter"):
        return "its wheels were saved by another Python, or without a manifest"
    if manifest.get("damaged"):
        return "a saved wheel was damaged"
    if manifest.get("source") != now:
        before = (manifest.get("source") or "its project").split(" sha256:")[0]
        now = now.split(" sha256:")[0]
        return ("%s changed since the previous build" % now if before == now
                else "the previous build installed from %s" % before)
    if manifest.get("installed") is None:
        return manifest.get("not_repeatable") or "the previous build's set is not known"
    return None


# -- restoring what the previous build saved --------------------------------------------

def damage(path):
    """Why the wheel at path cannot be used, or None when it is sound: every
    member must be listed in its RECORD and match its hash there (installed.py)."""
    try:
        with zipfile.ZipFile(path) as whl:
            installed.check(whl)
    except installed.Refused as exc:
        return str(exc)
    except (zipfile.BadZipfile, zlib.error, IOError, OSError, EOFError, ValueError,
            UnicodeError) as exc:
        return "it is not a readable zip file (%s)" % exc
    return None


def _move(source, target):
    """Rename (the saved files are this build's to take), or copy across file systems."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copyfile(source, target)


def restore(saved, house, warn):
    """Move the saved wheels and manifest into house, dropping damaged wheels (named in a
    warning: they are fetched or built again, as if never saved).  Returns the manifest
    (load()) with "checked", the wheels restored (every member checked), and "damaged",
    those dropped."""
    if not os.path.isdir(house):
        os.makedirs(house)
    checked, damaged = [], []
    for name in sorted(os.listdir(saved)):
        path = os.path.join(saved, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue  # a link could name any file of this image
        if name.endswith(".whl"):
            why = damage(path)
            if why:
                warn("the saved wheel %s is damaged (%s): dropped, it is fetched or built again"
                     % (name, why))
                damaged.append(name)
                continue
            checked.append(name)
        elif name != MANIFEST:
            continue
        _move(path, os.path.join(house, name))
    manifest = load(house)
    manifest.update(checked=checked, damaged=damaged)
    return manifest


# -- the build log ----------------------------------------------------------------------

def says(offered, fresh, say):
    """One line per distribution for the wheels pip put in fresh, offered the saved ones
    in offered: reused as saved, downloaded or compiled here (and why, when a saved wheel
    of it was not taken), and the saved wheels no longer wanted.  Offered nothing (a
    clean build), only what was compiled from source is named: the slow part."""
    saved = dict((name_version(n), n) for n in wheels(offered))
    saved_names = dict((key[0], n) for key, n in saved.items() if key)
    made = wheels(fresh)
    for name in made:
        key = name_version(name)
        if saved.get(key) == name and installed.sha256_of(os.path.join(offered, name)) \
                == installed.sha256_of(os.path.join(fresh, name)):
            say("Reused: %s (saved by the previous build)" % name)
            continue
        if not saved:
            if compiled_here(name):
                say("Compiled from source: %s" % name)
            continue
        before = saved_names.get(key[0]) if key else None
        because = ("the previous build saved %s" % before) if before else "none saved"
        what = "Compiled from source" if compiled_here(name) else "Downloaded"
        say("%s: %s (%s)" % (what, name, because))
    wanted = set(name_version(n)[0] for n in made if name_version(n))
    for key, name in sorted(saved.items()):
        if key and key[0] not in wanted:
            say("Dropped: %s (no longer required)" % name)


# -- save-artifacts ---------------------------------------------------------------------

def save_artifacts(house, out):
    """Write to out (s2i reads it from save-artifacts' stdout) a tar of the wheelhouse
    as wheels/: the wheels and the manifest, regular files only, nothing of the
    application and no installed file.  An empty tar when there is none."""
    import tarfile
    # GNU's format, as GNU tar writes it (and every Python's tarfile, 2.7's included).
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(os.listdir(house)) if os.path.isdir(house) else []:
            path = os.path.join(house, name)
            if (name.endswith(".whl") or name == MANIFEST) and os.path.isfile(path) \
                    and not os.path.islink(path):
                tar.add(path, arcname="wheels/" + name, recursive=False)
