"""What answers when no application is named (server.py, with a warning in the log):
503 Service Unavailable to every request, so that a readiness or liveness probe
fails and a rollout stops, rather than report a deployment that serves nothing
healthy.  mod_wsgi-express's own placeholder page answered 200."""

BODY = (b"whiskey: no application is named, so none is served.\n"
        b"Name one with APP_MODULE=module:callable, MOD_WSGI_ENTRY_POINT or --entry-point\n"
        b"in .whiskey/server_args; the container's log says what was looked for.\n")


def application(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(BODY))),
                                               ("Cache-Control", "no-store")])
    return [BODY]
