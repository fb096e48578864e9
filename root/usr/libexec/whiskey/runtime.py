"""S2I run for whiskey, after tini: prepare this start, run the deploy hooks, start
the server (server.py, in this same process).

In order: this UID's runtime directory (places.runtime_dir) is made and must have
room; a UID without a passwd entry (OpenShift's random ones) gets one;
.whiskey/user_vars/NAME files are copied to $WHISKEY_ENVDIR, the deploy-env hook
may change them, and each becomes environment variable NAME; the deploy hook
runs (migrations and the like: if it fails the container stops with its
output, rather than serve a half-migrated database); then server.main() (which
migrates a Django project the official builder's way: djangoapp.py).
Any failure before the server is one ``whiskey: ERROR:`` line and exit status 1.
"""

import os
import pwd
import re
import sys

import hooks
import places
import say
import server
from say import Failed

ENV = os.environ
NEEDED_KIB = 256  # Apache's configuration (about 60 KiB), pid and lock files, passwd, env
PASSWD = "/etc/passwd"


def runtime_dir():
    path = places.runtime_dir(ENV)
    try:
        if not os.path.isdir(path):
            os.makedirs(path)
    except OSError:
        raise Failed("cannot create %s: the container needs a writable $TMPDIR (default /tmp)"
                     % path)
    # A full /tmp fails here, in one line, not half-way through Apache's start.
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize // 1024
    if free < NEEDED_KIB:
        raise Failed("%s has %d KiB free, and starting needs about %d: give the container a "
                     "writable $TMPDIR (default /tmp) with room" % (path, free, NEEDED_KIB))
    ENV["WHISKEY_RUNTIME_DIR"] = path
    return path


def passwd_entry(runtime):
    """An arbitrary UID has no passwd entry: give it one, so that tools that look the
    user up (whoami, ssh, getpass, psql) work.  The image makes /etc/passwd writable by
    group 0 (and has no setuid program that could turn a planted entry into root), so
    the entry goes there and every process sees it, `docker exec` and `oc rsh`
    included.  With a read-only root file system, nss_wrapper gives it to the server
    and the hooks: the preload it needs, or ''."""
    try:
        pwd.getpwuid(os.getuid())
        return ""
    except KeyError:
        pass
    entry = ("whiskey:x:%d:%d:whiskey application user:%s:/bin/bash" % (
        os.getuid(), os.getgid(), ENV.get("HOME", ""))).encode("utf-8")
    with open(PASSWD, "rb") as f:
        others = [line for line in f.read().splitlines() if not line.startswith(b"whiskey:")]
    text = b"\n".join(others + [entry]) + b"\n"
    if os.access(PASSWD, os.W_OK):
        with open(PASSWD, "wb") as f:  # the file is writable, its directory is not
            f.write(text)
        return ""
    wrapped = os.path.join(runtime, "passwd")
    with open(wrapped, "wb") as f:
        f.write(text)
    ENV["NSS_WRAPPER_PASSWD"], ENV["NSS_WRAPPER_GROUP"] = wrapped, "/etc/group"
    import glob  # what follows is rare: the start imports only what it uses
    preload = " ".join(sorted(glob.glob("/usr/lib/*/libnss_wrapper.so")))
    # Added to a preload given with docker run -e, never replacing it.
    ENV["LD_PRELOAD"] = (ENV.get("LD_PRELOAD", "") + " " + preload).strip()
    return preload


def user_vars(runtime, preload):
    """.whiskey/user_vars/NAME -> environment variable NAME (the file's contents, without
    trailing newlines).  deploy-env may add, change or remove files in $WHISKEY_ENVDIR
    first; what is there then is what the server sees."""
    envdir = os.path.join(runtime, "env")
    source = places.whiskey_file(places.app_src(ENV), "user_vars")
    if os.path.lexists(envdir) or os.path.isdir(source):
        import shutil  # here: most starts have neither (BENCHMARKS.md, cold start)
        shutil.rmtree(envdir, ignore_errors=True)
    if os.path.isdir(source):
        shutil.copytree(source, envdir, symlinks=True)
    else:
        os.makedirs(envdir)
    ENV["WHISKEY_ENVDIR"] = envdir
    hooks.run(places.app_src(ENV), "deploy-env")
    for name in sorted(os.listdir(envdir)):
        path = os.path.join(envdir, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            say.warn("user_vars/%s is not a valid variable name; ignored" % name)
            continue
        with open(path, "rb") as f:
            value = f.read().rstrip(b"\n").replace(b"\0", b"")
        if name == "LD_PRELOAD" and preload:
            # nss_wrapper (passwd_entry) stays preloaded after the app's own.
            value = (value + b" " + preload.encode()).strip()
        if sys.version_info[0] > 2:  # any bytes, as os.environ holds them
            value = value.decode(sys.getfilesystemencoding(), "surrogateescape")
        ENV[name] = value


def main(argv):
    try:
        os.chdir(places.app_src(ENV))
        runtime = runtime_dir()
        user_vars(runtime, passwd_entry(runtime))
        hooks.run(places.app_src(ENV), "deploy")
    except Failed as exc:
        say.error(str(exc))
        return 1
    return server.main(argv)
