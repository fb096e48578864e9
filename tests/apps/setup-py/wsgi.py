"""Serves what the installed distribution says; runs on Python 2.7 and 3.x."""
import glob
import os
import sys

import greeter


def application(environ, start_response):
    # The package itself is imported from the source directory (first on the
    # path); its installed metadata shows that the project was installed.
    installed = any(glob.glob(os.path.join(p, "greeter-1.0*-info")) for p in sys.path if p)
    body = ("%s, installed=%s" % (greeter.greeting(), installed)).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
