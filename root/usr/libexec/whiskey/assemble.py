"""S2I assemble for whiskey, in one Python process (/usr/libexec/s2i/assemble runs it).

In order: the application source is put in place; the Python it declares is
checked against this image's; the wheels the previous build saved are restored
(s2i --incremental); the pre-build hook runs; the dependencies are installed
from the one file that decides them (layout.kind: a lock, requirements.txt, or
the project's own pyproject.toml / setup.py); the build hook runs; the
application's own modules are byte-compiled; the result is made writable by
group 0 and checked for setuid and setgid files.

pip and the hooks run as child processes; everything else (reading locks and
declarations, checking and installing saved wheels) runs here.  Any failure
ends the build with one ``whiskey: ERROR:`` line and exit status 1.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import djangoapp
import hooks
import installed
import layout
import locks
import official
import places
import say
import server
import wheelhouse
from say import Failed

APP_ROOT = places.app_root(os.environ)
APP_SRC = places.app_src(os.environ)
WHEELHOUSE = places.wheelhouse(os.environ)  # save-artifacts hands it on
SOURCE = "/tmp/src"
ARTIFACTS = "/tmp/artifacts"
CA_DIR = "/run/secrets/whiskey-ca"
SETID_ROOT = "/"  # where no setuid or setgid file may be after the build


def pip(args, failed, env=None):
    """Run this environment's pip; Failed(failed) when it fails."""
    if subprocess.call([os.path.join(os.path.dirname(sys.executable), "pip")] + args,
                       env=env) != 0:
        raise Failed(failed)


def extra_ca_bundle():
    """pip's own CA bundle plus the certificates mounted in CA_DIR, as a temporary file
    for this build only (PIP_CERT), or None when none are mounted."""
    if not os.path.isdir(CA_DIR):
        return None
    found = sorted(f for f in os.listdir(CA_DIR) if f.endswith((".pem", ".crt")))
    if not found:
        return None
    from pip._vendor import certifi
    fd, bundle = tempfile.mkstemp()
    with os.fdopen(fd, "wb") as out:
        for path in [certifi.where()] + [os.path.join(CA_DIR, f) for f in found]:
            with open(path, "rb") as f:
                out.write(f.read())
    say.step("Using extra CA certificates from %s for pip" % CA_DIR)
    return bundle


def build_wheels(what, pip_args, pinned=None):
    """A wheel for everything pip_args resolve to, into the wheelhouse that
    save-artifacts hands to the next build (replacing what was there: no stale
    versions pile up), saying per distribution what was reused, downloaded or
    compiled (wheelhouse.says).  pip's own cache is not used (it would only add a
    second copy to the image).

    With hash pins (`pinned`), pip checks every file it takes against them,
    saved wheels included: only a saved wheel whose hash is pinned (one from the
    index) is offered; one compiled by an earlier build cannot match its sdist's
    hash and is compiled again."""
    say.step("Building wheels for %s" % what)
    fresh = tempfile.mkdtemp()
    links = WHEELHOUSE
    if pinned:
        links = tempfile.mkdtemp()
        for name in wheelhouse.wheels(WHEELHOUSE):
            if installed.sha256_of(os.path.join(WHEELHOUSE, name)) in pinned:
                shutil.copyfile(os.path.join(WHEELHOUSE, name), os.path.join(links, name))
            else:
                say.step("Not reused: %s (requirements.txt pins hashes, and this wheel's is not "
                         "among them)" % name)
    pip(["wheel", "--no-cache-dir", "--find-links", links, "--wheel-dir", fresh] + pip_args,
        "pip could not build %s (its message is above)" % what)
    wheelhouse.says(WHEELHOUSE, fresh, say.step)
    if links != WHEELHOUSE:
        shutil.rmtree(links, ignore_errors=True)
    shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    shutil.move(fresh, WHEELHOUSE)  # a rename: the same file system, nothing written twice
    os.chmod(WHEELHOUSE, 0o775)  # mkdtemp made it 0700


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def install_requirements(manifest, before):
    """requirements.txt: the previous build's install repeated without pip when it and
    the interpreter are unchanged (installed.py); else pip, offered the saved wheels."""
    requirements = "requirements.txt"
    # pip-compile --generate-hashes and the like: pip's hash-checking mode.
    pinned = installed.requirement_hashes(requirements)
    source = wheelhouse.source(requirements)
    why = wheelhouse.why_not_repeated(manifest, source)
    entries = manifest.get("installed") if why is None else None
    if entries is not None:
        try:
            installed.install(WHEELHOUSE, entries, pinned, checked=manifest["checked"])
        except installed.REFUSALS as exc:
            say.warn("the saved wheels are not installed without pip: %s" % exc)
            entries = None
    if entries is not None:
        for name, _ in entries:
            say.step("Reused: %s (requirements.txt unchanged)" % name)
        say.step("requirements.txt is unchanged since the previous build: its %d saved "
                 "wheels are installed without pip, each file checked against its "
                 "wheel's RECORD" % len(entries))
    else:
        offline = manifest.get("source") == source and not manifest.get("damaged") \
            and not pinned
        if offline:
            say.step("requirements.txt is unchanged since the previous build: pip installs "
                     "its saved wheels without the network (%s)"
                     % (why or "they are not installed without pip"))
        else:
            if manifest:
                say.step("Not repeating the previous build's install: %s" % why)
            # A saved wheel that does not match a pin is made again, not installed unchecked.
            build_wheels("requirements.txt", ["-r", requirements], pinned)
        # The wheels were built honouring --no-binary/--only-binary; installing them
        # must not be refused by those same lines (nor by PIP_NO_BINARY and the like:
        # wheelhouse.installing_env).  Nor by hash pins: each wheel was
        # made in this build from files pip checked against them (a wheel compiled
        # from a pinned sdist has a hash of its own).
        with open(requirements) as f:
            lines = [re.sub(r"--hash[=\s]+\w+:[0-9a-fA-F]+", "", line) for line in f
                     if not re.match(r"\s*--(no-binary|only-binary|prefer-binary)", line)]
        fd, installable = tempfile.mkstemp()
        with os.fdopen(fd, "w") as out:
            out.writelines(lines)
        say.step("Installing requirements.txt")
        try:
            pip(["install", "--no-cache-dir", "--no-index", "--find-links", WHEELHOUSE,
                 "-r", installable], "pip install -r requirements.txt failed (its message is above)",
                env=wheelhouse.installing_env())
        finally:
            remove(installable)
    # What this build installed, for the next incremental build to repeat.
    entries, not_repeatable = installed.record(WHEELHOUSE, before)
    if entries is not None and not installed.names_only_by_name(requirements):
        entries, not_repeatable = None, ("requirements.txt names a directory, file or URL, or "
                                         "another requirements file")
    wheelhouse.save(WHEELHOUSE, source, entries, not_repeatable)


def install_project():
    # pyproject.toml (any build backend) or setup.py: the project is built into a
    # wheel with its dependencies (saved wheels are reused for those whose versions
    # did not change), then exactly that set is installed.
    build_wheels("the project (pyproject.toml / setup.py)", ["."])
    say.step("Installing the project and its dependencies")
    wheels = sorted(os.path.join(WHEELHOUSE, f) for f in os.listdir(WHEELHOUSE)
                    if f.endswith(".whl"))
    pip(["install", "--no-cache-dir", "--no-index", "--find-links", WHEELHOUSE] + wheels,
        "pip could not install the project (its message is above)", env=wheelhouse.installing_env())
    wheelhouse.save(WHEELHOUSE, None, None, "a project is built and installed by pip every time")


def say_mod_wsgi(image, now, asked):
    """An application that asks for mod_wsgi (a pin in its requirements) is told which one
    serves it, and warned when that is not the image's version."""
    ours = (image or ("none",))[0]
    if now == image:
        if asked:
            say.step("mod_wsgi %s, this image's own, serves the application (it satisfies what "
                     "the application asks for)" % ours)
        return
    if now is None:
        say.warn("the build removed mod_wsgi (this image's is %s): the server cannot start "
                 "without it" % ours)
    elif now[0] == ours:
        say.step("mod_wsgi %s, installed again by the application, serves it: the same "
                 "version as this image's" % now[0])
    else:
        say.warn("mod_wsgi %s, installed by the application, serves it instead of this "
                 "image's %s, with which whiskey is tested" % (now[0], ours))


def compile_source(top):
    """Byte code for the application's own modules, made by the build: a start
    imports them in every new container, and would compile each one there
    again (BENCHMARKS.md, the cold start).  A file this Python cannot compile
    (a script for another version, a template) stays source, silently, as it
    would have at start, and warnings are not said, as pip does not say its
    own while compiling; node_modules and .git are left alone."""
    import compileall
    import warnings
    saved = sys.stdout
    sys.stdout = open(os.devnull, "w")  # before 3.5 it prints what it cannot compile
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compileall.compile_dir(top, quiet=1, rx=re.compile(r"/(node_modules|\.git)/"))
    finally:
        sys.stdout.close()
        sys.stdout = saved


def setid_files(top):
    """Up to five setuid or setgid files under top, on its file system."""
    out = subprocess.Popen(["find", top, "-xdev", "-type", "f", "-perm", "/6000", "-print"],
                           stdout=subprocess.PIPE, stderr=open(os.devnull, "w")).communicate()[0]
    return out.decode("utf-8", "replace").split()[:5]


def assemble():
    if not os.path.isdir(SOURCE) or not os.listdir(SOURCE):
        raise Failed("the application source is empty: nothing was uploaded to /tmp/src (check "
                     "the source directory and --context-dir)")
    say.step("Installing application source into %s" % APP_SRC)
    if subprocess.call(["cp", "-Rf", SOURCE + "/.", APP_SRC + "/"]) != 0:
        raise Failed("cannot copy the application source into %s (cp's message is above)"
                     % APP_SRC)
    shutil.rmtree(SOURCE, ignore_errors=True)
    os.chdir(APP_SRC)

    # The Python the application declares must be this image's: fail now, not after
    # minutes of pip, naming the file and the variants that would do.
    try:
        layout.check_python(APP_SRC, platform.python_version(), os.environ)
    except layout.Mismatch as exc:
        raise Failed(str(exc))
    except (ValueError, IOError, OSError) as exc:  # a file that cannot be read as TOML
        raise Failed("cannot read the application's declarations: %s" % exc)

    # Wheels saved by save-artifacts from the previous image (s2i --incremental); each
    # is checked first: a damaged one is dropped and made again (wheelhouse.py).
    if not os.path.isdir(WHEELHOUSE):
        os.makedirs(WHEELHOUSE)
    saved = os.path.join(ARTIFACTS, "wheels")
    manifest = {}
    if os.path.isdir(saved):
        try:
            manifest = wheelhouse.restore(saved, WHEELHOUSE, say.warn)
        except (IOError, OSError) as exc:
            raise Failed("cannot restore the wheels saved by the previous build: %s" % exc)
        say.step("Restoring %d wheels from the previous build" % len(manifest["checked"]))

    hooks.run(APP_SRC, "pre-build")

    # Extra CAs for pip (TLS-inspecting proxies, corporate CAs): certificates mounted at
    # build time are added to pip's own bundle for this build only; nothing of them is
    # kept in the image.
    bundle = extra_ca_bundle()
    if bundle:
        os.environ["PIP_CERT"] = bundle
    try:
        install(manifest)
    finally:
        if bundle:
            remove(bundle)


def install(manifest):
    """Install what the application's dependency file says (manifest: what the previous
    build handed on, wheelhouse.restore), then run the build hook and check the result."""
    try:
        kind = layout.kind(APP_SRC)
        for warning in layout.unused(APP_SRC, os.environ):
            say.warn(warning)
    except layout.Mismatch as exc:
        raise Failed(str(exc))
    except (ValueError, IOError, OSError) as exc:
        raise Failed("cannot read the application's declarations: %s" % exc)
    # The image's own distributions, before this build installs any (installed.py).
    before = installed.distributions(installed.site_packages())
    serving = installed.mod_wsgi(installed.site_packages())
    if kind == "lock":
        # pylock.toml, uv.lock, poetry.lock or Pipfile.lock: locks.py installs exactly
        # what it pins, hash-checked, reusing the saved wheels that match.
        locks.install(APP_SRC, WHEELHOUSE, os.environ, manifest)
    elif kind == "requirements":
        install_requirements(manifest, before)
    elif kind == "project":
        install_project()

    # What the previous build handed on has been taken: it must not stay in this image
    # (s2i unpacked it as this user, so it can go).
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    hooks.run(APP_SRC, "build")
    # After the hook, which may make assets for it; a Django project's only, and only
    # when whiskey's own settings do not name the application (djangoapp.py).
    try:
        whiskey = server.whiskey_names_app(os.environ, APP_SRC)
    except server.ServerArgsError as exc:
        raise Failed(str(exc))
    if not whiskey:
        djangoapp.collect_static(os.environ, official.app_home(os.environ, APP_SRC), APP_SRC)
    asked = any((wheelhouse.name_version(n) or ("",))[0] == "mod-wsgi"
                for n in wheelhouse.wheels(WHEELHOUSE))
    say_mod_wsgi(serving, installed.mod_wsgi(installed.site_packages()), asked)

    line, warning = server.what_starts(os.environ, APP_SRC)
    (say.warn if warning else say.step)("At start, with this build's environment: " + line)
    compile_source(APP_SRC)

    # Let any UID in group 0 (OpenShift's random UIDs) write what this build made.
    subprocess.call(["find", APP_ROOT, "-user", str(os.getuid()), "!", "-perm", "-g+w",
                     "-exec", "chmod", "g+rwX", "{}", "+"], stderr=open(os.devnull, "w"))
    # The images keep no setuid or setgid file (a group-writable /etc/passwd plus one
    # is a way to root), and no build may add one.
    found = setid_files(SETID_ROOT)
    if found:
        raise Failed("setuid or setgid files after the build: %s (refused: the image must "
                     "hold none)" % " ".join(found))
    say.step("Application assembled")


def main():
    try:
        assemble()
    except Failed as exc:
        say.error(str(exc))
        return 1
    return 0
