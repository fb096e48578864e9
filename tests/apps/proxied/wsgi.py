"""Behind a proxy: reports what the server made of the forwarded headers.

Runs unchanged on Python 2.7 and 3.x.
"""
import json

KEYS = ["REMOTE_ADDR", "wsgi.url_scheme", "SERVER_PORT", "HTTP_HOST", "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_SCHEME", "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_REAL_IP", "HTTP_X_CLIENT_IP", "HTTP_FORWARDED", "HTTP_X_FORWARDED_HOST",
        "HTTP_X_HOST"]


def application(environ, start_response):
    body = json.dumps(dict((k, environ.get(k)) for k in KEYS), sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
