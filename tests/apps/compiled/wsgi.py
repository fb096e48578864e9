"""Reports whether crcmod's compiled extension is in use."""
import json

import crcmod.predefined

try:
    import crcmod._crcfunext  # noqa: F401  (the C extension built from the sdist)
    KIND = "compiled"
except ImportError:
    KIND = "pure"


def application(environ, start_response):
    crc32 = crcmod.predefined.mkCrcFun("crc-32")
    body = json.dumps({"crcmod": KIND, "crc32": crc32(b"whiskey")}).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
