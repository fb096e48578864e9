"""The benchmark application: one WSGI callable, Python 2.7 and 3.x.

/hello  a plain-text hello world (measures the server's own overhead)
/io     sleeps 50 ms, then answers (a stand-in for a database or HTTP call)

mod_wsgi-express loads this file as a script (.whiskey/server_args);
gunicorn imports it as the module ``wsgi`` (``wsgi:application``).
"""
import time

HELLO = b"Hello, world!\n"
IO = b"Slept 50 ms\n"


def _reply(start_response, status, body):
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/hello":
        return _reply(start_response, "200 OK", HELLO)
    if path == "/io":
        time.sleep(0.05)
        return _reply(start_response, "200 OK", IO)
    return _reply(start_response, "404 Not Found", b"not found\n")
