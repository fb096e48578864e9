"""Views of the hello_world test project."""
import json
import os

from django.http import HttpResponse

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


def _plain(value):
    """None stays None; anything that is not already a str becomes one."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def index(request):
    return HttpResponse("Hello World!", content_type="text/plain")


def env(request):
    data = dict((key, _plain(request.META.get(key))) for key in ENV_KEYS)
    return HttpResponse(json.dumps(data, sort_keys=True),
                        content_type="application/json")


def uid(request):
    return HttpResponse(str(os.getuid()), content_type="text/plain")
