"""Each C extension, imported and made to use the library it links: one JSON
answer, {name: what it did, or null where this interpreter has no release}."""

import json
import sys

WHAT = {}


def _try(name, use):
    try:
        WHAT[name] = use()
    except Exception as exc:  # the answer says it; the tests know where null is right
        missing = isinstance(exc, ImportError) and "No module named" in str(exc)
        WHAT[name] = None if missing else "%s: %s" % (type(exc).__name__, exc)


def psycopg2():
    from psycopg2 import extensions
    return "libpq %d" % extensions.libpq_version()


def mysql():
    import MySQLdb
    return "client %s" % MySQLdb.get_client_info()


def lxml():
    from lxml import etree
    root = etree.fromstring(b"<a><b>x</b></a>")
    xslt = etree.XSLT(etree.XML(
        b'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        b'<xsl:template match="/"><c><xsl:value-of select="a/b"/></c></xsl:template>'
        b'</xsl:stylesheet>'))
    return "libxml2 %s, %s" % (".".join(map(str, etree.LIBXML_VERSION)),
                               etree.tostring(xslt(root).getroot()).decode())


def pillow():
    import io

    from PIL import Image, features
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    out.seek(0)
    return "JPEG %s, freetype %s" % (Image.open(out).size[0],
                                      bool(features.check("freetype2")))


def ldap():
    import ldap
    return "OpenLDAP API %s" % ldap.API_VERSION


def gssapi():
    import gssapi
    return "mechanisms %d" % len(gssapi.raw.indicate_mechs())


def pycurl():
    import pycurl
    return pycurl.version.split()[0]


def cffi():
    from cffi import FFI
    ffi = FFI()
    ffi.cdef("size_t strlen(const char *);")
    return "strlen %d" % ffi.dlopen(None).strlen(b"whiskey")


for _name, _use in [("psycopg2", psycopg2), ("mysqlclient", mysql), ("lxml", lxml),
                    ("Pillow", pillow), ("python-ldap", ldap), ("gssapi", gssapi),
                    ("pycurl", pycurl), ("cffi", cffi)]:
    _try(_name, _use)


def application(environ, start_response):
    body = json.dumps({"python": sys.version.split()[0], "extensions": WHAT}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
