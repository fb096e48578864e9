"""The project's WSGI module (a plain WSGI callable here: what is tested is that it is found)."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"conventional django layout"]
