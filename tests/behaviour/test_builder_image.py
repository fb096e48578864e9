"""The builder image itself: interpreter, libraries, tools, labels, user (testinfra)."""

import re

import pytest
import testinfra
from conftest import start_time_patched

# A TLS server and client in one process, the server's certificate made by
# the image's openssl CLI.  Written for every shipped interpreter: 3.3 lacks
# ssl.create_default_context (3.4+), SSLContext.check_hostname (3.4+) and
# SSLSocket.version() (3.5+), while 3.12 dropped ssl.match_hostname; so the
# client context is set up by hand, the host name checked by whichever exists,
# and the protocol read from the cipher where version() is missing.  Every socket
# has a timeout, so a failed handshake ends the script instead of hanging it.
SSL_HANDSHAKE = r"""from __future__ import print_function
import os, socket, ssl, subprocess, sys, tempfile, threading
d = tempfile.mkdtemp()
key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
subprocess.check_call(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                       "-subj", "/CN=localhost", "-keyout", key, "-out", crt],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
server = socket.socket(); server.settimeout(20); server.bind(("127.0.0.1", 0)); server.listen(1)
sctx = ssl.SSLContext(ssl.PROTOCOL_SSLv23); sctx.load_cert_chain(crt, key)
def serve():
    conn, _ = server.accept(); conn.settimeout(20)
    s = sctx.wrap_socket(conn, server_side=True); s.sendall(b"tls-ok"); s.close()
t = threading.Thread(target=serve); t.daemon = True; t.start()
cctx = ssl.SSLContext(ssl.PROTOCOL_SSLv23)
cctx.verify_mode = ssl.CERT_REQUIRED
cctx.load_verify_locations(crt)
if hasattr(cctx, "check_hostname"):
    cctx.check_hostname = True
raw = socket.create_connection(server.getsockname(), timeout=20)
c = cctx.wrap_socket(raw, server_hostname="localhost")
if not hasattr(cctx, "check_hostname"):
    ssl.match_hostname(c.getpeercert(), "localhost")
proto = c.version() if hasattr(c, "version") else c.cipher()[1]
print(c.recv(6).decode(), proto, ssl.OPENSSL_VERSION)
c.close(); t.join(20)
"""

# What every image must import, by the names each major version uses
# (docker-library's python-imports list, plus what web apps lean on).
MODULES = {
    2: "ssl sqlite3 zlib bz2 ctypes readline curses gdbm dbm decimal hashlib uuid",
    3: "ssl sqlite3 zlib bz2 lzma ctypes readline curses dbm.gnu dbm.ndbm decimal hashlib uuid",
}

# Infinite recursion in a thread must raise, not overflow the thread's stack
# (docker-library's python-stack-size test).  RecursionError exists from 3.5;
# before, the same condition is a RuntimeError with this message.
RECURSION = r"""from __future__ import print_function
import threading
out = []
def recurse(n):
    return recurse(n + 1)
def run():
    try:
        recurse(0)
    except RuntimeError as exc:  # RecursionError is a subclass
        out.append("%s: %s" % (type(exc).__name__, exc))
t = threading.Thread(target=run); t.start(); t.join(60)
print(out[0])
"""


@pytest.fixture(scope="module")
def host(builder, docker_client):
    container = docker_client.containers.run(builder, ["sleep", "infinity"], detach=True)
    yield testinfra.get_host("docker://" + container.id)
    container.remove(force=True)


def python(host, script):
    """Run script with the image's python (bounded in time); its stdout."""
    if not script.startswith("from __future__"):
        script = "from __future__ import print_function\n" + script  # the same output on 2.7
    cmd = host.run("cat > /tmp/t.py <<'PY'\n%s\nPY\ntimeout 90 python /tmp/t.py" % script)
    assert cmd.rc == 0, "rc %s\n%s%s" % (cmd.rc, cmd.stdout, cmd.stderr)
    return cmd.stdout.strip()


def test_python_is_the_pinned_version(host, variant):
    out = host.check_output("python -c 'import platform; print(platform.python_version())'")
    assert out.strip() == variant.python


# What a variant's interpreter lacks through no choice of whiskey's.  Each is
# a strict xfail: the day the distribution ships the module, the test fails
# and the entry has to go.
GAPS = {
    ("python-3.15", "dbm.ndbm"): "Debian's python3.15 (3.15.2-1, sid) is built without _dbm",
}


def gap(variant, module):
    """Why variant lacks module, or None when it must have it."""
    return GAPS.get((variant.name, module))


def test_standard_library_extension_modules_import(host, variant):
    modules = [m for m in MODULES[variant.version_info[0]].split() if not gap(variant, m)]
    python(host, "import " + ", ".join(modules))


def test_compression_modules_round_trip(host, variant):
    """docker-library's python-imports: each codec compresses and gets its bytes back."""
    codecs = ["zlib", "bz2"] + (["lzma"] if variant.version_info[0] == 3 else [])
    if variant.version_info[:2] >= (3, 14):
        codecs.append("compression.zstd")  # new in 3.14 (PEP 784)
    out = python(host, "import importlib\n"
                       "data = b'whiskey ' * 1000\n"
                       "for name in %r:\n"
                       "    m = importlib.import_module(name)\n"
                       "    packed = m.compress(data)\n"
                       "    assert m.decompress(packed) == data and len(packed) < len(data), name\n"
                       "    print(name)" % (codecs,))
    assert out.split() == codecs


def test_ndbm_round_trip(host, variant, request):
    ndbm = "dbm" if variant.version_info[0] == 2 else "dbm.ndbm"
    why = gap(variant, ndbm)
    if why:
        request.applymarker(pytest.mark.xfail(reason=why, strict=True))
    out = python(host, "import %s as ndbm, os, tempfile\n"
                       "p = os.path.join(tempfile.mkdtemp(), 'db')\n"
                       "db = ndbm.open(p, 'c'); db[b'k'] = b'v'; db.close()\n"
                       "print(ndbm.open(p, 'r')[b'k'].decode())" % ndbm)
    assert out == "v"


def test_curses_reads_terminfo_and_readline_imports(host):
    out = python(host, "import curses, readline, os\n"
                       "curses.setupterm('xterm', os.open(os.devnull, os.O_WRONLY))\n"
                       "print(curses.tigetnum('colors'))")
    assert out == "8"


def test_venv_with_pip_works_inside_the_image(host, variant):
    """`python -m venv` makes an environment with pip (ensurepip, PEP 453, from 3.4)."""
    if variant.version_info[:2] < (3, 4):
        pytest.skip("Python %s has no ensurepip (PEP 453 added it in 3.4)%s" % (
            variant.major_minor, "" if variant.version_info[0] == 3 else " and no venv"))
    cmd = host.run("timeout 120 python -m venv /tmp/venv && /tmp/venv/bin/python -m pip --version")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    assert cmd.stdout.startswith("pip ") and "/tmp/venv/" in cmd.stdout


def test_lib2to3_is_there_until_python_removed_it(host, variant):
    if variant.version_info[:2] >= (3, 13):
        pytest.skip("lib2to3 left the standard library in Python 3.13 (deprecated since 3.9)")
    out = python(host, "from lib2to3 import refactor\n"
                       "t = refactor.RefactoringTool(['lib2to3.fixes.fix_print'])\n"
                       "print(str(t.refactor_string('print 1\\n', 'x')).strip())")
    assert out == "print(1)"


def test_ssl_completes_a_tls_handshake(host):
    out = python(host, SSL_HANDSHAKE)
    assert out.startswith("tls-ok TLS"), out


def test_en_us_utf8_is_a_locale_an_application_can_set(host):
    # sclorg's images have it, and applications ask for it by name; C.UTF-8 stays LANG.
    assert python(host, "import locale\n"
                        "print(locale.setlocale(locale.LC_ALL, 'en_US.UTF-8'))") == "en_US.UTF-8"
    assert host.check_output("echo $LANG") == "C.UTF-8"


def test_ctypes_calls_into_libc(host):
    assert python(host, "import ctypes, ctypes.util\n"
                        "libc = ctypes.CDLL(ctypes.util.find_library('c'))\n"
                        "print(libc.strlen(b'whiskey'), libc.abs(-42))") == "7 42"


def test_hashlib_has_sha256_and_md5(host):
    out = python(host, "import hashlib\n"
                       "print(hashlib.sha256(b'whiskey').hexdigest())\n"
                       "print(hashlib.md5(b'whiskey').hexdigest())")
    assert out.split() == ["c60aac4fce685ecd8a3bc0eab2f9884c9488683d2be86e0ca950ae86c0843bce",
                           "ebfd207f2be873cd8d53671238b95d00"]


def test_gdbm_decimal_and_uuid_work(host, variant):
    gdbm = "gdbm" if variant.version_info[0] == 2 else "dbm.gnu"
    out = python(host, "import %s as gdbm, decimal, uuid, os, tempfile\n"
                       "p = os.path.join(tempfile.mkdtemp(), 'db')\n"
                       "db = gdbm.open(p, 'c'); db[b'k'] = b'v'; db.close()\n"
                       "print(gdbm.open(p, 'r')[b'k'].decode())\n"
                       "print(decimal.Decimal('1.1') + decimal.Decimal('2.2'))\n"
                       "print(uuid.uuid4().version, uuid.uuid1().version)" % gdbm)
    assert out.split() == ["v", "3.3", "4", "1"]


def test_infinite_recursion_in_a_thread_raises_instead_of_crashing(host, variant):
    out = python(host, RECURSION)
    expected = "RecursionError" if variant.version_info >= (3, 5) else "RuntimeError"
    assert out.startswith(expected + ": maximum recursion depth exceeded"), out


def test_whiskeys_modules_load_byte_code_the_images_interpreter_compiled(host):
    # They run on the image's own Python, 2.7 and 3.3 included; the start
    # reads their byte code, made at build time (python -v: "X.pyc matches X.py").
    out = host.run("python -v -c 'import sys; sys.path[0] = \"/usr/libexec/whiskey\"; "
                   "import runtime, server, supervise' 2>&1").stdout
    loaded = set(re.findall(r"matches /usr/libexec/whiskey/(\w+)\.py$", out, re.M))
    assert {"runtime", "server", "supervise", "official", "djangoapp", "hooks", "say"} <= loaded, out


def test_mod_wsgi_imports_without_pkgutil_yet_merges_other_portions(host, variant):
    # whiskey's patch to mod_wsgi 6 (patches/, item 5): the package
    # imports pkgutil only when another sys.path entry holds a part of it
    # (a part after site-packages; Python 2's pkgutil wants its __init__.py).
    alone = "import sys, mod_wsgi; print('pkgutil' in sys.modules)"
    merged = ("import sys; sys.path.append('/tmp/part'); " + alone.replace("import sys, ", "import ")
              + "; import mod_wsgi.extra; print(mod_wsgi.extra.PART)")
    out = host.check_output("mkdir -p /tmp/part/mod_wsgi && touch /tmp/part/mod_wsgi/__init__.py "
                            "&& echo 'PART = 42' > /tmp/part/mod_wsgi/extra.py "
                            "&& python -c \"%s\" && python -c \"%s\"" % (merged, alone))
    assert out.split() == ["True", "42", str(not start_time_patched(variant))], out


def test_mod_wsgi_tries_its_module_lock_before_giving_up_the_gil(host):
    # whiskey's patch to every mod_wsgi release (patches/: 6.1.1's item 6,
    # 4.9.4's item 4, 4.7.1's item 3); no unpatched release calls a trylock.
    script = ("import glob, os, mod_wsgi; d = os.path.dirname(mod_wsgi.__file__); "
              "f, = glob.glob(os.path.join(d, 'server', 'mod_wsgi-py*.so')); "
              "print(b'apr_thread_mutex_trylock' in open(f, 'rb').read())")
    assert host.check_output('python -c "%s"' % script).strip() == "True"


def test_sqlite_round_trip(host):
    script = ("import sqlite3; c = sqlite3.connect(':memory:'); c.execute('create table t (x)'); "
              "c.execute('insert into t values (42)'); print(c.execute('select x from t').fetchone()[0])")
    assert host.check_output('python -c "%s"' % script).strip() == "42"


def test_pip_is_the_pinned_version(host, variant):
    assert host.check_output("pip --version").startswith("pip %s " % variant.pin_version("pip"))


def test_mod_wsgi_express_is_built_against_this_python(host, variant):
    config = host.check_output("mod_wsgi-express module-config")
    assert "LoadModule wsgi_module" in config
    assert "/opt/app-root" in config
    # mod_wsgi-express has no --version; pip's record of the install says it.
    assert "Version: %s\n" % variant.pin_version("mod_wsgi") in host.check_output("pip show mod_wsgi") + "\n"
    assert host.file(host.check_output("mod_wsgi-express module-location")).is_file


def test_s2i_needs_sh_tar_and_chown(host):
    for tool in ("sh", "tar", "chown"):
        assert host.exists(tool), tool


def test_runs_as_1001_in_group_0_with_a_writable_app_root(host):
    assert host.check_output("id -u") == "1001"
    assert host.check_output("id -g") == "0"
    root = host.file("/opt/app-root")
    assert root.uid == 1001 and root.gid == 0
    assert root.mode & 0o070 == 0o070
    assert host.file("/opt/app-root/src").is_directory
    assert host.check_output("echo $HOME") == "/opt/app-root/src"


def test_tini_and_nss_wrapper_are_installed(host):
    assert host.exists("tini")
    assert host.run("ls /usr/lib/*/libnss_wrapper.so").rc == 0


def test_s2i_scripts_are_executable(host):
    for script in ("assemble", "run", "save-artifacts", "usage"):
        f = host.file("/usr/libexec/s2i/" + script)
        assert f.is_file and f.mode & 0o111, script


def test_labels(docker_client, builder, variant):
    image = docker_client.images.get(builder)
    labels = image.labels
    assert labels["io.openshift.s2i.scripts-url"] == "image:///usr/libexec/s2i"
    assert labels["io.openshift.expose-services"] == "8080:http"
    assert "builder" in labels["io.openshift.tags"].split(",")
    assert variant.python in labels["io.k8s.description"]
    assert labels["io.k8s.display-name"]
    assert labels["org.opencontainers.image.version"] == variant.python
    assert len(labels["org.opencontainers.image.revision"]) in (40, 7) or \
        labels["org.opencontainers.image.revision"] == "unknown"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert len(labels["whiskey.inputs-hash"]) == 64
    assert image.attrs["Config"]["User"] == "1001"
    assert image.attrs["Config"]["Cmd"] == ["/usr/libexec/s2i/usage"]
    for tag in variant.tags:
        assert "whiskey:%s" % tag in image.tags


def test_default_command_prints_usage(docker_client, builder):
    out = docker_client.containers.run(builder, remove=True).decode()
    assert "s2i build" in out and ".whiskey/server_args" in out
