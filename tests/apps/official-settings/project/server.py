"""A program that is its own server (the official builder's APP_FILE): the same application
on PORT, under the standard library's WSGI server."""
import os
from wsgiref.simple_server import make_server

from app import application

if __name__ == "__main__":
    make_server("", int(os.environ.get("PORT", "8080")), application).serve_forever()
