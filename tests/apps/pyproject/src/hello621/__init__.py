"""The WSGI callable of an installed PEP 621 package (src/ layout)."""
import six


def application(environ, start_response):
    installed = "/site-packages/" in __file__
    body = ("hello621 installed=%s, six %s" % (installed, six.__version__)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
