"""A plain WSGI script for the whiskey behaviour tests (Python 2.7 and 3.x).

mod_wsgi-express loads it with --application-type script --entry-point wsgi.py.
"""
import json
import sys

# WSGI environ values the behaviour tests look at; missing ones are null.
ENV_KEYS = (
    "REMOTE_ADDR",
    "wsgi.url_scheme",
    "SERVER_PORT",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_CLIENT_IP",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_SCHEME",
)

MARKER = "whiskey-print-marker"


def _plain(value):
    """None stays None; anything that is not already a str becomes one."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _to_bytes(text):
    if isinstance(text, bytes):
        return text
    return text.encode("utf-8")


def _emit(stream, text):
    stream.write(text + "\n")
    stream.flush()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "") or "/"
    status = "200 OK"
    content_type = "text/plain"
    if path == "/":
        body = "Hello from a WSGI script"
    elif path == "/env":
        data = dict((key, _plain(environ.get(key))) for key in ENV_KEYS)
        body = json.dumps(data, sort_keys=True)
        content_type = "application/json"
    elif path == "/version":
        body = sys.version.split()[0]
    elif path == "/print":
        _emit(sys.stdout, MARKER)
        _emit(sys.stderr, MARKER)
        body = "printed"
    else:
        status = "404 Not Found"
        body = "not found"
    payload = _to_bytes(body)
    start_response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(payload))),
    ])
    return [payload]
