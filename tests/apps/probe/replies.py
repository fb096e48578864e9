"""The probe's replies: a module of the application's own, which its build
byte-compiles (test_runtime.py asks that a start compiles nothing)."""

import json


def json_reply(start_response, data, status="200 OK"):
    body = json.dumps(data, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def text_reply(start_response, text, status="200 OK"):
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
