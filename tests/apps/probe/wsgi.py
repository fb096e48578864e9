"""A probe for behaviour tests: reports what the server and the hooks did.

Runs unchanged on Python 2.7 and 3.x.
"""
from __future__ import print_function

import os
import pwd
import sys
import time

from replies import json_reply, text_reply

APP = os.path.dirname(os.path.abspath(__file__))
# What the server's process had imported before this application (none of
# the imports above brings them): whiskey's patch to mod_wsgi 6 (patches/).
BEFORE_APP = ",".join(m for m in ("dataclasses", "logging", "pkgutil") if m in sys.modules)
ENV_KEYS = ["GREETING", "FROM_DEPLOY_ENV", "REMOVED_VAR", "S2I_VAR", "HOME", "PYTHONUNBUFFERED"]
WSGI_KEYS = ["REMOTE_ADDR", "wsgi.url_scheme", "SERVER_PORT", "HTTP_HOST", "HTTP_X_FORWARDED_FOR",
             "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_SCHEME", "HTTP_X_FORWARDED_PROTO",
             "HTTP_X_REAL_IP", "HTTP_X_CLIENT_IP", "GREETING_ARG", "SPACED", "SUB", "DOLLAR"]


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except (IOError, OSError):
        return None


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/":
        return text_reply(start_response, "probe ok")
    if path == "/environ":
        data = dict(("env:" + k, os.environ.get(k)) for k in ENV_KEYS)
        data.update(("wsgi:" + k, environ.get(k)) for k in WSGI_KEYS)
        import mod_wsgi  # the server's own module: its process and thread counts
        data["mod_wsgi:processes"] = int(mod_wsgi.maximum_processes)
        data["mod_wsgi:threads"] = int(mod_wsgi.threads_per_process)
        data["mod_wsgi:process_group"] = mod_wsgi.process_group  # "" in embedded mode
        data["wsgi:mod_wsgi.process_group"] = environ.get("mod_wsgi.process_group")
        data["app:imported_before"] = BEFORE_APP
        for k, v in data.items():
            if v is not None and not isinstance(v, (str, int)):
                data[k] = str(v)
        return json_reply(start_response, data)
    if path == "/hooks":
        marks = os.path.join(APP, ".probe")
        data = dict((name, _read(os.path.join(marks, name)))
                    for name in ("pre-build", "build"))
        data["deploy"] = _read("/tmp/probe-deploy")
        return json_reply(start_response, data)
    if path == "/whoami":
        return json_reply(start_response, {
            "uid": os.getuid(), "gid": os.getgid(), "name": pwd.getpwuid(os.getuid()).pw_name,
            "home": os.environ.get("HOME"), "expanduser": os.path.expanduser("~")})
    if path == "/write":
        written = []
        for d in (APP, "/tmp"):
            target = os.path.join(d, "written-%d.txt" % os.getpid())
            with open(target, "w") as f:
                f.write("ok")
            written.append(target)
        return json_reply(start_response, written)
    if path == "/maps":  # the shared libraries this process has loaded
        with open("/proc/self/maps") as f:
            libs = set(line.split()[-1].rsplit("/", 1)[-1] for line in f if ".so" in line)
        return json_reply(start_response, sorted(libs))
    if path == "/print":
        print("whiskey-probe-stdout-marker")
        print("whiskey-probe-stderr-marker", file=sys.stderr)
        return text_reply(start_response, "printed")
    if path == "/log":  # through mod_wsgi.LogHandler (mod_wsgi 6) into Apache's log
        import logging

        import mod_wsgi
        logger = logging.getLogger("whiskey-probe")
        if not logger.handlers:
            logger.addHandler(mod_wsgi.LogHandler())
        logger.warning("whiskey-probe-log-marker")
        return text_reply(start_response, "logged")
    if path == "/sleep":
        time.sleep(2)
        return text_reply(start_response, "slept")
    if path == "/allocate":  # more memory than the test's container may have
        # The size is not a constant: CPython before 3.6 folds constant
        # expressions at compile time, and would build the 512 MiB then.
        megabytes = int(environ.get("QUERY_STRING") or "512")
        data = b"x" * (megabytes << 20)
        return text_reply(start_response, "allocated %d" % len(data))
    if path == "/hang":  # a request that never returns (an hour is never, for a test)
        time.sleep(3600)
        return text_reply(start_response, "hung")
    return text_reply(start_response, "probe: no such path", "404 Not Found")
