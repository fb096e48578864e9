"""A WSGI application laid out for the official OpenShift Python builder: its settings are in
.s2i/environment (APP_HOME, APP_MODULE, PORT, WEB_CONCURRENCY)."""
import json
import os


def application(environ, start_response):
    body = json.dumps({"app": "official-settings", "cwd": os.getcwd(),
                       "server": environ.get("SERVER_SOFTWARE", "")}).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
