"""Create a Debian base image locally when no registry can provide it.

The Dockerfiles say ``FROM debian:<suite>-slim``.  Real users pull that tag
from a registry; on a machine that reaches only Debian's package archive we
make an equivalent image under the *same name* with ``debootstrap`` and
``docker import``, so the Dockerfiles never change.

No mirror host name is written anywhere: debootstrap uses its built-in
default, and the image's apt sources are derived at run time from the
sources debootstrap wrote (and, for the -updates/-security suites, from the
host's own apt configuration when the host is Debian).
"""

import os
import re
import shutil
import subprocess
import tempfile

from . import sources, text
from .heartbeat import Heartbeat

# Same spirit as the official -slim images: no docs, man pages or locales.
_DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""

_APT_CONF = """\
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
// As the official images: no package caches (/var/cache/apt/*.bin, about
// 100 MB) left in a layer by apt-get update.
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""


# Suites that have no -updates and -security companions.
ROLLING = ("sid", "unstable")


class BaseImageError(RuntimeError):
    pass


def parse_base(name):
    """``debian:bookworm-slim`` -> ``bookworm``; other names are not ours to make."""
    m = re.fullmatch(r"debian:([a-z]+)(-slim)?", name)
    if not m:
        raise BaseImageError(
            "cannot create %r locally: only debian:<suite>[-slim] bases can be "
            "made with debootstrap; pull it from a registry instead" % name)
    return m.group(1)


def _sources(rootfs, suite):
    """deb822 sources for the image: suite, suite-updates, suite-security."""
    written = open(os.path.join(rootfs, "etc/apt/sources.list")).read()
    m = re.search(r"^deb\s+(\S+)", written, re.M)
    main = m.group(1) if m else None
    security = next((u for u in sources.apt_source_uris()
                     if u.rstrip("/").endswith("/debian-security")), None)
    if not main:
        raise BaseImageError("debootstrap wrote no apt source in %s" % rootfs)
    # Unstable has no -updates or -security suite: its fixes land in sid itself.
    rolling = suite in ROLLING
    parts = ["Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n"
             "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
             % (main, suite if rolling else "%s %s-updates" % (suite, suite))]
    if security and not rolling:
        parts.append("Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n"
                     "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
                     % (security, suite))
    return "\n".join(parts)


def expired_release(rootfs, now=None):
    """The Valid-Until of the suite's Release that debootstrap fetched, when already past.

    A mirror frozen in time (a snapshot) serves a Release whose Valid-Until
    has passed; apt then refuses it, though debootstrap does not look.
    """
    import email.utils
    import glob
    import time
    for path in sorted(glob.glob(os.path.join(rootfs, "var/lib/apt/lists/*_InRelease"))
                       + glob.glob(os.path.join(rootfs, "var/lib/apt/lists/*_Release"))):
        with open(path, errors="replace") as f:
            m = re.search(r"^Valid-Until:\s*(.+)$", f.read(), re.M)
        if m:
            until = email.utils.parsedate_to_datetime(m.group(1).strip()).timestamp()
            if until < (now if now is not None else time.time()):
                return m.group(1).strip()
    return None


# Written only into a locally made base whose archive is a frozen snapshot.
_FROZEN_MIRROR_CONF = """\
// whiskey: this image was made locally from a Debian archive snapshot whose
// Release expired on %s; apt would refuse it.  A registry's image of the same
// name does not carry this file.
Acquire::Check-Valid-Until "false";
"""


def create(client, name, workdir=None, say=text.log):
    """debootstrap ``name``'s suite and import it as ``name``. Returns the image id.

    debootstrap takes minutes: a heartbeat says every 20 s that it is alive.
    """
    suite = parse_base(name)
    if shutil.which("debootstrap") is None:
        raise BaseImageError("debootstrap is not installed (apt-get install debootstrap)")
    tmp = tempfile.mkdtemp(prefix="whiskey-rootfs-", dir=workdir)
    rootfs = os.path.join(tmp, "rootfs")
    try:
        say("debootstrap --variant=minbase %s (takes a few minutes)" % suite)
        with Heartbeat(say, "debootstrap %s" % suite, every=20) as beat:
            proc = subprocess.Popen(["debootstrap", "--variant=minbase", suite, rootfs],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                beat.note(line)
            if proc.wait() != 0:
                raise BaseImageError("debootstrap %s failed with exit status %d; its last line: %s"
                                     % (suite, proc.returncode, beat.latest))
        with open(os.path.join(rootfs, "etc/apt/sources.list.d/debian.sources"), "w") as f:
            f.write(_sources(rootfs, suite))
        os.remove(os.path.join(rootfs, "etc/apt/sources.list"))
        with open(os.path.join(rootfs, "etc/dpkg/dpkg.cfg.d/docker-slim"), "w") as f:
            f.write(_DPKG_EXCLUDES)
        with open(os.path.join(rootfs, "etc/apt/apt.conf.d/docker-slim"), "w") as f:
            f.write(_APT_CONF)
        expired = expired_release(rootfs)
        if expired:
            say("warning: the archive's %s Release expired on %s (a frozen snapshot); the local "
                "%s skips apt's Valid-Until check" % (suite, expired, name))
            with open(os.path.join(rootfs, "etc/apt/apt.conf.d/whiskey-frozen-mirror"), "w") as f:
                f.write(_FROZEN_MIRROR_CONF % expired)
        subprocess.run(["chroot", rootfs, "sh", "-c",
                        "apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/*.log "
                        "/usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*"],
                       check=True)
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", rootfs, "-c", "."],
                               stdout=subprocess.PIPE)
        repo, tag = name.split(":")
        client.api.import_image_from_stream(
            tar.stdout, repository=repo, tag=tag,
            changes=['CMD ["bash"]'])
        if tar.wait() != 0:
            raise BaseImageError("tar of %s failed" % rootfs)
        say("imported %s" % name)
        return client.images.get(name).id
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def image_id(client, name):
    """The engine's id of image ``name``, or None when it has none."""
    import docker.errors
    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        return None


def digest(client, name):
    """What identifies base image ``name``: the registry's digest it was pulled by,
    else (made here, never pulled) its image id; "" when the engine has no such image.

    Recorded in every image (org.opencontainers.image.base.digest), so that
    `./build.py outdated` can tell when the base has moved since.
    """
    import docker.errors
    try:
        image = client.images.get(name)
    except docker.errors.ImageNotFound:
        return ""
    pulled = [d.split("@", 1)[1] for d in image.attrs.get("RepoDigests") or [] if "@" in d]
    return pulled[0] if pulled else image.id


def refresh(client, name, log=text.log, pull=True):
    """Get ``name`` anew: pull it, else (or with pull=False) debootstrap it.

    Returns "pulled" or "created".
    """
    import docker.errors
    if pull:
        try:
            log("pulling %s" % name)
            client.images.pull(name)
            return "pulled"
        except docker.errors.APIError as exc:
            log("cannot pull %s (%s); creating it locally with debootstrap"
                % (name, str(exc).splitlines()[0][:200]))
    create(client, name, say=log)
    return "created"


def pull_would_change(client, name):
    """Why refresh() (what `build --pull` does) would give ``name`` another image id, or
    None when the registry's image is the one the engine has.  Nothing is pulled: the
    engine reads the registry's manifest digest only."""
    import docker.errors
    try:
        remote = client.images.get_registry_data(name).id
    except docker.errors.APIError as exc:
        return "%s cannot be pulled (%s), so debootstrap would make it anew" % (
            name, str(exc).splitlines()[0][:200])
    try:
        local = client.images.get(name).attrs.get("RepoDigests") or []
    except docker.errors.ImageNotFound:
        return "the engine has no %s: it would be pulled" % name
    if any(d.endswith("@" + remote) for d in local):
        return None
    return "the registry's %s (%s) is not the engine's: it would be pulled" % (name, remote[:19])


def ensure(client, name, log=text.log, pull=True):
    """Make sure the engine has ``name``: use it, else pull it, else debootstrap it.

    Returns how it was obtained: "present", "pulled" or "created".
    """
    if image_id(client, name) is not None:
        return "present"
    return refresh(client, name, log, pull)
