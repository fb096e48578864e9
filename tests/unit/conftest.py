"""Shared by the unit tests: ./build.py run as a user would, and a local HTTP server."""

import http.server
import os
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def env(tmp_path):
    """The caller's environment, minus proxies, with no Docker engine and an empty source cache."""
    e = dict(os.environ)
    e["DOCKER_HOST"] = "unix://%s" % (tmp_path / "no-docker.sock")
    e["WHISKEY_SOURCE_CACHE"] = str(tmp_path / "cache")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        e.pop(var, None)
    return e


def build_py(env, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "build.py")] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}     # path -> (status, content type, body)
    requests = []   # (method, path)

    def _answer(self, with_body):
        self.requests.append((self.command, self.path))
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"not here\n"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local HTTP server; returns an object with .url, .routes, .requests."""
    handler = type("Handler", (_Handler,), {"routes": {}, "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    class Server(object):
        url = "http://127.0.0.1:%d" % httpd.server_address[1]
        routes = handler.routes
        requests = handler.requests

        def serve(self, path, body, ctype="application/octet-stream", status=200):
            self.routes[path] = (status, ctype, body)
            return self.url + path

    try:
        yield Server()
    finally:
        httpd.shutdown()
        httpd.server_close()
