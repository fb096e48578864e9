"""The wheels an incremental build hands on, checked before they are trusted.

``python wheelhouse.py restore SAVED WHEELHOUSE`` copies what save-artifacts
kept from the previous image (SAVED, /tmp/artifacts/wheels) into the
wheelhouse, except wheels that are damaged: not a zip, a member whose CRC
does not match, no ``*.dist-info/RECORD``, or a member that is not in it or
does not match its hash there.  Each one dropped is named in a
warning and is fetched or built again by this build, as if it had never been
saved; the requirements stamp goes with it, so the build cannot take the
offline path on a wheelhouse that lacks a wheel.  Prints how many wheels were
restored.

Runs on every interpreter whiskey ships (2.7, 3.3 to 3.x): standard library only.
"""

import os
import shutil
import zipfile
import zlib

import installed

STAMP = ".requirements"  # assemble's "requirements.txt unchanged" stamp


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


def restore(saved, wheelhouse, warn):
    """Copy saved into wheelhouse, dropping damaged wheels; (restored, dropped) counts."""
    if not os.path.isdir(wheelhouse):
        os.makedirs(wheelhouse)
    restored = dropped = 0
    names = sorted(os.listdir(saved))
    for name in names:
        path = os.path.join(saved, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue  # a link could name any file of this image
        if name.endswith(".whl"):
            why = damage(path)
            if why:
                warn("the saved wheel %s is damaged (%s): dropped, it is fetched or built again"
                     % (name, why))
                dropped += 1
                continue
            restored += 1
        shutil.copyfile(path, os.path.join(wheelhouse, name))
    if dropped and os.path.exists(os.path.join(wheelhouse, STAMP)):
        os.remove(os.path.join(wheelhouse, STAMP))
    return restored, dropped
