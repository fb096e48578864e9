"""The builder image itself: interpreter, libraries, tools, labels, user (testinfra)."""

import pytest
import testinfra

SSL_HANDSHAKE = r'''from __future__ import print_function
import socket, ssl, subprocess, tempfile, threading, os
d = tempfile.mkdtemp()
key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
subprocess.check_call(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                       "-subj", "/CN=localhost", "-keyout", key, "-out", crt],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
sctx = ssl.SSLContext(ssl.PROTOCOL_SSLv23); sctx.load_cert_chain(crt, key)
def serve():
    conn, _ = server.accept()
    s = sctx.wrap_socket(conn, server_side=True); s.sendall(b"tls-ok"); s.close()
t = threading.Thread(target=serve); t.start()
cctx = ssl.create_default_context(cafile=crt)
c = cctx.wrap_socket(socket.create_connection(server.getsockname()), server_hostname="localhost")
print(c.recv(6).decode(), c.version(), ssl.OPENSSL_VERSION)
c.close(); t.join()
'''


@pytest.fixture(scope="module")
def host(builder, docker_client):
    container = docker_client.containers.run(builder, ["sleep", "infinity"], detach=True)
    yield testinfra.get_host("docker://" + container.id)
    container.remove(force=True)


def test_python_is_the_pinned_version(host, variant):
    out = host.check_output("python -c 'import platform; print(platform.python_version())'")
    assert out.strip() == variant.python


def test_standard_library_extension_modules_import(host, variant):
    modules = "ssl, sqlite3, zlib, bz2, ctypes, hashlib, readline"
    if variant.version_info[0] >= 3:
        modules += ", lzma"
    cmd = host.run("python -c 'import %s'" % modules)
    assert cmd.rc == 0, cmd.stderr


def test_ssl_completes_a_tls_handshake(host):
    cmd = host.run("cat > /tmp/tls.py <<'PY'\n%s\nPY\npython /tmp/tls.py" % SSL_HANDSHAKE)
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.startswith("tls-ok TLS"), cmd.stdout


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
