# The application of a build that attacks its image (tests/behaviour/test_security.py).
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hostile\n"]
