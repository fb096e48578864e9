"""The settings of the official OpenShift Python builder (sclorg's s2i-python-container),
honoured, or refused in one line that says what whiskey does instead.

Apps written for that builder set them in .s2i/environment or the deployment:

    PORT               --port (as Heroku, Cloud Run and Knative set it too)
    WEB_CONCURRENCY    --processes (gunicorn's workers: each a process here as there)
    APP_MODULE         module:callable -> --application-type module --entry-point module
                       --callable-object callable
    APP_HOME           the app's directory under the source: --working-directory (on sys.path)
    APP_FILE           a Python file that is its own server: run with this Python, no Apache
    APP_SCRIPT         a script that starts the app: run, no Apache
    APP_CONFIG, GUNICORN_CMD_ARGS   gunicorn's own: not read, and said so

whiskey's own settings win (MOD_WSGI_*, .whiskey/server_args, the container's command): a
setting of the official builder that one of them overrides is named with the one that applies.

When nothing names the application, the official builder's conventions are looked for in
APP_HOME, in its order, and what is found is said (convention()):

    app.sh, app.py     a program that is its own server: run, no Apache
    wsgi.py            the module wsgi, callable application
    manage.py          a Django project: its settings' WSGI_APPLICATION, else
                       <package>/wsgi.py (djangoapp.py: its static files and migrate too)
"""

import os
import re
import sys

import djangoapp

# Official setting -> the whiskey settings that override it (environment or option).
_OVERRIDDEN_BY = {
    "PORT": ("MOD_WSGI_PORT", "--port"),
    "WEB_CONCURRENCY": ("MOD_WSGI_PROCESSES", "--processes"),
    "APP_HOME": ("MOD_WSGI_WORKING_DIRECTORY", "--working-directory"),
}
_ENTRY = ("MOD_WSGI_ENTRY_POINT", "MOD_WSGI_APPLICATION_TYPE")
_ENTRY_OPTIONS = ("--entry-point", "--application-type")
_MODULE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                     r"(?::([A-Za-z_][A-Za-z0-9_]*))?$")
GUNICORN_ONLY = ("APP_CONFIG", "GUNICORN_CMD_ARGS")


class Refused(ValueError):
    pass


def has_option(args, option):
    """Whether a mod_wsgi-express option list holds option (``--x v`` or ``--x=v``)."""
    return any(a == option or a.startswith(option + "=") for a in args)


def _named(env, args, overriders):
    """The whiskey setting among overriders that is set, or None."""
    for name in overriders:
        if name.startswith("--") and has_option(args, name):
            return name
        if not name.startswith("--") and env.get(name):
            return "%s=%s" % (name, env[name])
    return None


def explicit_entry(env, args, src):
    """The whiskey setting that names the application already, or None: an entry point
    from the environment or an option, or a word of the options that is a file of the
    application (mod_wsgi-express's positional script)."""
    found = _named(env, args, _ENTRY + _ENTRY_OPTIONS)
    if found:
        return found
    for word in args:
        if not word.startswith("-") and os.path.isfile(os.path.join(src, word)):
            return word
    return None


def server(env, args, src):
    """(APP_FILE's or APP_SCRIPT's command to run instead of Apache, or None; lines for
    the log).  Refused when one is set but is not there (as the official builder does)."""
    for name in ("APP_SCRIPT", "APP_FILE"):
        value = env.get(name)
        if not value:
            continue
        path = os.path.join(app_home(env, src), value)
        if not os.path.isfile(path):
            raise Refused("%s=%s: there is no such file in %s" % (name, value, app_home(env, src)))
        whiskey = explicit_entry(env, args, src)
        if whiskey:
            return None, ["%s=%s (the official builder's) is not run: %s (whiskey's) names the "
                          "application, which Apache serves" % (name, value, whiskey)]
        command = [sys.executable, path] if name == "APP_FILE" else [path]
        return command, ["%s=%s (the official builder's): running it as the server; Apache and "
                         "mod_wsgi are bypassed (to have them serve a WSGI application instead, "
                         "set APP_MODULE=module:callable)" % (name, value)]
    return None, []


_HOW = "to choose otherwise, set APP_MODULE=module:callable or --entry-point in .whiskey/server_args"


def convention(env, args, src):
    """(options, a command to run instead of Apache or None, lines for the log) from the
    official builder's conventions, when nothing names the application (see above)."""
    if explicit_entry(env, args, src) or any(env.get(n) for n in ("APP_MODULE", "APP_FILE",
                                                                     "APP_SCRIPT")):
        return [], None, []
    home = app_home(env, src)
    where = os.path.relpath(home, src)
    where = "the application" if where == "." else where
    for name in ("app.sh", "app.py"):
        path = os.path.join(home, name)
        if os.path.isfile(path):
            command = [sys.executable, path] if name == "app.py" else [path]
            return [], command, ["Running %s (found in %s, as the official builder would) as the "
                                 "server: Apache and mod_wsgi are bypassed; %s" % (name, where, _HOW)]
    module = attribute = None
    if os.path.isfile(os.path.join(home, "wsgi.py")):
        module, attribute, found = "wsgi", "application", "wsgi.py in %s" % where
    else:
        django = djangoapp.wsgi(env, home)
        if django:
            module, attribute, found = django[0], django[1], "the Django project's " + django[2]
    if module is None:
        return [], None, []
    options = ["--application-type", "module", "--entry-point", module,
               "--callable-object", attribute]
    if where != "the application" and not has_option(args, "--working-directory"):
        options += ["--working-directory", home]
    return options, None, ["Serving %s:%s (%s): no setting names the application; %s"
                           % (module, attribute, found, _HOW)]


def app_home(env, src):
    return os.path.normpath(os.path.join(src, env.get("APP_HOME") or "."))


def options(env, args, src):
    """(mod_wsgi-express options for the official builder's settings, lines for the log);
    args: whiskey's own options (environment, .whiskey/server_args, the command), which win.
    Refused when a value cannot mean what the official builder means by it."""
    out, said = [], []
    for name in GUNICORN_ONLY:
        if env.get(name):
            said.append("%s (gunicorn's configuration) is not read: whiskey serves with Apache "
                        "and mod_wsgi; put mod_wsgi-express options in .whiskey/server_args" % name)
    for name, option in (("PORT", "--port"), ("WEB_CONCURRENCY", "--processes"),
                         ("APP_HOME", "--working-directory")):
        value = env.get(name)
        if not value:
            continue
        whiskey = _named(env, args, _OVERRIDDEN_BY[name])
        if whiskey:
            said.append("%s=%s (the official builder's) is overridden by %s (whiskey's)"
                        % (name, value, whiskey))
            continue
        if name in ("PORT", "WEB_CONCURRENCY") and not (value.isdigit() and int(value) > 0):
            raise Refused("%s=%r is not a positive whole number" % (name, value))
        if name == "APP_HOME":
            value = app_home(env, src)
            if not os.path.isdir(value):
                raise Refused("APP_HOME=%s: there is no such directory in the application"
                              % env["APP_HOME"])
        out += [option, value]
        said.append("%s=%s (the official builder's): %s %s" % (name, env[name], option, value))
    module = env.get("APP_MODULE")
    if module:
        whiskey = explicit_entry(env, args, src)
        match = _MODULE.match(module)
        if whiskey:
            said.append("APP_MODULE=%s (the official builder's) is overridden by %s (whiskey's)"
                        % (module, whiskey))
        elif not match:
            raise Refused("APP_MODULE=%r is not module:callable (as app:application)" % module)
        else:
            entry = ["--application-type", "module", "--entry-point", match.group(1),
                     "--callable-object", match.group(2) or "application"]
            out += entry
            said.append("APP_MODULE=%s (the official builder's): %s" % (module, " ".join(entry)))
    return out, said
