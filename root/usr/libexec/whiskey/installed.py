"""What a build installed, handed on whole to the next incremental build.

When requirements.txt is unchanged, the next build needs exactly the
distributions this one installed.  Instead of running pip again on the saved
wheels (most of an incremental build's time), it can take the installed files
themselves, once each is checked against its distribution's RECORD.

``python installed.py before``
    print the distributions (``*.dist-info`` / ``*.egg-info``) already in
    site-packages: the image's own, before this build installs anything.
``python installed.py record APP_ROOT BEFORE STAMP``
    print a manifest of the files of every distribution installed since BEFORE:
    the stamp on the first line, then each path relative to APP_ROOT.  Prints
    nothing (and exits 3) when a distribution of BEFORE went away or changed
    (the app pinned another version of one of the image's own): such a build
    is not handed on this way.
``python installed.py adopt SAVED APP_ROOT MANIFEST STAMP``
    move the manifest's files from SAVED (save-artifacts' tree) into APP_ROOT,
    if the manifest's stamp is STAMP, every file is there and every file with a
    hash in its RECORD matches it; otherwise change nothing, say why on stderr
    and exit 1.  Prints how many distributions were adopted.

Runs on every interpreter whiskey ships (2.7, 3.3 to 3.x): standard library only.
"""

import base64
import hashlib
import os
import shutil
import sys
import sysconfig

STAMP_PREFIX = "# stamp "


def site_packages():
    return sysconfig.get_paths()["purelib"]


def distributions(site):
    return sorted(n for n in os.listdir(site) if n.endswith((".dist-info", ".egg-info")))


def _record(site, dist):
    """[(path relative to site, (algorithm, digest) or None)] from a dist-info's RECORD.

    The algorithm's name is matched in any case: wheels built on Python 2 write
    SHA256= where pip writes sha256=."""
    path = os.path.join(site, dist, "RECORD")
    out = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\r\n").rsplit(",", 2)
            if len(parts) != 3 or not parts[0]:
                continue
            name, hashed = parts[0].strip('"'), parts[1]
            algorithm, _, digest = hashed.partition("=")
            out.append((name, (algorithm.lower(), digest) if digest else None))
    return out


def _relative(app_root, site, name):
    full = os.path.normpath(os.path.join(site, name))
    rel = os.path.relpath(full, app_root)
    if rel.startswith(".."):
        raise ValueError("%s lies outside %s" % (full, app_root))
    return rel


def record(app_root, before, stamp):
    """The manifest lines (stamp first), or None when the image's own set changed."""
    site = site_packages()
    now = distributions(site)
    if not set(before) <= set(now):
        return None
    lines = [STAMP_PREFIX + stamp]
    for dist in now:
        if dist in before:
            continue
        if not dist.endswith(".dist-info") or not os.path.exists(os.path.join(site, dist, "RECORD")):
            return None  # not installed from a wheel: nothing to check it against
        for name, _ in _record(site, dist):
            lines.append(_relative(app_root, site, name))
    return lines


def _digest(path, algorithm):
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise ValueError("%s is hashed with %s, which is not checked here" % (path, algorithm))
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")


def adopt(saved, app_root, manifest, stamp):
    """Move the saved installed files into app_root; the number of distributions."""
    with open(manifest) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if not lines or lines[0] != STAMP_PREFIX + stamp:
        raise ValueError("they were installed for another requirements.txt or Python")
    paths = lines[1:]
    for rel in paths:
        if not os.path.isfile(os.path.join(saved, rel)) and not os.path.islink(os.path.join(saved, rel)):
            raise ValueError("%s was not saved" % rel)
    site = site_packages()
    site_rel = os.path.relpath(site, app_root)
    saved_site = os.path.join(saved, site_rel)
    dists = sorted(set(rel[len(site_rel) + 1:].split(os.sep)[0] for rel in paths
                       if rel.startswith(site_rel + os.sep)
                       and rel.endswith(".dist-info" + os.sep + "RECORD")))
    for dist in dists:
        for name, hashed in _record(saved_site, dist):
            if hashed is None:
                continue
            rel = _relative(app_root, site, name)
            if _digest(os.path.join(saved, rel), hashed[0]) != hashed[1]:
                raise ValueError("%s does not match its RECORD" % rel)
    _place(saved, app_root, paths)
    return len(dists)


def _place(saved, app_root, paths):
    """Every path from saved into app_root, or none: renamed where the saved tree
    may be changed (s2i unpacks it as the assemble user), else copied; what was
    done is undone on the first failure."""
    for rel in paths:
        parent = os.path.dirname(os.path.join(app_root, rel))
        if not os.path.isdir(parent):
            os.makedirs(parent)
    done = []
    try:
        for rel in paths:
            os.rename(os.path.join(saved, rel), os.path.join(app_root, rel))
            done.append(rel)
        return
    except OSError:
        for rel in reversed(done):
            os.rename(os.path.join(app_root, rel), os.path.join(saved, rel))
    copied = []
    try:
        for rel in paths:
            shutil.copy2(os.path.join(saved, rel), os.path.join(app_root, rel))
            copied.append(rel)
    except (IOError, OSError):
        for rel in copied:
            os.remove(os.path.join(app_root, rel))
        raise


def main(argv):
    try:
        if argv[:1] == ["before"] and len(argv) == 1:
            print("\n".join(distributions(site_packages())))
            return 0
        if argv[:1] == ["record"] and len(argv) == 4:
            with open(argv[2]) as f:
                before = [line.strip() for line in f if line.strip()]
            lines = record(argv[1], before, argv[3])
            if lines is None:
                return 3
            print("\n".join(lines))
            return 0
        if argv[:1] == ["adopt"] and len(argv) == 5:
            print(adopt(argv[1], argv[2], argv[3], argv[4]))
            return 0
    except (IOError, OSError, ValueError) as exc:
        sys.stderr.write("whiskey: the installed distributions of the previous build are not "
                         "reused: %s\n" % exc)
        return 1
    sys.stderr.write("usage: installed.py before | record APP_ROOT BEFORE STAMP"
                     " | adopt SAVED APP_ROOT MANIFEST STAMP\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
