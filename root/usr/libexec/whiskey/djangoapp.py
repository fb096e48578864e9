"""A Django project, as the official OpenShift Python builder treats one: found by its
manage.py, its static files collected at build and served by Apache, its database
migrated at start.  (Not named django.py: that would shadow Django itself.)

    settings   DJANGO_SETTINGS_MODULE from the environment, else the one manage.py sets
    served     its settings' WSGI_APPLICATION, else <package>/wsgi.py (official.py asks)
    build      manage.py collectstatic into STATIC_ROOT, unless DISABLE_COLLECTSTATIC is
               set; a project that cannot collect (no STATIC_ROOT, settings that need
               the deployment's environment) is built without them, in a warning that
               says why, as the official builder does
    start      STATIC_URL served from STATIC_ROOT by Apache (--url-alias), unless
               .whiskey/server_args aliases that URL itself; then manage.py migrate
               --noinput, unless DISABLE_MIGRATE is set or the application has a deploy
               hook (whiskey's place for it); a failed migration stops the start

The build hands the start what it collected in RECORD, in the application directory
(the runtime image receives that directory whole).
"""

import os
import re
import sys

import say
from places import whiskey_file
from say import Failed

RECORD = ".whiskey-static.json"
_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")
_WSGI_APPLICATION = re.compile(r"""^WSGI_APPLICATION\s*=\s*["']([\w.]+)["']""", re.M)

# Run in the project's directory with the application's Python: Django 1.7 and later.
# It writes {"url": STATIC_URL, "root": STATIC_ROOT} to argv[2], after collecting.
_COLLECT = """
import json, os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", sys.argv[1])
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
root = getattr(settings, "STATIC_ROOT", None)
if root and "django.contrib.staticfiles" in settings.INSTALLED_APPS:
    call_command("collectstatic", interactive=False, verbosity=1)
with open(sys.argv[2], "w") as f:
    json.dump({"url": settings.STATIC_URL, "root": root and os.path.abspath(root),
               "staticfiles": "django.contrib.staticfiles" in settings.INSTALLED_APPS}, f)
"""


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return ""


def settings_module(env, home):
    """The settings module of the Django project in home, or None when home has no
    manage.py (or it names none)."""
    if not os.path.isfile(os.path.join(home, "manage.py")):
        return None
    if env.get("DJANGO_SETTINGS_MODULE"):
        return env["DJANGO_SETTINGS_MODULE"]
    found = _SETTINGS.search(_read(os.path.join(home, "manage.py")))
    return found.group(1) if found else None


def wsgi(env, home):
    """(module, callable, how it was found) of the Django project in home, or None."""
    name = settings_module(env, home)
    if not name:
        return None
    declared = _WSGI_APPLICATION.search(_read(os.path.join(home, *name.split(".")) + ".py"))
    if declared and "." in declared.group(1):
        module, attribute = declared.group(1).rsplit(".", 1)
        return module, attribute, "WSGI_APPLICATION in %s, named by manage.py" % name
    module = name.rsplit(".", 1)[0] + ".wsgi" if "." in name else "wsgi"
    if os.path.isfile(os.path.join(home, *module.split(".")) + ".py"):
        return module, "application", "next to %s, named by manage.py" % name
    return None


def installed():
    """Whether this Python can import Django (without importing it)."""
    return any(os.path.isfile(os.path.join(path or os.curdir, "django", "__init__.py"))
               for path in sys.path)


def _project(env, home):
    name = settings_module(env, home)
    return name if name and installed() else None


def collect_static(env, home, src):
    """At build: manage.py collectstatic, and RECORD for the start (see above)."""
    record = os.path.join(src, RECORD)
    if os.path.lexists(record):
        os.remove(record)  # only this build's own
    name = _project(env, home)
    if not name:
        return
    if env.get("DISABLE_COLLECTSTATIC"):
        say.step("Not collecting Django's static files (DISABLE_COLLECTSTATIC is set)")
        return
    say.step("Collecting Django's static files (manage.py collectstatic, settings %s; "
             "DISABLE_COLLECTSTATIC=1 skips it)" % name)
    import subprocess
    import tempfile
    fd, answer = tempfile.mkstemp()
    os.close(fd)
    try:
        child = subprocess.Popen([sys.executable, "-c", _COLLECT, name, answer], cwd=home,
                                 stderr=subprocess.PIPE)
        errors = child.communicate()[1].decode("utf-8", "replace").strip().splitlines()
        if child.returncode != 0:
            say.warn("Django's static files are not collected, so not served: %s (python "
                     "manage.py collectstatic --noinput shows it all; the official builder "
                     "goes on too; DISABLE_COLLECTSTATIC=1 skips this step)"
                     % (errors[-1] if errors else "exit status %d" % child.returncode))
            return
        import json
        with open(answer) as f:
            found = json.load(f)
    finally:
        os.remove(answer)
    if not found.get("staticfiles"):
        say.step("Not collecting static files: django.contrib.staticfiles is not in "
                 "%s.INSTALLED_APPS" % name)
    elif not found.get("root") or not found.get("url"):
        say.warn("Django's static files are not collected, so not served: %s sets no "
                 "STATIC_ROOT or STATIC_URL (set them, and Apache serves STATIC_URL from STATIC_ROOT; "
                 "DISABLE_COLLECTSTATIC=1 silences this)" % name)
    else:
        with open(record, "w") as f:
            json.dump({"url": found["url"], "root": found["root"]}, f)


def _native(text):
    """A str of a JSON string on 2.7 too (json gives unicode there)."""
    return text if isinstance(text, str) else text.encode("utf-8")


def static_alias(args, src):
    """At start: the --url-alias options for what the build collected (said)."""
    try:
        with open(os.path.join(src, RECORD)) as f:
            import json  # here: a start without the record does without it
            found = json.load(f)
        url, root = _native(found["url"]), _native(found["root"])
    except (IOError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    if not url.startswith("/"):
        say.step("Django's STATIC_URL is %s: static files are served from there, not by "
                 "Apache" % url)
        return []
    url = url.rstrip("/") or "/"
    for i, word in enumerate(args[:-1]):
        if word == "--url-alias" and args[i + 1].rstrip("/") == url:
            say.step("Django's static files: .whiskey/server_args aliases %s itself" % url)
            return []
    if not os.path.isdir(root):
        say.warn("Django's STATIC_ROOT %s, collected at build, is not in this image: %s is "
                 "not served" % (root, url))
        return []
    say.step("Serving %s from %s with Apache (Django's STATIC_URL and STATIC_ROOT, collected "
             "at build)" % (url, root))
    return ["--url-alias", url, root]


def migrate(env, home, src):
    """At start: manage.py migrate --noinput, as the official builder runs it (see above)."""
    if not _project(env, home):
        return
    if env.get("DISABLE_MIGRATE"):
        say.step("Not running manage.py migrate (DISABLE_MIGRATE is set)")
        return
    if os.path.exists(whiskey_file(src, "action_hooks", "deploy")):
        say.step("Not running manage.py migrate: the deploy hook is the application's own "
                 "step for it")
        return
    say.step("Running manage.py migrate --noinput, as the official builder does at every "
             "start (DISABLE_MIGRATE=1 turns it off; with many replicas, migrate in a deploy "
             "hook or a Job instead)")
    import subprocess  # here: a start without Django does without it
    if subprocess.call([sys.executable, "manage.py", "migrate", "--noinput"], cwd=home) != 0:
        raise Failed("manage.py migrate --noinput failed (its output is above): not starting "
                     "on a database it could not migrate (DISABLE_MIGRATE=1 skips it)")
